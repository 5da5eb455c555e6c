/**
 * a. Blocking `add` of two Int32Values (empty task_id: the server assigns ids) under h2load: our server
 * against the bare grpc-js baseline, runs interleaved (ours, baseline, ours, baseline…) so that machine
 * noise hits both alike. Measured with metrics on (they verify every call); the same runs with metrics
 * off, interleaved too, show what metrics cost. Our server runs with the node flags `npm start` uses
 * (package.json config.nodeFlags); the baseline runs as a bare `node` process, and once more with our
 * flags, so the report shows how much of the ratio the runtime flags account for.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toAny } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { SERVER_NODE_FLAGS } from '../paths';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { judge, info, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startBaselineServer, startOurServer, type ServerUnderTest } from '../servers';
import { formatInt, formatMicros, formatMs, formatRatio, formatRuns, median } from '../stats';

/** Goals of the issue. */
const THROUGHPUT_GOAL = 0.9;
const P99_GOAL = 1.2;

/** Scenario a: ours vs the bare grpc-js baseline on blocking `add`. */
export const addVsBaseline: Scenario = {
  id: 'a',
  title: 'blocking add vs bare grpc-js baseline',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const bodyFile = path.join(ctx.workDir, 'add.bin');
    const bytes = writeTaskRequestFrame(bodyFile, { method: 'add', args: [toAny(1), toAny(2)] });
    report.notes.push(`request: TaskRequest{method "add", args [Int32Value 1, Int32Value 2], task_id ""} = ${bytes} bytes (+5 frame)`);

    const servers: ServerUnderTest[] = [];
    try {
      const ours = await startOurServer('ours (metrics on)', { metrics: true });
      servers.push(ours);
      const baseline = await startBaselineServer('baseline');
      servers.push(baseline);
      const oursOff = await startOurServer('ours (metrics off)', { metrics: false });
      servers.push(oursOff);
      const baselineFlagged = SERVER_NODE_FLAGS.length > 0 ? await startBaselineServer(`baseline (${SERVER_NODE_FLAGS.join(' ')})`, SERVER_NODE_FLAGS) : undefined;
      if (baselineFlagged) servers.push(baselineFlagged);
      report.commands.push(ours.command, oursOff.command, baseline.command, ...(baselineFlagged ? [baselineFlagged.command] : []));

      const load = (requests: number, name: string) => ({
        requests,
        clients: config.clients,
        streams: config.streams,
        dataFile: bodyFile,
        logFile: path.join(ctx.workDir, `a-${name}.log`),
      });
      const run = async (server: ServerUnderTest, name: string, requests: number): Promise<MeasuredRun> => {
        const result = await measuredRun(server, load(requests, name));
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems.map((problem) => `${server.label}: ${problem}`));
        ctx.log(`  ${server.label}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };

      // Warm-up: JIT, connection pools, first allocations — every server once, not reported.
      for (const server of servers) await run(server, 'warmup', config.warmupRequests);

      // Rounds of ours (metrics on), baseline, ours (metrics off): run-to-run noise on this machine is
      // ±20 %, so metrics' cost is judged from medians too, not from one run.
      const oursRuns: MeasuredRun[] = [];
      const baselineRuns: MeasuredRun[] = [];
      const offRuns: MeasuredRun[] = [];
      const flaggedRuns: MeasuredRun[] = [];
      const variants: { server: ServerUnderTest; name: string; runs: MeasuredRun[] }[] = [
        { server: ours, name: 'ours', runs: oursRuns },
        { server: baseline, name: 'baseline', runs: baselineRuns },
        { server: oursOff, name: 'ours-metrics-off', runs: offRuns },
        ...(baselineFlagged ? [{ server: baselineFlagged, name: 'baseline-flagged', runs: flaggedRuns }] : []),
      ];
      for (let i = 0; i < config.throughputRuns; i++) {
        ctx.log(` round ${i + 1}/${config.throughputRuns}`);
        // The order rotates each round, and each run starts after a pause: a server that just ran keeps
        // a core busy for a while (concurrent sweeping, the memory reducer), which would otherwise tax
        // whichever variant always came next.
        for (let k = 0; k < variants.length; k++) {
          const variant = variants[(i + k) % variants.length]!;
          await sleep(config.settleMs);
          variant.runs.push(await run(variant.server, variant.name, config.addRequests));
        }
      }

      const rps = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.reqPerSec));
      const p50 = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.latency!.p50Ms));
      const p99 = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.latency!.p99Ms));
      const cores = (runs: MeasuredRun[]) =>
        `server ${median(runs.map((r) => r.serverCpuSeconds / r.h2load.seconds)).toFixed(2)} core, h2load ${median(runs.map((r) => r.h2load.cpuSeconds / r.h2load.seconds)).toFixed(2)} core`;
      const cpuPerRequest = (runs: MeasuredRun[]) => formatMicros(median(runs.map((r) => r.serverCpuSeconds / r.h2load.total)));
      const throughputRatio = rps(oursRuns) / rps(baselineRuns);
      const p99Ratio = p99(oursRuns) / p99(baselineRuns);
      ctx.shared.addReqPerSec = rps(oursRuns);

      report.figures.push(
        info('ours: throughput (metrics on)', `${formatInt(rps(oursRuns))} req/s`),
        info('baseline: throughput', `${formatInt(rps(baselineRuns))} req/s`),
        { label: 'throughput ours/baseline', value: formatRatio(throughputRatio), goal: `≥ ${THROUGHPUT_GOAL.toFixed(2)}×`, verdict: judge(ctx, throughputRatio >= THROUGHPUT_GOAL) },
        info('ours: latency p50 / p99', `${formatMs(p50(oursRuns))} / ${formatMs(p99(oursRuns))}`),
        info('baseline: latency p50 / p99', `${formatMs(p50(baselineRuns))} / ${formatMs(p99(baselineRuns))}`),
        { label: 'p99 ours/baseline', value: formatRatio(p99Ratio), goal: `≤ ${P99_GOAL.toFixed(2)}×`, verdict: judge(ctx, p99Ratio <= P99_GOAL) },
        info('ours, metrics off: throughput, p50 / p99', `${formatInt(rps(offRuns))} req/s, ${formatMs(p50(offRuns))} / ${formatMs(p99(offRuns))}`),
        info('metrics on/off throughput (cost of metrics)', formatRatio(rps(oursRuns) / rps(offRuns))),
        info('server CPU per request: ours on / ours off / baseline', `${cpuPerRequest(oursRuns)} / ${cpuPerRequest(offRuns)} / ${cpuPerRequest(baselineRuns)}`),
      );
      if (baselineFlagged) {
        report.figures.push(
          info(`baseline with our node flags (${SERVER_NODE_FLAGS.join(' ')}): throughput, p99`, `${formatInt(rps(flaggedRuns))} req/s, ${formatMs(p99(flaggedRuns))}`),
          info('  throughput / p99 ours vs that baseline', `${formatRatio(rps(oursRuns) / rps(flaggedRuns))} / ${formatRatio(p99(oursRuns) / p99(flaggedRuns))}`),
        );
        report.notes.push(`req/s per run, baseline with our node flags: ${formatRuns(flaggedRuns.map((r) => r.h2load.reqPerSec))}`);
      }
      report.notes.push(
        `req/s per run: ours ${formatRuns(oursRuns.map((r) => r.h2load.reqPerSec))}; baseline ${formatRuns(baselineRuns.map((r) => r.h2load.reqPerSec))}; ours metrics off ${formatRuns(offRuns.map((r) => r.h2load.reqPerSec))}`,
        `p99 per run: ours ${formatRuns(oursRuns.map((r) => r.h2load.latency!.p99Ms), formatMs)}; baseline ${formatRuns(baselineRuns.map((r) => r.h2load.latency!.p99Ms), formatMs)}; ours metrics off ${formatRuns(offRuns.map((r) => r.h2load.latency!.p99Ms), formatMs)}`,
        `CPU over each run's wall time (median): ours ${cores(oursRuns)}; baseline ${cores(baselineRuns)}; ours metrics off ${cores(offRuns)} (server CPU counts all its threads, GC included)`,
        `${config.throughputRuns} measured run(s) of ${formatInt(config.addRequests)} requests per variant after a ${formatInt(config.warmupRequests)}-request warm-up, interleaved; ${config.clients} connections × ${config.streams} streams (${config.clients * config.streams} calls in flight, so p50 ≈ in-flight ÷ throughput by Little's law)`,
        'verification: metrics-on runs by the server counters (task_scheduler_grpc_requests_total{code="OK"} delta = requests, no other code); baseline runs by its handler\'s count; metrics-off runs by h2load\'s 2xx count and a sampled add(1, 2) call after each',
      );
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
    }
  },
};
