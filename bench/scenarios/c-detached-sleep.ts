/**
 * c. 10,000 detached `sleep 100` submits, then WaitResult on every one: wall time from the first submit
 * until all have finished. The sleeps overlap, so everything above 100 ms is the cost of accepting,
 * scheduling and answering — on the server and in the client, which shares this machine (both phases
 * are timed separately to show which).
 */
import { performance } from 'node:perf_hooks';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { runBounded } from '../run-bounded';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMicros, formatMs, formatRuns, median } from '../stats';

/** The goal: the sleep plus at most 400 ms. */
const OVERHEAD_GOAL_MS = 400;

interface SleepRun {
  readonly totalMs: number;
  readonly submitMs: number;
  readonly serverCpuSeconds: number;
  readonly clientCpuSeconds: number;
}

async function oneRun(ctx: ScenarioContext, server: OurServer, problems: string[]): Promise<SleepRun> {
  const { config } = ctx;
  const client = server.connection.client;
  const expected = `slept ${config.sleepMs} ms`;
  const ids: string[] = new Array<string>(config.sleepTasks);
  const cpuBefore = server.cpu();
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  await runBounded(config.sleepTasks, config.sleepSubmitConcurrency, async (i) => {
    const answer = await client.submitTask({ method: 'sleep', args: [toAny(config.sleepMs)], detached: true });
    if (answer.status !== TaskResponse_Status.PENDING || answer.taskId === '') {
      problems.push(`detached submit answered ${TaskResponse_Status[answer.status]} with id ${JSON.stringify(answer.taskId)}, expected PENDING with an id`);
    }
    ids[i] = answer.taskId;
  });
  const submitted = performance.now();
  let wrong = 0;
  await runBounded(config.sleepTasks, config.sleepWaitConcurrency, async (i) => {
    // timeout_ms 0: the server's 30 s maximum — far beyond a 100 ms sleep.
    const answer = await client.waitResult({ taskId: ids[i]! });
    if (answer.status !== TaskResponse_Status.SUCCESS || answer.result !== expected) {
      if (wrong++ === 0) problems.push(`WaitResult(${ids[i]!}) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}, expected SUCCESS ${JSON.stringify(expected)}`);
    }
  });
  const finished = performance.now();
  if (wrong > 1) problems.push(`${wrong} WaitResult answers in all were not SUCCESS "${expected}"`);
  const clientCpu = process.cpuUsage(clientBefore);
  return {
    totalMs: finished - t0,
    submitMs: submitted - t0,
    serverCpuSeconds: server.cpu() - cpuBefore,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}

/** Scenario c: many detached sleeps, then WaitResult on all. */
export const detachedSleep: Scenario = {
  id: 'c',
  title: `detached sleeps, then WaitResult on all`,
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    let server: OurServer | undefined;
    try {
      server = await startOurServer('ours (metrics on)', { metrics: true });
      report.commands.push(server.command);
      // Warm-up: a tenth of the load, so JIT and the channel are ready; not reported.
      await oneRun({ ...ctx, config: { ...config, sleepTasks: Math.max(100, config.sleepTasks / 10) } }, server, report.errors);
      const runs: SleepRun[] = [];
      for (let i = 0; i < config.runs; i++) {
        const run = await oneRun(ctx, server, report.errors);
        ctx.log(`  ${formatInt(config.sleepTasks)} sleeps: ${formatMs(run.totalMs)} (submits ${formatMs(run.submitMs)}; server ${run.serverCpuSeconds.toFixed(2)} s CPU, client ${run.clientCpuSeconds.toFixed(2)} s CPU)`);
        runs.push(run);
      }
      const total = median(runs.map((r) => r.totalMs));
      const goal = config.sleepMs + OVERHEAD_GOAL_MS;
      report.figures.push(
        { label: `${formatInt(config.sleepTasks)} × sleep ${config.sleepMs} ms: first submit → all finished`, value: formatMs(total), goal: `≤ ${goal} ms`, verdict: judge(ctx, total <= goal) },
        info('  of which submitting (detached, PENDING answers)', formatMs(median(runs.map((r) => r.submitMs)))),
        info('  submit rate', `${formatInt(config.sleepTasks / (median(runs.map((r) => r.submitMs)) / 1000))} submits/s`),
        info('  CPU per task (submit + WaitResult): server / bench client', `${formatMicros(median(runs.map((r) => r.serverCpuSeconds)) / config.sleepTasks)} / ${formatMicros(median(runs.map((r) => r.clientCpuSeconds)) / config.sleepTasks)}`),
      );
      const last = runs.at(-1)!;
      report.notes.push(
        `total per run ${formatRuns(runs.map((r) => r.totalMs), formatMs)}; submit phase ${formatRuns(runs.map((r) => r.submitMs), formatMs)}`,
        `CPU (last run, ${formatMs(last.totalMs)} wall): server ${last.serverCpuSeconds.toFixed(2)} s, bench client ${last.clientCpuSeconds.toFixed(2)} s — the nice-grpc client shares the 2 cores with the server`,
        `client: nice-grpc (createTaskSchedulerClient, one channel), ${config.sleepSubmitConcurrency} submits in flight, then ${config.sleepWaitConcurrency} WaitResults in flight; every answer checked (PENDING with an id; SUCCESS "slept ${config.sleepMs} ms")`,
      );
    } finally {
      await server?.stop();
    }
  },
};
