/**
 * b. Blocking `echo` of one nested ListValue/MapValue argument of ~1 KB serialized: the cost of decoding
 * nested Anys, canonical JSON and storing a bigger result, relative to a's `add` (measured again here,
 * interleaved on the same server).
 */
import path from 'node:path';
import { Any } from '../../generated/google/protobuf/any';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny, type JsArg } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMicros, formatMs, formatRatio, formatRuns, median } from '../stats';

const RATIO_GOAL = 0.8;

/**
 * One line of an order-like document: a map with two scalars and a map. Every scalar is an Any carrying
 * its full type URL (~50 bytes each), so ~1 KB is only a handful of values.
 */
function orderItem(i: number): JsArg {
  return { sku: `SKU-${1000 + i}`, qty: i + 1, meta: { active: i % 2 === 0 } };
}

/** `{order, items: [item…]}` (map → list → map → map: depth 4) with `count` items. */
function orderDocument(count: number): { value: JsArg; bytes: number; items: number } {
  const value: JsArg = { order: 'bench-order', items: Array.from({ length: count }, (_, i) => orderItem(i)) };
  return { value, bytes: Any.encode(toAny(value)).finish().length, items: count };
}

/** The document whose Any encoding is closest to `targetBytes`. */
export function nestedArg(targetBytes: number): { value: JsArg; bytes: number; items: number } {
  let previous = orderDocument(1);
  for (let count = 2; previous.bytes < targetBytes; count++) {
    const next = orderDocument(count);
    if (next.bytes >= targetBytes) return next.bytes - targetBytes < targetBytes - previous.bytes ? next : previous;
    previous = next;
  }
  return previous;
}

/** Checks one echo answer independently of the server's code: the JSON must hold our document. */
function echoProblem(result: string, items: number): string | undefined {
  try {
    const parsed = JSON.parse(result) as [{ map: { order: { string: string }; items: { list: unknown[] } } }];
    if (parsed.length === 1 && parsed[0].map.order.string === 'bench-order' && parsed[0].map.items.list.length === items) return undefined;
  } catch {
    // Reported below.
  }
  return `echo answered ${JSON.stringify(result.slice(0, 120))}…, not the canonical JSON of the argument`;
}

/** Scenario b: blocking `echo` of a ~1 KB nested argument, relative to a's `add`. */
export const echoNested: Scenario = {
  id: 'b',
  title: 'blocking echo of a ~1 KB nested argument',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const arg = nestedArg(config.echoArgBytes);
    const bodyFile = path.join(ctx.workDir, 'echo.bin');
    const bytes = writeTaskRequestFrame(bodyFile, { method: 'echo', args: [toAny(arg.value)] });
    report.notes.push(`request: echo of one MapValue {order, items: ListValue of ${arg.items} MapValues {sku, qty, meta: MapValue}}: argument ${arg.bytes} bytes as an Any, TaskRequest ${bytes} bytes`);

    let server: OurServer | undefined;
    try {
      server = await startOurServer('ours (metrics on)', { metrics: true });
      report.commands.push(server.command);
      const sample = await server.connection.client.submitTask({ method: 'echo', args: [toAny(arg.value)] });
      const problem = sample.status === TaskResponse_Status.SUCCESS ? echoProblem(sample.result, arg.items) : `echo answered ${TaskResponse_Status[sample.status]}`;
      if (problem) report.errors.push(problem);
      report.notes.push(`echo result: ${sample.result.length} characters of canonical JSON (stored per task)`);

      const addFile = path.join(ctx.workDir, 'b-add.bin');
      writeTaskRequestFrame(addFile, { method: 'add', args: [toAny(1), toAny(2)] });
      const run = async (what: 'echo' | 'add', requests: number, name: string): Promise<MeasuredRun> => {
        const dataFile = what === 'echo' ? bodyFile : addFile;
        const result = await measuredRun(server!, { requests, clients: config.clients, streams: config.streams, dataFile, logFile: path.join(ctx.workDir, `b-${name}.log`) });
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems);
        ctx.log(`  ${what}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };
      await run('echo', config.warmupRequests, 'warmup');
      // a's add is measured again here, interleaved with echo on the same server: machine noise
      // between scenario a and this one would otherwise be half of the ratio.
      const echoRuns: MeasuredRun[] = [];
      const addRuns: MeasuredRun[] = [];
      for (let i = 0; i < config.throughputRuns; i++) {
        echoRuns.push(await run('echo', config.echoRequests, 'echo'));
        addRuns.push(await run('add', config.addRequests, 'add'));
      }

      const rps = median(echoRuns.map((r) => r.h2load.reqPerSec));
      const addRps = median(addRuns.map((r) => r.h2load.reqPerSec));
      const ratio = rps / addRps;
      const cpuPerRequest = (runs: MeasuredRun[]) => formatMicros(median(runs.map((r) => r.serverCpuSeconds / r.h2load.total)));
      report.figures.push(
        info('echo throughput', `${formatInt(rps)} req/s`),
        info('echo latency p50 / p99', `${formatMs(median(echoRuns.map((r) => r.h2load.latency!.p50Ms)))} / ${formatMs(median(echoRuns.map((r) => r.h2load.latency!.p99Ms)))}`),
        info('add throughput, interleaved on the same server', `${formatInt(addRps)} req/s`),
        { label: 'echo/add throughput', value: formatRatio(ratio), goal: `≥ ${RATIO_GOAL.toFixed(2)}×`, verdict: judge(ctx, ratio >= RATIO_GOAL) },
        info('server CPU per request: echo / add', `${cpuPerRequest(echoRuns)} / ${cpuPerRequest(addRuns)}`),
      );
      report.notes.push(
        `req/s per run: echo ${formatRuns(echoRuns.map((r) => r.h2load.reqPerSec))}; add ${formatRuns(addRuns.map((r) => r.h2load.reqPerSec))}`,
        ctx.shared.addReqPerSec === undefined
          ? 'scenario a did not run in this invocation'
          : `echo against scenario a's add median (${formatInt(ctx.shared.addReqPerSec)} req/s): ${formatRatio(rps / ctx.shared.addReqPerSec)}`,
        `${config.throughputRuns} interleaved runs each of ${formatInt(config.echoRequests)} echo and ${formatInt(config.addRequests)} add requests after a ${formatInt(config.warmupRequests)}-request echo warm-up`,
        'verified by server counters (OK delta = requests, no other code) and one sampled echo call checked against the argument',
      );
    } finally {
      await server?.stop();
    }
  },
};
