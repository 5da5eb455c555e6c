/**
 * e. CPU-bound tasks: fib(30) throughput with the worker pool (default threads) against inline
 * (`--worker-threads 0`), and how quickly `add` answers while fib(30)s keep running — the pool's real
 * promise is that CPU work never blocks the event loop.
 *
 * The latency run offers a fixed rate (h2load `--rps`, 4 × 64 streams as everywhere) rather than
 * saturating: at saturation p99 is set by the queue (Little's law: 256 calls in flight ÷ throughput),
 * not by event-loop blocking, which is what this goal is about. One saturating run is reported as
 * information.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { toAny } from '../../src/args/encode-arg';
import { callFib, startFibLoad } from '../fib-load';
import { writeTaskRequestFrame } from '../grpc-frame';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { runBounded } from '../run-bounded';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMs, formatRatio, formatRuns, median } from '../stats';

const THROUGHPUT_GOAL = 1.7;
const P99_GOAL_MS = 20;

interface FibBatch {
  readonly perSecond: number;
  readonly serverCores: number;
  /** Tasks per CPU-second of the server: separates pool overhead from cores that do not scale. */
  readonly perCpuSecond: number;
}

/** `tasks` blocking fib(n) calls, `concurrency` at a time; every answer checked. */
async function fibBatch(server: OurServer, n: number, tasks: number, concurrency: number, problems: string[]): Promise<FibBatch> {
  const cpuBefore = server.cpu();
  const t0 = performance.now();
  await runBounded(tasks, concurrency, async () => {
    const problem = await callFib(server, n);
    if (problem) problems.push(`${server.label}: ${problem}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = server.cpu() - cpuBefore;
  return { perSecond: tasks / seconds, serverCores: cpu / seconds, perCpuSecond: tasks / cpu };
}

/** Scenario e: worker pool vs inline for CPU-bound tasks, and add latency under CPU load. */
export const cpuPool: Scenario = {
  id: 'e',
  title: 'CPU-bound fib: worker pool vs inline, add latency under fib load',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const fibLabel = `fib(${config.fibN})`;
    const servers: OurServer[] = [];
    try {
      const pool = await startOurServer('ours (worker pool)', { metrics: true });
      servers.push(pool);
      const inline = await startOurServer('ours (inline)', { metrics: true, extraArgs: ['--worker-threads', '0'] });
      servers.push(inline);
      report.commands.push(pool.command, inline.command);

      // Throughput, interleaved pool / inline; the warm-up also starts the pool's threads.
      for (const server of servers) await fibBatch(server, config.fibN, config.fibConcurrency * 2, config.fibConcurrency, report.errors);
      const poolRuns: FibBatch[] = [];
      const inlineRuns: FibBatch[] = [];
      for (let i = 0; i < config.fibRuns; i++) {
        poolRuns.push(await fibBatch(pool, config.fibN, config.fibTasks, config.fibConcurrency, report.errors));
        inlineRuns.push(await fibBatch(inline, config.fibN, config.fibTasks, config.fibConcurrency, report.errors));
        ctx.log(`  ${fibLabel}/s: pool ${poolRuns.at(-1)!.perSecond.toFixed(1)} (${poolRuns.at(-1)!.serverCores.toFixed(2)} cores), inline ${inlineRuns.at(-1)!.perSecond.toFixed(1)} (${inlineRuns.at(-1)!.serverCores.toFixed(2)} cores)`);
      }
      const poolRate = median(poolRuns.map((r) => r.perSecond));
      const inlineRate = median(inlineRuns.map((r) => r.perSecond));
      report.figures.push(
        info(`${fibLabel} throughput, worker pool / inline`, `${poolRate.toFixed(1)} / ${inlineRate.toFixed(1)} tasks/s`),
        { label: `${fibLabel} throughput pool/inline`, value: formatRatio(poolRate / inlineRate), goal: `≥ ${THROUGHPUT_GOAL}×`, verdict: judge(ctx, poolRate / inlineRate >= THROUGHPUT_GOAL) },
      );

      // add latency while ~8 fib(30)s keep running.
      const bodyFile = path.join(ctx.workDir, 'add.bin');
      writeTaskRequestFrame(bodyFile, { method: 'add', args: [toAny(1), toAny(2)] });
      const offered = config.clients * config.latencyRpsPerClient;
      const latencyLoad = (requests: number, name: string, rps: number | undefined) => ({
        requests,
        clients: config.clients,
        streams: config.streams,
        dataFile: bodyFile,
        ...(rps === undefined ? {} : { rps }),
        logFile: path.join(ctx.workDir, `e-${name}.log`),
      });
      const underFib = async (server: OurServer, work: (record: (run: MeasuredRun) => MeasuredRun) => Promise<void>) => {
        const load = startFibLoad(server, config.fibN, config.fibConcurrency);
        await sleep(500); // Let the fib load settle: every worker busy, the queue full.
        try {
          await work((run) => {
            report.commands.push(run.h2load.command);
            report.errors.push(...run.problems.map((problem) => `${server.label}: ${problem}`));
            return run;
          });
        } finally {
          const { completed, problems } = await load.stop();
          report.errors.push(...problems.map((problem) => `${server.label}: ${problem}`));
          report.notes.push(`${server.label}: ${completed} ${fibLabel} completed in the background during its add runs`);
        }
      };

      const latencyRuns: MeasuredRun[] = [];
      let saturated: MeasuredRun | undefined;
      await underFib(pool, async (record) => {
        for (let i = 0; i < config.fibRuns; i++) {
          // okVia: the fib calls are SubmitTask OKs too, so count add's task successes instead.
          latencyRuns.push(record(await measuredRun(pool, latencyLoad(config.latencyRequests, 'pool-latency', config.latencyRpsPerClient), { method: 'add' })));
          ctx.log(`  add under fib load (pool, ${offered} req/s offered): p50 ${formatMs(latencyRuns.at(-1)!.h2load.latency!.p50Ms)}, p99 ${formatMs(latencyRuns.at(-1)!.h2load.latency!.p99Ms)} (${cpuShare(latencyRuns.at(-1)!)})`);
        }
        saturated = record(await measuredRun(pool, latencyLoad(config.saturatedRequests, 'pool-saturated', undefined), { method: 'add' }));
        ctx.log(`  add under fib load (pool, saturating): ${formatInt(saturated.h2load.reqPerSec)} req/s, p99 ${formatMs(saturated.h2load.latency!.p99Ms)}`);
      });
      let inlineLatency: MeasuredRun | undefined;
      await underFib(inline, async (record) => {
        inlineLatency = record(await measuredRun(inline, latencyLoad(Math.ceil(config.latencyRequests / 5), 'inline-latency', config.latencyRpsPerClient), { method: 'add' }));
        ctx.log(`  add under fib load (inline): p99 ${formatMs(inlineLatency.h2load.latency!.p99Ms)}`);
      });
      // With as many workers as cores the event loop has no core of its own; one thread fewer shows
      // how much of the p99 is the OS scheduler sharing cores rather than the pool's design.
      const oneFewer = Math.max(1, availableParallelism() - 1);
      const pool1 = await startOurServer(`ours (--worker-threads ${oneFewer})`, { metrics: true, extraArgs: ['--worker-threads', String(oneFewer)] });
      servers.push(pool1);
      report.commands.push(pool1.command);
      await fibBatch(pool1, config.fibN, config.fibConcurrency, config.fibConcurrency, report.errors); // starts its thread(s)
      let oneFewerLatency: MeasuredRun | undefined;
      await underFib(pool1, async (record) => {
        oneFewerLatency = record(await measuredRun(pool1, latencyLoad(config.latencyRequests, 'pool1-latency', config.latencyRpsPerClient), { method: 'add' }));
        ctx.log(`  add under fib load (--worker-threads ${oneFewer}): p99 ${formatMs(oneFewerLatency.h2load.latency!.p99Ms)}`);
      });

      const p99 = median(latencyRuns.map((r) => r.h2load.latency!.p99Ms));
      report.figures.push(
        info(`add p50 under ${fibLabel} load (pool, ${offered} req/s offered)`, formatMs(median(latencyRuns.map((r) => r.h2load.latency!.p50Ms)))),
        { label: `add p99 under ${fibLabel} load (pool, ${offered} req/s offered)`, value: formatMs(p99), goal: `≤ ${P99_GOAL_MS} ms`, verdict: judge(ctx, p99 <= P99_GOAL_MS) },
        info(`add p99 under ${fibLabel} load, inline (1 run)`, formatMs(inlineLatency!.h2load.latency!.p99Ms)),
        info(`add p99 under ${fibLabel} load, --worker-threads ${oneFewer} (1 run)`, formatMs(oneFewerLatency!.h2load.latency!.p99Ms)),
        info(`add under ${fibLabel} load, pool, saturating (1 run)`, `${formatInt(saturated!.h2load.reqPerSec)} req/s, p99 ${formatMs(saturated!.h2load.latency!.p99Ms)}`),
      );
      report.notes.push(
        `${fibLabel}/s per run: pool ${formatRuns(poolRuns.map((r) => r.perSecond), (v) => v.toFixed(1))}, inline ${formatRuns(inlineRuns.map((r) => r.perSecond), (v) => v.toFixed(1))}; server CPU: pool ${median(poolRuns.map((r) => r.serverCores)).toFixed(2)} cores, inline ${median(inlineRuns.map((r) => r.serverCores)).toFixed(2)} cores`,
        `${fibLabel} per server CPU-second (median): pool ${median(poolRuns.map((r) => r.perCpuSecond)).toFixed(1)}, inline ${median(inlineRuns.map((r) => r.perCpuSecond)).toFixed(1)} (throughput = this × cores used, so a shortfall from 2× splits into cores the pool got and speed per CPU-second: JIT variance, shared vCPUs, thread hops)`,
        `throughput runs: ${config.fibRuns} per variant, interleaved, each ${config.fibTasks} blocking ${fibLabel} calls, ${config.fibConcurrency} in flight, from the bench's nice-grpc client; worker threads: the server's default (= available parallelism)`,
        `add p99 per run under fib load ${formatRuns(latencyRuns.map((r) => r.h2load.latency!.p99Ms), formatMs)}; latency runs offer ${config.clients} × ${config.latencyRpsPerClient} req/s (h2load --rps) with ${config.fibConcurrency} ${fibLabel} kept in flight; verified by add's task-success counter (fib calls share the RPC counter)`,
      );
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
    }
  },
};
