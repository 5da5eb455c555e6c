/**
 * h. The SQLite store (`--store sqlite:<file>`, `--sqlite-synchronous normal`): blocking `add` and
 * detached `add` submits under h2load against the memory store in the same run (interleaved rounds,
 * medians); RSS of a SQLite server holding 1M stored results (`--max-results`/`--result-ttl-secs` large
 * enough to keep them all); and start-up recovery time with 100,000 unfinished tasks in the file: tasks
 * waiting for a dependency that never finishes are submitted detached, the server is killed with
 * SIGKILL, and a server started on the file is timed until it answers a call (the memory store's
 * start-up, timed the same way, is the reference).
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMb, formatMs, formatRatio, formatRuns, median } from '../stats';

/** The issue's goals. */
const ADD_GOAL = 0.7;
const RECOVERY_GOAL_MS = 5_000;

/** Scale per mode: results held for the RSS figure, unfinished tasks recovered at start. */
const scale = (ctx: ScenarioContext) => (ctx.config.mode === 'full' ? { stored: 1_000_000, unfinished: 100_000 } : { stored: 20_000, unfinished: 2_000 });

/** Rounds and requests per throughput variant: fewer than scenario a's, as four variants share the time. */
export const roundsOf = (ctx: ScenarioContext) => ({ rounds: Math.min(ctx.config.throughputRuns, 3), requests: Math.min(ctx.config.addRequests, 20_000) });

/** Starts a server, returning it and how long it took until it answered a call, ms. */
async function timedStart(label: string, extraArgs: readonly string[]): Promise<{ server: OurServer; ms: number }> {
  const t0 = performance.now();
  const server = await startOurServer(label, { metrics: true, extraArgs });
  return { server, ms: performance.now() - t0 };
}

