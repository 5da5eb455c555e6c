/**
 * g. The Redis store (`--store redis://…`): blocking `add` under h2load on one replica with Redis vs
 * the memory store (interleaved runs), a detached fan-out (many detached sleeps, then WaitResult on
 * all) on both, and blocking `add` spread over 1 → 2 → 3 replicas sharing one Redis. Redis commands
 * per task are counted from Redis's own INFO stats.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { h2loadProblems, runH2load, type H2loadResult } from '../h2load-runner';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { countProblems } from '../metrics';
import { startRedisInstance, type RedisInstance } from '../redis-instance';
import { runBounded } from '../run-bounded';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMs, formatRatio, formatRuns, median } from '../stats';

/** The goal: one replica on Redis keeps at least half the memory store's `add` throughput. */
const REDIS_THROUGHPUT_GOAL = 0.5;

/** Detached `sleep` submits, then WaitResult on each: wall time from first submit to all finished. */
async function fanOut(ctx: ScenarioContext, server: OurServer, tasks: number, problems: string[]): Promise<number> {
  const { config } = ctx;
  const client = server.connection.client;
  const expected = `slept ${config.sleepMs} ms`;
  const ids = new Array<string>(tasks);
  const t0 = performance.now();
  await runBounded(tasks, config.sleepSubmitConcurrency, async (i) => {
    const answer = await client.submitTask({ method: 'sleep', args: [toAny(config.sleepMs)], detached: true });
    if (answer.status !== TaskResponse_Status.PENDING || answer.taskId === '') problems.push(`${server.label}: detached submit answered ${TaskResponse_Status[answer.status]}`);
    ids[i] = answer.taskId;
  });
  let wrong = 0;
  await runBounded(tasks, config.sleepWaitConcurrency, async (i) => {
    const answer = await client.waitResult({ taskId: ids[i]! });
    if ((answer.status !== TaskResponse_Status.SUCCESS || answer.result !== expected) && wrong++ === 0) {
      problems.push(`${server.label}: WaitResult(${ids[i]!}) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}`);
    }
  });
  if (wrong > 1) problems.push(`${server.label}: ${wrong} WaitResult answers were wrong`);
  return performance.now() - t0;
}

