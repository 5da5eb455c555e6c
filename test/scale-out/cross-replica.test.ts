/**
 * SPEC §3 across three replicas sharing one real redis-server: dependencies, GetResult/WaitResult,
 * CancelTask, idempotency (never two runs of one id), TTL by Redis expiry.
 */
import Long from 'long';
import { Redis } from 'ioredis';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import type { TaskDefinition } from '../../src/tasks/task-registry';
import { createBuiltinRegistry } from '../../src/app';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { RedisResultStore } from '../../src/results/redis-result-store';
import type { TaskRecord } from '../../src/results/task-record';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { sleep, startReplicas, uniquePrefix } from './replicas';

jest.setTimeout(60_000);
const ms = (n: number): Long => Long.fromNumber(n, true);

/** Runs per task id, over all replicas (they share this process's memory; they share nothing else). */
const runs = new Map<string, number>();
const countRuns: TaskDefinition = {
  name: 'count_runs',
  kind: 'async',
  description: 'counts its runs per task id, then waits a little',
  source: 'user',
  fn: async (_args, ctx) => {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    await sleep(30);
    return `ran ${ctx.taskId}`;
  },
};

let redis: RedisInstance;
let prefix: string;
let r: TestServer[];
beforeAll(async () => {
  redis = await startRedis();
  prefix = uniquePrefix('cross');
  r = await startReplicas(3, redis.url, prefix, { resultTtlSecs: 600 }, [countRuns]);
});
afterAll(async () => {
  await Promise.allSettled((r ?? []).map((replica) => replica.close()));
  await redis?.close();
});

test('B on replica 2 waits for A on replica 1 and reads its result', async () => {
  await r[0]!.client.submitTask({ taskId: 'x-a', method: 'sleep', args: [toAny(300)], detached: true });
  const started = Date.now();
  const b = await r[1]!.client.submitTask({ taskId: 'x-b', method: 'concat', args: [toAny('!')], deps: ['x-a'], injectDependencyResults: true });
  expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  expect(b).toEqual({ taskId: 'x-b', status: TaskResponse_Status.SUCCESS, result: 'slept 300 ms!', attempts: 1 });
  // A dependency already finished elsewhere is read from the store at once.
  const c = await r[2]!.client.submitTask({ taskId: 'x-c', method: 'concat', args: [], deps: ['x-a', 'x-b'], injectDependencyResults: true });
  expect(c.result).toBe('slept 300 ms' + 'slept 300 ms!');
});

test('a dependency failing on another replica fails its dependents; an unknown one is missing at once', async () => {
  // Long enough that the cancel below always comes first, however loaded the machine.
  await r[0]!.client.submitTask({ taskId: 'f-a', method: 'sleep', args: [toAny(5_000)], detached: true });
  const waiting = expectGrpcError(r[1]!.client.submitTask({ taskId: 'f-b', method: 'ping', deps: ['f-a'] }));
  await sleep(30);
  await r[2]!.client.cancelTask({ taskId: 'f-a' });
  const err = await waiting;
  expect(err.code).toBe(Status.FAILED_PRECONDITION);
  expect(err.details).toBe('Dependency failed: f-a');
  expect((await r[2]!.client.getResult({ taskId: 'f-b' })).status).toBe(TaskResponse_Status.FAILED);
  const missing = await expectGrpcError(r[2]!.client.submitTask({ taskId: 'f-c', method: 'ping', deps: ['never-submitted'] }));
  expect(missing.code).toBe(Status.FAILED_PRECONDITION);
  expect(missing.details).toBe('Missing dependency: never-submitted');
});

test('the dependency timeout holds across replicas', async () => {
  await r[0]!.client.submitTask({ taskId: 't-a', method: 'sleep', args: [toAny(2000)], detached: true });
  const started = Date.now();
  const err = await expectGrpcError(r[1]!.client.submitTask({ taskId: 't-b', method: 'ping', deps: ['t-a'], dependencyTimeoutMs: ms(200) }));
  expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
  expect(err.details).toBe("Timed out: dependency 't-a' did not finish within 200 ms");
  expect(Date.now() - started).toBeLessThan(1500);
  await r[0]!.client.cancelTask({ taskId: 't-a' });
});

