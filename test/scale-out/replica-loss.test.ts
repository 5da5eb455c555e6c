/**
 * Replica loss: three CLI replicas on one redis-server; one is killed with SIGKILL mid-run. Within about
 * one lease a survivor takes over its tasks that can run again — one waiting for a dependency (never
 * started) and one with attempts left in its retry policy — and runs them; its other unfinished tasks
 * become FAILED `Owner replica lost: <replica>`; dependents and waiters on the survivors learn every
 * outcome; every other task completes. (Needs `npm run build`.)
 */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, Status } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { killCli, startCli, type CliProcess } from '../helpers/cli';
import { sleep, uniquePrefix } from './replicas';

jest.setTimeout(90_000);
const ms = (n: number): Long => Long.fromNumber(n, true);
const LEASE_MS = 1_000;

let redis: RedisInstance;
const clis: CliProcess[] = [];
const connections: Array<ReturnType<typeof createTaskSchedulerClient>> = [];
let clients: TaskSchedulerClient[];
beforeAll(async () => {
  redis = await startRedis();
  const prefix = uniquePrefix('loss');
  for (let i = 0; i < 3; i++) {
    clis.push(await startCli(['--addr', '127.0.0.1:0', '--store', redis.url, '--redis-prefix', prefix, '--lease-ms', String(LEASE_MS),
      '--library-dir', '', '--log-dir', '', '--worker-threads', '0', '--shutdown-grace-ms', '0']));
  }
  for (const cli of clis) connections.push(createTaskSchedulerClient(cli.address));
  clients = connections.map((connection) => connection.client);
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  await Promise.allSettled(clis.map((cli) => cli.stop('SIGTERM', 5_000).catch(() => killCli(cli))));
  await redis?.close();
});

test('kill -9 of a replica: tasks that can run again are taken over, the rest FAILED within about a lease, dependents and waiters told', async () => {
  const [victim, survivor1, survivor2] = clients as [TaskSchedulerClient, TaskSchedulerClient, TaskSchedulerClient];
  const replica = /"replica":"([^"]+)"/.exec(clis[0]!.readyLine)![1]!;
  // On the victim: running tasks, and a task waiting for a dependency that runs on a survivor.
  for (let i = 0; i < 5; i++) await victim.submitTask({ taskId: `v-${i}`, method: 'sleep', args: [toAny(20_000)], detached: true });
  await survivor1.submitTask({ taskId: 's-dep', method: 'sleep', args: [toAny(1_500)], detached: true });
  await victim.submitTask({ taskId: 'v-pending', method: 'ping', deps: ['s-dep'], detached: true });
  // …and a running task whose retry policy has attempts left.
  const retry = { maxAttempts: 2, initialBackoffMs: Long.fromNumber(100, true), maxBackoffMs: Long.UZERO, backoffMultiplier: 0 };
  await victim.submitTask({ taskId: 'v-retry', method: 'sleep', args: [toAny(2_000)], detached: true, retryPolicy: retry });
  // On the survivors: tasks that must complete, some depending on the victim's tasks.
  const others = Array.from({ length: 6 }, (_, i) => (i % 2 ? survivor1 : survivor2).submitTask({ taskId: `s-${i}`, method: 'sleep', args: [toAny(1_000 + 100 * i)] }));
  const dependents = [0, 1, 2].map((i) => expectGrpcError(survivor2.submitTask({ taskId: `d-${i}`, method: 'ping', deps: [`v-${i}`] })));
  const waiter = survivor1.waitResult({ taskId: 'v-3', timeoutMs: ms(20_000) });
  const resubmit = expectGrpcError(survivor2.submitTask({ taskId: 'v-4', method: 'sleep', args: [toAny(20_000)] }));
  await sleep(300);
  expect((await survivor1.getResult({ taskId: 'v-0' })).status).toBe(TaskResponse_Status.RUNNING);

  const killedAt = Date.now();
  clis[0]!.child.kill('SIGKILL');
  await clis[0]!.exited;
  const lost = `Owner replica lost: ${replica}`;
  const waited = await waiter;
  const noticedAfter = Date.now() - killedAt;
  expect(waited).toEqual({ status: TaskResponse_Status.FAILED, result: lost, attempts: 1 });
  // Within about one lease: the lease runs out, then the next check (every ~lease/4) reaps it.
  expect(noticedAfter).toBeGreaterThanOrEqual(LEASE_MS - 400);
  expect(noticedAfter).toBeLessThan(LEASE_MS * 2.5);
  for (const taskId of ['v-0', 'v-1', 'v-2', 'v-3', 'v-4']) {
    for (const client of [survivor1, survivor2]) expect(await client.getResult({ taskId })).toEqual({ status: TaskResponse_Status.FAILED, result: lost, attempts: 1 });
  }
  // Taken over by a survivor: the dependent runs once its dependency is done; the retried task runs
  // again (its interrupted first attempt counts).
  expect(await survivor2.waitResult({ taskId: 'v-pending', timeoutMs: ms(10_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
  expect(await survivor1.waitResult({ taskId: 'v-retry', timeoutMs: ms(10_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 2000 ms', attempts: 2 });
  for (const [i, pending] of dependents.entries()) {
    const err = await pending;
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.details).toBe(`Dependency failed: v-${i}`);
  }
  const replayed = await resubmit;
  expect(replayed.code).toBe(Status.ABORTED);
  expect(replayed.details).toBe(lost);
  const done = await Promise.all(others);
  expect(done.map((answer) => answer.result)).toEqual(Array.from({ length: 6 }, (_, i) => `slept ${1_000 + 100 * i} ms`));
  expect(await survivor2.waitResult({ taskId: 's-dep', timeoutMs: ms(5_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 1500 ms', attempts: 1 });
  // The survivors keep serving, with each other.
  await survivor1.submitTask({ taskId: 'after-a', method: 'sleep', args: [toAny(100)], detached: true });
  expect((await survivor2.submitTask({ taskId: 'after-b', method: 'concat', args: [], deps: ['after-a'], injectDependencyResults: true })).result).toBe('slept 100 ms');
});