/** Scenario g: the Redis store against the memory store, and 1 → 3 replicas. */
export const redisStore: Scenario = {
  id: 'g',
  title: 'Redis store: add and detached fan-out vs memory store; 1 → 2 → 3 replicas',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const bodyFile = path.join(ctx.workDir, 'g-add.bin');
    writeTaskRequestFrame(bodyFile, { method: 'add', args: [toAny(1), toAny(2)] });
    const servers: OurServer[] = [];
    let redis: RedisInstance | undefined;
    try {
      redis = await startRedisInstance(ctx.workDir);
      report.commands.push(redis.command);
      const redisArgs = (i: number) => ['--store', redis!.url, '--redis-prefix', `bench-${i}:`];
      const memory = await startOurServer('memory store', { metrics: true });
      servers.push(memory);
      const replicas: OurServer[] = [];
      for (let i = 0; i < 3; i++) {
        // One prefix: all three share the deployment; replica 1 alone is the "one replica" case.
        const replica = await startOurServer(`redis replica ${i + 1}`, { metrics: true, extraArgs: redisArgs(0) });
        servers.push(replica);
        replicas.push(replica);
      }
      report.commands.push(memory.command, replicas[0]!.command);
      const oneRedis = replicas[0]!;

      const load = (requests: number, name: string, clients = config.clients) => ({
        requests, clients, streams: config.streams, dataFile: bodyFile, logFile: path.join(ctx.workDir, `g-${name}.log`),
      });
      const run = async (server: OurServer, name: string, requests: number): Promise<MeasuredRun> => {
        const result = await measuredRun(server, load(requests, name));
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems.map((problem) => `${server.label}: ${problem}`));
        ctx.log(`  ${server.label}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };

      // 1. Blocking add, one replica: memory vs Redis, interleaved; Redis commands counted per task.
      await run(memory, 'warmup-memory', config.warmupRequests);
      await run(oneRedis, 'warmup-redis', config.warmupRequests);
      const memoryRuns: MeasuredRun[] = [];
      const redisRuns: MeasuredRun[] = [];
      const commandsPerTask: number[] = [];
      const scriptsPerTask: number[] = [];
      for (let i = 0; i < config.throughputRuns; i++) {
        ctx.log(` round ${i + 1}/${config.throughputRuns}`);
        memoryRuns.push(await run(memory, 'memory', config.addRequests));
        const before = await redis.counters();
        redisRuns.push(await run(oneRedis, 'redis', config.addRequests));
        const after = await redis.counters();
        commandsPerTask.push((after.commands - before.commands) / config.addRequests);
        scriptsPerTask.push((after.scripts - before.scripts) / config.addRequests);
      }
      const rps = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.reqPerSec));
      const p99 = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.latency!.p99Ms));
      const ratio = rps(redisRuns) / rps(memoryRuns);
      report.figures.push(
        info('add, memory store: throughput, p99', `${formatInt(rps(memoryRuns))} req/s, ${formatMs(p99(memoryRuns))}`),
        info('add, Redis store (1 replica): throughput, p99', `${formatInt(rps(redisRuns))} req/s, ${formatMs(p99(redisRuns))}`),
        { label: 'add throughput Redis/memory', value: formatRatio(ratio), goal: `≥ ${REDIS_THROUGHPUT_GOAL.toFixed(2)}×`, verdict: judge(ctx, ratio >= REDIS_THROUGHPUT_GOAL) },
        info('Redis per blocking add: script calls (round trips) / commands incl. inside scripts', `${median(scriptsPerTask).toFixed(2)} / ${median(commandsPerTask).toFixed(2)}`),
      );
      report.notes.push(
        `add req/s per run: memory ${formatRuns(memoryRuns.map((r) => r.h2load.reqPerSec))}; redis ${formatRuns(redisRuns.map((r) => r.h2load.reqPerSec))}`,
        'blocking add with a server-assigned id runs inline and is stored once (one Lua script call, one round trip); lease renewals and replica checks add a few commands per second',
      );

      // 2. Detached fan-out on one replica: memory vs Redis.
      const fanOutTasks = config.sleepTasks;
      const memoryFan: number[] = [];
      const redisFan: number[] = [];
      const fanCommandsPerTask: number[] = [];
      const fanScriptsPerTask: number[] = [];
      await fanOut(ctx, memory, Math.max(100, fanOutTasks / 10), report.errors);
      await fanOut(ctx, oneRedis, Math.max(100, fanOutTasks / 10), report.errors);
      for (let i = 0; i < config.runs; i++) {
        memoryFan.push(await fanOut(ctx, memory, fanOutTasks, report.errors));
        const before = await redis.counters();
        redisFan.push(await fanOut(ctx, oneRedis, fanOutTasks, report.errors));
        const after = await redis.counters();
        fanCommandsPerTask.push((after.commands - before.commands) / fanOutTasks);
        fanScriptsPerTask.push((after.scripts - before.scripts) / fanOutTasks);
        ctx.log(`  fan-out of ${formatInt(fanOutTasks)} detached sleeps: memory ${formatMs(memoryFan.at(-1)!)}, redis ${formatMs(redisFan.at(-1)!)}`);
      }
      report.figures.push(
        info(`detached fan-out ${formatInt(fanOutTasks)} × sleep ${config.sleepMs} ms → all finished: memory / Redis`, `${formatMs(median(memoryFan))} / ${formatMs(median(redisFan))}`),
        info('  Redis per detached task + WaitResult: script calls / commands incl. inside scripts', `${median(fanScriptsPerTask).toFixed(2)} / ${median(fanCommandsPerTask).toFixed(2)}`),
      );

      // 3. Blocking add over 1, 2, 3 replicas sharing Redis: one h2load per replica, run together.
      const scaling: string[] = [];
      for (let count = 1; count <= 3; count++) {
        const perReplica = Math.floor(config.addRequests / count);
        const clients = Math.max(1, Math.floor(config.clients / count));
        const targets = replicas.slice(0, count);
        const before = await Promise.all(targets.map((server) => server.counts()!));
        const t0 = performance.now();
        const results: H2loadResult[] = await Promise.all(targets.map((server, i) => runH2load({ ...load(perReplica, `scale-${count}-${i}`, clients), url: server.submitUrl })));
        const seconds = (performance.now() - t0) / 1000;
        const after = await Promise.all(targets.map((server) => server.counts()!));
        for (const [i, result] of results.entries()) {
          report.commands.push(result.command);
          report.errors.push(...h2loadProblems(result, perReplica).map((problem) => `${targets[i]!.label}: ${problem}`));
          report.errors.push(...countProblems(before[i]!, after[i]!, perReplica).map((problem) => `${targets[i]!.label}: ${problem}`));
        }
        const total = (perReplica * count) / seconds;
        scaling.push(`${count}: ${formatInt(total)} req/s`);
        ctx.log(`  ${count} replica(s): ${formatInt(total)} req/s over all`);
      }
      report.figures.push(info('add over 1 → 2 → 3 Redis replicas (total)', scaling.join(', ')));
      report.notes.push(
        'replica scaling: one h2load per replica, started together, the connections split between them; all replicas, Redis and h2load share this machine\'s cores, so more replicas cannot add CPU here — on separate machines each replica brings its own',
      );
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
      await redis?.stop();
    }
  },
};