test('GetResult and WaitResult answer from any replica', async () => {
  await r[0]!.client.submitTask({ taskId: 'w-a', method: 'sleep', args: [toAny(300)], detached: true });
  await sleep(50);
  for (const replica of r) expect((await replica.client.getResult({ taskId: 'w-a' })).status).toBe(TaskResponse_Status.RUNNING);
  const early = await r[2]!.client.waitResult({ taskId: 'w-a', timeoutMs: ms(50) });
  expect(early.status).toBe(TaskResponse_Status.RUNNING);
  const started = Date.now();
  const waited = await Promise.all(r.map((replica) => replica.client.waitResult({ taskId: 'w-a', timeoutMs: ms(5000) })));
  expect(Date.now() - started).toBeLessThan(2000);
  for (const answer of waited) expect(answer).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 300 ms', attempts: 1 });
  expect(await r[1]!.client.getResult({ taskId: 'nobody' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
  // A detached submit's server-assigned id is visible everywhere at once.
  const detached = await r[0]!.client.submitTask({ method: 'sleep', args: [toAny(100)], detached: true });
  expect((await r[1]!.client.getResult({ taskId: detached.taskId })).status).not.toBe(TaskResponse_Status.NOT_FOUND);
  expect((await r[2]!.client.waitResult({ taskId: detached.taskId, timeoutMs: ms(5000) })).result).toBe('slept 100 ms');
});

test('CancelTask on another replica stops the task where it runs', async () => {
  const blocking = expectGrpcError(r[0]!.client.submitTask({ taskId: 'c-a', method: 'sleep', args: [toAny(10_000)] }));
  await sleep(100);
  const started = Date.now();
  expect(await r[2]!.client.cancelTask({ taskId: 'c-a' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  const err = await blocking;
  expect(Date.now() - started).toBeLessThan(2000);
  expect(err.code).toBe(Status.CANCELLED);
  expect(err.details).toBe('Task cancelled: c-a');
  for (const replica of r) {
    expect(await replica.client.getResult({ taskId: 'c-a' })).toEqual({ status: TaskResponse_Status.CANCELLED, result: 'Task cancelled: c-a', attempts: 1 });
  }
  expect(await r[1]!.client.cancelTask({ taskId: 'c-a' })).toEqual({ cancelled: false, status: TaskResponse_Status.CANCELLED });
  expect(await r[1]!.client.cancelTask({ taskId: 'nobody' })).toEqual({ cancelled: false, status: TaskResponse_Status.NOT_FOUND });
});

test('idempotency across replicas: one id submitted to all three at once runs once, every caller gets its result', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => `i-${i}`);
  const answers = await Promise.all(ids.flatMap((taskId) => r.map((replica) => replica.client.submitTask({ taskId, method: 'count_runs' }))));
  for (const answer of answers) expect(answer).toEqual({ taskId: answer.taskId, status: TaskResponse_Status.SUCCESS, result: `ran ${answer.taskId}`, attempts: 1 });
  for (const taskId of ids) expect(runs.get(taskId)).toBe(1);
  // Detached duplicates too; and a different request under a taken id is ALREADY_EXISTS on any replica.
  const detached = await Promise.all(r.map((replica) => replica.client.submitTask({ taskId: 'i-detached', method: 'count_runs', detached: true })));
  expect(detached.map((answer) => answer.taskId)).toEqual(['i-detached', 'i-detached', 'i-detached']);
  expect((await r[0]!.client.waitResult({ taskId: 'i-detached', timeoutMs: ms(5000) })).result).toBe('ran i-detached');
  expect(runs.get('i-detached')).toBe(1);
  const err = await expectGrpcError(r[2]!.client.submitTask({ taskId: 'i-0', method: 'ping' }));
  expect(err.code).toBe(Status.ALREADY_EXISTS);
  expect(err.details).toBe('Task already exists: i-0 (submitted with a different method)');
});

test('losing the race for an id while waiting for a dependency leaves no count behind', async () => {
  // A replica whose insert reaches Redis late, so that another replica takes the id in between.
  class LateInsertStore extends RedisResultStore {
    override async insert(record: TaskRecord): Promise<TaskRecord | undefined> {
      await sleep(150);
      return super.insert(record);
    }
  }
  const registry = createBuiltinRegistry();
  registry.register(countRuns);
  const late = await startTestServer(
    { libraryDir: '', workerThreads: 0 },
    { registry, results: new LateInsertStore({ url: redis.url, prefix, ttlMs: 600_000, leaseMs: 1_000 }) },
  );
  try {
    await r[0]!.client.submitTask({ taskId: 'q-dep', method: 'sleep', args: [toAny(400)], detached: true });
    const loser = late.client.submitTask({ taskId: 'q-task', method: 'count_runs', deps: ['q-dep'] });
    await sleep(50);
    const winner = r[1]!.client.submitTask({ taskId: 'q-task', method: 'count_runs', deps: ['q-dep'] });
    expect((await Promise.all([loser, winner])).map((answer) => answer.result)).toEqual(['ran q-task', 'ran q-task']);
    expect(runs.get('q-task')).toBe(1);
    expect(late.app.scheduler.stats()).toMatchObject({ inFlight: 0, pending: 0, waitingForDeps: 0 });
  } finally {
    await late.close();
  }
});

test('a blocking resubmit on another replica waits for the running task and gets its outcome', async () => {
  await r[0]!.client.submitTask({ taskId: 'rs-a', method: 'count_runs', detached: true });
  const again = await r[1]!.client.submitTask({ taskId: 'rs-a', method: 'count_runs' });
  expect(again.result).toBe('ran rs-a');
  expect(runs.get('rs-a')).toBe(1);
  await r[0]!.client.submitTask({ taskId: 'rs-f', method: 'fail', args: [toAny('boom')] }).catch(() => undefined);
  const replayed = await expectGrpcError(r[2]!.client.submitTask({ taskId: 'rs-f', method: 'fail', args: [toAny('boom')] }));
  expect(replayed.code).toBe(Status.INTERNAL);
  expect(replayed.details).toBe('Task execution failed: boom');
});

test('records expire by Redis TTL; terminal records keep their shape in Redis', async () => {
  const short = await startReplicas(1, redis.url, uniquePrefix('ttl'), { resultTtlSecs: 1 });
  try {
    await short[0]!.client.submitTask({ taskId: 'ttl-a', method: 'ping', args: [toAny('x')] });
    expect((await short[0]!.client.getResult({ taskId: 'ttl-a' })).result).toBe('pong: x');
    const direct = new Redis(redis.url);
    const keys = await direct.keys('ts-test-ttl-*t:ttl-a');
    expect(keys).toHaveLength(1);
    const pttl = await direct.pttl(keys[0]!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1000);
    direct.disconnect();
    await sleep(1300);
    expect((await short[0]!.client.getResult({ taskId: 'ttl-a' })).status).toBe(TaskResponse_Status.NOT_FOUND);
  } finally {
    await short[0]!.close();
  }
});

test('the README\'s client-side load balancing: grpc-js round_robin over a static list reaches every replica', async () => {
  const { client, close } = createTaskSchedulerClient(`ipv4:${r.map((replica) => replica.address).join(',')}`, {
    channelOptions: { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) },
  });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await client.submitTask({ method: 'sleep', args: [toAny(1_000)], detached: true })).taskId);
    // Each replica runs the tasks it accepted: all three hold some.
    for (const replica of r) expect(replica.app.scheduler.stats().inFlight).toBeGreaterThan(0);
    for (const taskId of ids) expect((await client.waitResult({ taskId, timeoutMs: ms(10_000) })).result).toBe('slept 1000 ms');
  } finally {
    close();
  }
});
