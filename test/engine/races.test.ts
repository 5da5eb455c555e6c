/** Races the lifecycle must win: cancel while waiting on deps, finishing at the timeout, duplicate submits. */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { ClientError, expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

const ms = (n: number): Long => Long.fromNumber(n, true);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test('cancel while waiting on dependencies: CANCELLED at once; the dependency finishing later changes nothing', async () => {
  await server.client.submitTask({ taskId: 'race-dep', method: 'sleep', args: [toAny(2_000)], detached: true });
  const waiting = expectGrpcError(server.client.submitTask({ taskId: 'race-waiter', method: 'ping', deps: ['race-dep'] }));
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect((await server.client.getResult({ taskId: 'race-waiter' })).status).toBe(TaskResponse_Status.PENDING);
  expect(await server.client.cancelTask({ taskId: 'race-waiter' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  const err = await waiting;
  expect(err.code).toBe(Status.CANCELLED);
  expect(err.details).toBe('Task cancelled: race-waiter');
  expect((await server.client.waitResult({ taskId: 'race-dep', timeoutMs: ms(10_000) })).status).toBe(TaskResponse_Status.SUCCESS);
  expect(await server.client.getResult({ taskId: 'race-waiter' })).toEqual({ status: TaskResponse_Status.CANCELLED, result: 'Task cancelled: race-waiter', attempts: 0 });
});

test('finishing exactly at the execution timeout: one outcome, the same for the caller and the record', async () => {
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      server.client.submitTask({ taskId: `edge-${i}`, method: 'sleep', args: [toAny(50)], executionTimeoutMs: ms(50) }).then(
        (res) => ({ taskId: res.taskId, status: res.status }),
        (err: ClientError) => ({ taskId: `edge-${i}`, status: err.code === Status.DEADLINE_EXCEEDED ? TaskResponse_Status.FAILED : -1 }),
      ),
    ),
  );
  for (const outcome of outcomes) {
    expect([TaskResponse_Status.SUCCESS, TaskResponse_Status.FAILED]).toContain(outcome.status);
    expect((await server.client.getResult({ taskId: outcome.taskId })).status).toBe(outcome.status);
  }
});

test('cancel racing completion: cancelled=true means CANCELLED everywhere, false means it had finished', async () => {
  for (let i = 0; i < 10; i++) {
    const taskId = `cancel-race-${i}`;
    const call = server.client.submitTask({ taskId, method: 'sleep', args: [toAny(20)] }).then(
      (res) => res.status,
      (err: ClientError) => (err.code === Status.CANCELLED ? TaskResponse_Status.CANCELLED : -1),
    );
    await new Promise((resolve) => setTimeout(resolve, 15 + (i % 5) * 2));
    const cancel = await server.client.cancelTask({ taskId });
    const status = await call;
    expect(cancel.status).toBe(status);
    expect(cancel.cancelled).toBe(status === TaskResponse_Status.CANCELLED);
    expect((await server.client.getResult({ taskId })).status).toBe(status);
  }
});

test('many duplicate submits of one id, blocking and detached, while it runs: one run, one outcome', async () => {
  const calls = Array.from({ length: 30 }, (_, i) =>
    server.client.submitTask({ taskId: 'dup-storm', method: 'sleep', args: [toAny(100)], detached: i % 2 === 0 }),
  );
  const answers = await Promise.all(calls);
  const blocking = answers.filter((_, i) => i % 2 === 1);
  expect(new Set(blocking.map((a) => `${a.status}:${a.result}`))).toEqual(new Set([`${TaskResponse_Status.SUCCESS}:slept 100 ms`]));
  for (const detached of answers.filter((_, i) => i % 2 === 0)) {
    expect([TaskResponse_Status.PENDING, TaskResponse_Status.RUNNING, TaskResponse_Status.SUCCESS]).toContain(detached.status);
  }
  expect(server.app.scheduler.stats().inFlight).toBe(0);
});

test('WaitResult subscribed just before the finish still wakes (no lost wake-up)', async () => {
  for (let i = 0; i < 10; i++) {
    const taskId = `wake-${i}`;
    await server.client.submitTask({ taskId, method: 'sleep', args: [toAny(30)], detached: true });
    await new Promise((resolve) => setTimeout(resolve, 25));
    const started = Date.now();
    expect((await server.client.waitResult({ taskId, timeoutMs: ms(10_000) })).status).toBe(TaskResponse_Status.SUCCESS);
    expect(Date.now() - started).toBeLessThan(2000);
  }
});

test('a DAG submitted detached in topological order is awaited at its sink', async () => {
  //   a → b, a → c, (b, c) → d
  await server.client.submitTask({ taskId: 'dag-a', method: 'concat', args: [toAny('a')], detached: true });
  await server.client.submitTask({ taskId: 'dag-b', method: 'concat', args: [toAny('b')], deps: ['dag-a'], injectDependencyResults: true, detached: true });
  await server.client.submitTask({ taskId: 'dag-c', method: 'concat', args: [toAny('c')], deps: ['dag-a'], injectDependencyResults: true, detached: true });
  await server.client.submitTask({ taskId: 'dag-d', method: 'concat', args: [toAny('d')], deps: ['dag-b', 'dag-c'], injectDependencyResults: true, detached: true });
  expect(await server.client.waitResult({ taskId: 'dag-d', timeoutMs: ms(5000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'abacd', attempts: 1 });
});