/** Scenario h: SQLite vs memory store. */
export const sqliteStore: Scenario = {
  id: 'h',
  title: 'SQLite store: add and detached submit vs memory; RSS at 1M results; recovery of 100k unfinished tasks',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const { stored, unfinished } = scale(ctx);
    const addFile = path.join(ctx.workDir, 'h-add.bin');
    writeTaskRequestFrame(addFile, { method: 'add', args: [toAny(1), toAny(2)] });
    const detachedFile = path.join(ctx.workDir, 'h-detached.bin');
    writeTaskRequestFrame(detachedFile, { method: 'add', args: [toAny(1), toAny(2)], detached: true });
    const sqlite = (name: string) => ['--store', `sqlite:${path.join(ctx.workDir, `${name}.db`)}`, '--sqlite-synchronous', 'normal'];
    const servers: OurServer[] = [];
    try {
      // 1. Throughput: memory vs SQLite, blocking and detached, interleaved rounds.
      const memory = await startOurServer('memory store', { metrics: true });
      servers.push(memory);
      const disk = await startOurServer('sqlite store', { metrics: true, extraArgs: sqlite('throughput') });
      servers.push(disk);
      report.commands.push(memory.command, disk.command);
      const run = async (server: OurServer, name: string, dataFile: string, requests: number): Promise<MeasuredRun> => {
        const result = await measuredRun(server, { requests, clients: config.clients, streams: config.streams, dataFile, logFile: path.join(ctx.workDir, `h-${name}.log`) });
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems.map((problem) => `${server.label} (${name}): ${problem}`));
        ctx.log(`  ${server.label} ${name}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };
      for (const server of [memory, disk]) await run(server, 'warmup', addFile, config.warmupRequests);
      const runs = { memoryAdd: [] as MeasuredRun[], diskAdd: [] as MeasuredRun[], memoryDetached: [] as MeasuredRun[], diskDetached: [] as MeasuredRun[] };
      const variants = [
        { server: memory, name: 'add', file: addFile, runs: runs.memoryAdd },
        { server: disk, name: 'add', file: addFile, runs: runs.diskAdd },
        { server: memory, name: 'detached', file: detachedFile, runs: runs.memoryDetached },
        { server: disk, name: 'detached', file: detachedFile, runs: runs.diskDetached },
      ];
      const { rounds, requests } = roundsOf(ctx);
      for (let i = 0; i < rounds; i++) {
        ctx.log(` round ${i + 1}/${rounds}`);
        for (let k = 0; k < variants.length; k++) {
          const variant = variants[(i + k) % variants.length]!;
          await sleep(config.settleMs);
          variant.runs.push(await run(variant.server, variant.name, variant.file, requests));
        }
      }
      const rps = (list: MeasuredRun[]) => median(list.map((r) => r.h2load.reqPerSec));
      const p99 = (list: MeasuredRun[]) => median(list.map((r) => r.h2load.latency!.p99Ms));
      const addRatio = rps(runs.diskAdd) / rps(runs.memoryAdd);
      report.figures.push(
        info('blocking add: memory / sqlite', `${formatInt(rps(runs.memoryAdd))} / ${formatInt(rps(runs.diskAdd))} req/s (p99 ${formatMs(p99(runs.memoryAdd))} / ${formatMs(p99(runs.diskAdd))})`),
        { label: 'blocking add sqlite/memory', value: formatRatio(addRatio), goal: `≥ ${ADD_GOAL.toFixed(2)}×`, verdict: judge(ctx, addRatio >= ADD_GOAL) },
        info('detached submit: memory / sqlite', `${formatInt(rps(runs.memoryDetached))} / ${formatInt(rps(runs.diskDetached))} req/s (p99 ${formatMs(p99(runs.memoryDetached))} / ${formatMs(p99(runs.diskDetached))})`),
        info('detached submit sqlite/memory', formatRatio(rps(runs.diskDetached) / rps(runs.memoryDetached))),
      );
      report.notes.push(
        `req/s per run: memory add ${formatRuns(runs.memoryAdd.map((r) => r.h2load.reqPerSec))}; sqlite add ${formatRuns(runs.diskAdd.map((r) => r.h2load.reqPerSec))}; memory detached ${formatRuns(runs.memoryDetached.map((r) => r.h2load.reqPerSec))}; sqlite detached ${formatRuns(runs.diskDetached.map((r) => r.h2load.reqPerSec))}`,
        `${rounds} interleaved round(s) of ${formatInt(requests)} requests per variant, ${config.clients} connections × ${config.streams} streams; --sqlite-synchronous normal`,
      );
      await Promise.allSettled(servers.splice(0).map((server) => server.stop()));

      // 2. RSS holding `stored` results in SQLite.
      const holder = await startOurServer('sqlite store (1M results)', {
        metrics: true,
        extraArgs: [...sqlite('rss'), '--max-results', String(stored * 2), '--max-result-bytes', String(4e9), '--result-ttl-secs', '86400'],
      });
      servers.push(holder);
      report.commands.push(holder.command);
      const idle = holder.rss();
      const fill = await measuredRun(holder, { requests: stored, clients: config.clients, streams: config.streams, dataFile: addFile });
      report.errors.push(...fill.problems.map((problem) => `${holder.label}: ${problem}`));
      ctx.log(`  ${holder.label}: ${formatInt(stored)} adds at ${formatInt(fill.h2load.reqPerSec)} req/s`);
      await sleep(1000);
      const rss = holder.rss();
      report.figures.push(info(`sqlite: RSS holding ${formatInt(stored)} stored results`, `${formatMb(rss)} (idle ${formatMb(idle)}; filled at ${formatInt(fill.h2load.reqPerSec)} req/s)`));
      await Promise.allSettled(servers.splice(0).map((server) => server.stop()));

      // 3. Recovery: `unfinished` tasks waiting for a dependency that never finishes, then kill -9.
      const recoveryArgs = [...sqlite('recovery'), '--max-dependent-tasks', '0', '--max-unfinished-bytes', '0', '--max-dependency-timeout-ms', String(7 * 86_400_000)];
      const builder = await startOurServer('sqlite store (building 100k unfinished)', { metrics: true, extraArgs: recoveryArgs });
      servers.push(builder);
      report.commands.push(builder.command);
      const forever = Long.fromNumber(7 * 86_400_000, true);
      // With attempts left, so the restart runs it again rather than failing it (and its dependents).
      await builder.connection.client.submitTask({ taskId: 'never', method: 'sleep', args: [toAny(2_000_000_000)], detached: true, retryPolicy: { maxAttempts: 10 } });
      const waitingFile = path.join(ctx.workDir, 'h-waiting.bin');
      writeTaskRequestFrame(waitingFile, { method: 'ping', deps: ['never'], dependencyTimeoutMs: forever, detached: true });
      const build = await measuredRun(builder, { requests: unfinished, clients: config.clients, streams: config.streams, dataFile: waitingFile });
      report.errors.push(...build.problems.map((problem) => `${builder.label}: ${problem}`));
      ctx.log(`  ${formatInt(unfinished)} waiting tasks submitted at ${formatInt(build.h2load.reqPerSec)} req/s`);
      process.kill(builder.pid, 'SIGKILL');
      await builder.stop();
      servers.splice(0);
      const reference = await timedStart('memory store (start-up reference)', []);
      await reference.server.stop();
      const recovering = await timedStart('sqlite store (recovering)', recoveryArgs);
      servers.push(recovering.server);
      // The interrupted attempt counts; its retry runs after the policy's backoff (from the recovery):
      // within 10 s the dependency must be RUNNING its second attempt.
      let never = await recovering.server.connection.client.getResult({ taskId: 'never' });
      for (let waited = 0; waited < 10_000 && !(never.status === TaskResponse_Status.RUNNING && never.attempts === 2); waited += 100) {
        await sleep(100);
        never = await recovering.server.connection.client.getResult({ taskId: 'never' });
      }
      if (never.status !== TaskResponse_Status.RUNNING || never.attempts !== 2) report.errors.push(`10 s after recovery the dependency reads ${TaskResponse_Status[never.status]} attempts ${never.attempts}, expected RUNNING attempts 2`);
      report.figures.push(
        {
          label: `start-up with ${formatInt(unfinished)} unfinished tasks (to first answer)`,
          value: `${formatMs(recovering.ms)} (memory store: ${formatMs(reference.ms)}); RSS ${formatMb(recovering.server.rss())}`,
          goal: `≤ ${RECOVERY_GOAL_MS / 1000} s`,
          verdict: judge(ctx, recovering.ms <= RECOVERY_GOAL_MS && unfinished >= 100_000),
        },
      );
      report.notes.push(`recovery: ${formatInt(unfinished)} detached ping tasks (h2load) waiting on a sleep(2e9 ms) dependency with attempts left, server killed with SIGKILL, start-up timed from spawn until it answers ListTasks and add(1, 2) (node start-up included)`);
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
    }
  },
};
