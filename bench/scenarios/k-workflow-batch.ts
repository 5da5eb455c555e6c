/**
 * k. Workflows in one call (issue 16): scenario c as one SubmitTasks of 10,000 detached `sleep 100`
 * plus one WatchTasks that follows them to the end, against c's 20,000-RPC version (10,000 SubmitTask
 * + 10,000 WaitResult, bench/lean-grpc-client.ts) on the same server in the same run; and how fast a
 * batch of 10,000 `add` tasks is accepted (one SubmitTasks call, first byte sent → answer decoded).
 *
 * The batch client is the typed nice-grpc client (src/client/workflows.ts): two calls in all, so its
 * per-call cost does not matter; every answer and every final event is checked.
 */
import { performance } from 'node:perf_hooks';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { submitTasks, watchTasks } from '../../src/client/workflows';
import { connectLeanClient, type LeanGrpcClient } from '../lean-grpc-client';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatInt, formatMs, formatRuns, median } from '../stats';
import { oneRun } from './c-detached-sleep';

/** Goals of issue 16: all finished ≤ 400 ms after the first byte sent (the 100 ms sleep included); acceptance ≥ 100,000 tasks/s. */
const FINISHED_GOAL_MS = 400;
const ACCEPT_GOAL_PER_SEC = 100_000;

interface BatchRun {
  readonly totalMs: number;
  readonly submitMs: number;
  readonly serverCpuSeconds: number;
}

async function batchRun(ctx: ScenarioContext, server: OurServer, connection: TaskSchedulerConnection, tasks: number, problems: string[]): Promise<BatchRun> {
  const { sleepMs } = ctx.config;
  const expected = `slept ${sleepMs} ms`;
  const requests = Array.from({ length: tasks }, () => ({ method: 'sleep', args: [toAny(sleepMs)] }));
  const cpuBefore = server.cpu();
  const t0 = performance.now();
  const accepted = await submitTasks(connection.client, requests);
  const submitted = performance.now();
  let finished = 0;
  let wrong = 0;
  for await (const event of watchTasks(connection.client, accepted.map((task) => task.taskId))) {
    if (!event.finished) continue;
    finished++;
    if ((event.status !== 'SUCCESS' || event.result !== expected) && wrong++ === 0) problems.push(`watch: ${event.taskId} ended ${event.status} ${JSON.stringify(event.result)}, expected SUCCESS ${JSON.stringify(expected)}`);
  }
  const end = performance.now();
  if (finished !== tasks) problems.push(`the watch ended after ${finished} of ${tasks} tasks`);
  return { totalMs: end - t0, submitMs: submitted - t0, serverCpuSeconds: server.cpu() - cpuBefore };
}

async function acceptRun(connection: TaskSchedulerConnection, tasks: number, round: number, problems: string[]): Promise<number> {
  // Client-chosen ids (the idempotency lookups included), all new.
  const requests = Array.from({ length: tasks }, (_, i) => ({ taskId: `k${round}-${i}`, method: 'add', args: [toAny(i), toAny(1)] }));
  const t0 = performance.now();
  const accepted = await submitTasks(connection.client, requests);
  const ms = performance.now() - t0;
  if (accepted.length !== tasks || accepted.some((task) => task.status !== 'PENDING')) problems.push(`add batch ${round}: answered ${accepted.length} tasks, not all PENDING`);
  return ms;
}

export const workflowBatch: Scenario = {
  id: 'k',
  title: 'workflow in one call: SubmitTasks + WatchTasks vs c’s 20,000 RPCs; batch acceptance',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const tasks = config.sleepTasks;
    let server: OurServer | undefined;
    let connection: TaskSchedulerConnection | undefined;
    let lean: LeanGrpcClient | undefined;
    try {
      server = await startOurServer('ours (metrics on)', { metrics: true });
      report.commands.push(server.command);
      connection = createTaskSchedulerClient(server.address);
      lean = await connectLeanClient(server.address);
      await batchRun(ctx, server, connection, Math.max(100, tasks / 10), report.errors); // warm-up
      await oneRun({ ...ctx, config: { ...config, sleepTasks: Math.max(100, tasks / 10) } }, server, lean, report.errors);
      const batches: BatchRun[] = [];
      const rpcs: number[] = [];
      for (let i = 0; i < config.runs; i++) {
        const batch = await batchRun(ctx, server, connection, tasks, report.errors);
        const rpc = await oneRun(ctx, server, lean, report.errors);
        ctx.log(`  batch: ${formatMs(batch.totalMs)} (SubmitTasks ${formatMs(batch.submitMs)}, server ${batch.serverCpuSeconds.toFixed(2)} s CPU); 20,000 RPCs: ${formatMs(rpc.totalMs)}`);
        batches.push(batch);
        rpcs.push(rpc.totalMs);
      }
      const accepts: number[] = [];
      await acceptRun(connection, tasks, -1, report.errors); // warm-up
      for (let i = 0; i < Math.max(3, config.runs); i++) accepts.push(await acceptRun(connection, tasks, i, report.errors));
      ctx.log(`  add batches of ${formatInt(tasks)}: ${formatRuns(accepts, formatMs)}`);
      const total = median(batches.map((b) => b.totalMs));
      const goal = FINISHED_GOAL_MS;
      const rate = tasks / (median(accepts) / 1000);
      report.figures.push(
        { label: `${formatInt(tasks)} × sleep ${config.sleepMs} ms in one SubmitTasks + one WatchTasks: first byte → all finished`, value: formatMs(total), goal: `≤ ${goal} ms`, verdict: judge(ctx, total <= goal) },
        info('  of which SubmitTasks (answer decoded)', formatMs(median(batches.map((b) => b.submitMs)))),
        info(`  same tasks as ${formatInt(2 * tasks)} RPCs (scenario c's client), same server, same run`, formatMs(median(rpcs))),
        info('  ratio RPCs / batch', `${(median(rpcs) / total).toFixed(2)}×`),
        { label: `batch acceptance: ${formatInt(tasks)} add tasks in one SubmitTasks`, value: `${formatInt(rate)} tasks/s`, goal: `≥ ${formatInt(ACCEPT_GOAL_PER_SEC)} tasks/s`, verdict: judge(ctx, rate >= ACCEPT_GOAL_PER_SEC) },
      );
      report.notes.push(
        `batch runs ${formatRuns(batches.map((b) => b.totalMs), formatMs)}; SubmitTasks ${formatRuns(batches.map((b) => b.submitMs), formatMs)}; 20,000-RPC runs ${formatRuns(rpcs, formatMs)}; add batches ${formatRuns(accepts, formatMs)} (client-observed: encode, send, accept, answer, decode; ids client-chosen)`,
      );
    } finally {
      connection?.close();
      await lean?.close();
      await server?.stop();
    }
  },
};
