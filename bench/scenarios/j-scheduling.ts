/**
 * j. Scheduling features (issue 17). Unused: blocking `add` under h2load against this build and the
 * build before the run queue existed (the parent of the commit that removed
 * src/engine/concurrency-limiter.ts, built in a temporary git worktree), interleaved, as a same-run
 * ratio of medians. Used: the same `add` with a priority and a concurrency key (the request then takes
 * the generated decoder and the queue's full path), and a detached load of `sleep 1` tasks over 1,000
 * concurrency keys with mixed priorities against `--max-concurrent-tasks 64 --key-concurrency 4`, next
 * to the same load without keys or priorities on the same server.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { beforeLastChangeOf, buildAt } from '../build-at';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMs, formatRatio, formatRuns, median } from '../stats';

/** Goal of the issue: blocking add throughput unchanged within noise when the features are unused. */
const UNUSED_GOAL = 0.95;

/** Submits `count` detached `sleep 1` tasks, `inFlight` calls at a time, then waits until all ran. */
async function detachedLoad(server: OurServer, count: number, keyed: boolean): Promise<{ submitPerSec: number; drainSeconds: number }> {
  const { client, admin } = server.connection;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await client.submitTask({
        method: 'sleep',
        args: [toAny(1)],
        detached: true,
        ...(keyed ? { concurrencyKey: `tenant-${i % 1000}`, priority: (i % 21) - 10 } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const submitted = performance.now();
  for (;;) {
    const stats = await admin.getQueueStats({});
    if (stats.methods.every((m) => m.waiting === 0 && m.running === 0)) break;
    await sleep(20);
  }
  return { submitPerSec: count / ((submitted - started) / 1000), drainSeconds: (performance.now() - started) / 1000 };
}

export const scheduling: Scenario = {
  id: 'j',
  title: 'scheduling features: hot-path cost unused (vs the build before), and used (1,000 keys, priorities)',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const plainFile = path.join(ctx.workDir, 'j-add.bin');
    const scheduledFile = path.join(ctx.workDir, 'j-add-scheduled.bin');
    writeTaskRequestFrame(plainFile, { method: 'add', args: [toAny(1), toAny(2)] });
    writeTaskRequestFrame(scheduledFile, { method: 'add', args: [toAny(1), toAny(2)], priority: 5, concurrencyKey: 'tenant-1' });
    // The build before the run queue: the parent of the commit that deleted the FIFO limiter.
    const commit = beforeLastChangeOf('src/engine/concurrency-limiter.ts');
    const before = buildAt(commit, ctx.log);
    const servers: OurServer[] = [];
    try {
      const old = await startOurServer(`before (${commit.slice(0, 10)})`, { metrics: true, main: before.main });
      servers.push(old);
      const now = await startOurServer('this build', { metrics: true });
      servers.push(now);
      const limited = await startOurServer('this build, --key-concurrency 4 --max-concurrent-tasks 64', { metrics: true, extraArgs: ['--key-concurrency', '4', '--max-concurrent-tasks', '64'] });
      servers.push(limited);
      report.commands.push(old.command, now.command, limited.command);

      const run = async (server: OurServer, name: string, file: string, requests: number): Promise<MeasuredRun> => {
        const result = await measuredRun(server, { requests, clients: config.clients, streams: config.streams, dataFile: file, logFile: path.join(ctx.workDir, `j-${name}.log`) });
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems.map((problem) => `${server.label}: ${problem}`));
        ctx.log(`  ${server.label} ${name}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };
      for (const server of servers) await run(server, 'warmup', plainFile, config.warmupRequests);
      const variants = [
        { server: old, name: 'before', file: plainFile, runs: [] as MeasuredRun[] },
        { server: now, name: 'unused', file: plainFile, runs: [] as MeasuredRun[] },
        { server: limited, name: 'used', file: scheduledFile, runs: [] as MeasuredRun[] },
      ];
      for (let i = 0; i < config.throughputRuns; i++) {
        ctx.log(` round ${i + 1}/${config.throughputRuns}`);
        for (let k = 0; k < variants.length; k++) {
          const variant = variants[(i + k) % variants.length]!;
          await sleep(config.settleMs);
          variant.runs.push(await run(variant.server, variant.name, variant.file, config.addRequests));
        }
      }
      const rps = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.reqPerSec));
      const p99 = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.latency!.p99Ms));
      const [oldRuns, unusedRuns, usedRuns] = variants.map((v) => v.runs) as [MeasuredRun[], MeasuredRun[], MeasuredRun[]];
      const unusedRatio = rps(unusedRuns) / rps(oldRuns);
      report.figures.push(
        info(`before (${commit.slice(0, 10)}): blocking add`, `${formatInt(rps(oldRuns))} req/s, p99 ${formatMs(p99(oldRuns))}`),
        info('this build, features unused: blocking add', `${formatInt(rps(unusedRuns))} req/s, p99 ${formatMs(p99(unusedRuns))}`),
        { label: 'unused / before throughput', value: formatRatio(unusedRatio), goal: `≥ ${UNUSED_GOAL.toFixed(2)}× (within noise)`, verdict: judge(ctx, unusedRatio >= UNUSED_GOAL) },
        info('used (priority 5, key, --key-concurrency 4): blocking add', `${formatInt(rps(usedRuns))} req/s, p99 ${formatMs(p99(usedRuns))} (${formatRatio(rps(usedRuns) / rps(unusedRuns))} of unused)`),
      );
      report.notes.push(`req/s per run: before ${formatRuns(oldRuns.map((r) => r.h2load.reqPerSec))}; unused ${formatRuns(unusedRuns.map((r) => r.h2load.reqPerSec))}; used ${formatRuns(usedRuns.map((r) => r.h2load.reqPerSec))}`);

      // Detached sleep-1 tasks over 1,000 keys with priorities, vs none, on the limited server.
      const tasks = config.mode === 'quick' ? 2_000 : 10_000;
      const plain: Array<{ submitPerSec: number; drainSeconds: number }> = [];
      const keyed: Array<{ submitPerSec: number; drainSeconds: number }> = [];
      for (let i = 0; i < config.throughputRuns; i++) {
        plain.push(await detachedLoad(limited, tasks, false));
        keyed.push(await detachedLoad(limited, tasks, true));
      }
      const submit = (rows: typeof plain) => median(rows.map((r) => r.submitPerSec));
      const drain = (rows: typeof plain) => median(rows.map((r) => r.drainSeconds));
      report.figures.push(
        info(`${formatInt(tasks)} detached sleep(1), no keys: submissions/s, all done in`, `${formatInt(submit(plain))}/s, ${drain(plain).toFixed(2)} s`),
        info(`same over 1,000 keys, priorities -10..10: submissions/s, all done in`, `${formatInt(submit(keyed))}/s, ${drain(keyed).toFixed(2)} s (${formatRatio(drain(plain) / drain(keyed))} of the no-key rate)`),
      );
      report.notes.push(
        `scheduled add request: TaskRequest{method "add", args [1, 2], priority 5, concurrency_key "tenant-1"} (fields 16-17: decoded by the generated decoder, queue full path)`,
        `detached load: 64 calls in flight, --max-concurrent-tasks 64 --key-concurrency 4, ${config.throughputRuns} run(s) each, alternated; ${Long.fromNumber(tasks).toString()} tasks per run`,
      );
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
      before.remove();
    }
  },
};
