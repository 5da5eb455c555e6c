/** Graceful shutdown (`app.close()`, what SIGINT/SIGTERM call): drain, grace period, cancellation, server stop. */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { buildApp, createBuiltinRegistry, type AppConfig } from '../../src/app';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { RecordingStore, startGatedServer, waitFor, ZERO_STATS, type Gates } from './lifecycle-helpers';

let server: TestServer;
let gates: Gates;
let store: RecordingStore;

async function start(config: Partial<AppConfig>): Promise<void> {
  ({ server, gates, store } = await startGatedServer(config));
}
afterEach(() => server.close());

/** Starts closing and notes when it is done. */
function beginClose(): { done: Promise<number>; finished(): boolean } {
  let finished = false;
  const began = Date.now();
  const done = server.app.close().then(() => {
    finished = true;
    return Date.now() - began;
  });
  return { done, finished: () => finished };
}

const isRunning = (taskId: string) => async () => (await server.client.getResult({ taskId })).status === TaskResponse_Status.RUNNING;

test('draining: new submissions get UNAVAILABLE "Shutting down"; a running task finishes and close waits for it', async () => {
  await start({ shutdownGraceMs: 60_000 });
  const running = server.client.submitTask({ taskId: 'g', method: 'gate', args: [toAny('g')] });
  await waitFor('g runs', () => gates.started.includes('g'));
  const closing = beginClose();

  for (const detached of [false, true]) {
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'late', method: 'ping', detached }));
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(err.details).toBe('Shutting down');
  }
  expect(await server.client.getResult({ taskId: 'late' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
  expect(await server.client.getResult({ taskId: 'g' })).toEqual({ status: TaskResponse_Status.RUNNING, result: '', attempts: 1 });
  expect(closing.finished()).toBe(false);

  const opened = Date.now();
  gates.open('g');
  expect(await running).toEqual({ taskId: 'g', status: TaskResponse_Status.SUCCESS, result: 'opened g', attempts: 1 });
  await closing.done;
  // Done as soon as the last task finished, not at the end of the 60 s grace period.
  expect(Date.now() - opened).toBeLessThan(5000);
  expect(store.statuses('g')).toEqual(['PENDING', 'RUNNING', 'SUCCESS']);
  expect(server.app.scheduler.stats()).toEqual(ZERO_STATS);
});

test('after the grace period the rest is cancelled: callers get UNAVAILABLE "Shutting down…", records CANCELLED', async () => {
  await start({ shutdownGraceMs: 300, maxConcurrentTasks: 1 });
  const slow = expectGrpcError(server.client.submitTask({ taskId: 'slow', method: 'sleep', args: [toAny(60_000)] }));
  await waitFor('slow runs', isRunning('slow'));
  const sameAgain = expectGrpcError(server.client.submitTask({ taskId: 'slow', method: 'sleep', args: [toAny(60_000)] }));
  const queued = expectGrpcError(server.client.submitTask({ taskId: 'queued', method: 'sleep', args: [toAny(10)] }));
  await waitFor('queued waits for a slot', () => server.app.scheduler.stats().waitingForSlot === 1);
  const child = expectGrpcError(server.client.submitTask({ taskId: 'child', method: 'ping', deps: ['slow'] }));
  await waitFor('child waits for slow', () => server.app.scheduler.stats().pending === 2);
  const polled = server.client.waitResult({ taskId: 'child', timeoutMs: Long.fromNumber(25_000, true) });

  const closing = beginClose();
  for (const [taskId, call] of [['slow', slow], ['slow', sameAgain], ['queued', queued], ['child', child]] as const) {
    const err = await call;
    expect({ taskId, code: err.code }).toEqual({ taskId, code: Status.UNAVAILABLE });
    expect(err.details).toMatch(/^Shutting down/);
    expect(err.details).toContain(taskId);
  }
  expect(await polled).toMatchObject({ status: TaskResponse_Status.CANCELLED });
  expect(await closing.done).toBeLessThan(5000);

  expect(store.statuses('slow')).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
  expect(store.statuses('queued')).toEqual(['PENDING', 'CANCELLED']);
  expect(store.statuses('child')).toEqual(['PENDING', 'CANCELLED']);
  const record = await store.get('slow');
  expect(record?.failure?.code).toBe(Status.UNAVAILABLE);
  expect(server.app.scheduler.stats()).toEqual(ZERO_STATS);
  expect(store.closed).toBe(true);
});

test('the grace period is honoured: a task that finishes within it succeeds, a longer one is cancelled at its end', async () => {
  await start({ shutdownGraceMs: 1500 });
  const events: string[] = [];
  const quick = server.client.submitTask({ taskId: 'quick', method: 'sleep', args: [toAny(200)] }).finally(() => events.push('quick'));
  const long = expectGrpcError(server.client.submitTask({ taskId: 'long', method: 'sleep', args: [toAny(60_000)] })).finally(() => events.push('long'));
  await waitFor('both run', async () => (await isRunning('quick')()) && (await isRunning('long')()));

  const closing = beginClose();
  expect(await quick).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: 'slept 200 ms' });
  const err = await long;
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toMatch(/^Shutting down/);
  const ms = await closing.done;
  expect(events).toEqual(['quick', 'long']);
  // Not cut short (timers never fire early), and not held much past the grace period.
  expect(ms).toBeGreaterThanOrEqual(1400);
  expect(ms).toBeLessThan(6000);
  expect(store.statuses('long')).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
});

test('a task that never settles cannot hold shutdown past the grace period', async () => {
  store = new RecordingStore();
  server = await startTestServer({ libraryDir: 'test/fixtures/fault-plugins', workerThreads: 0, shutdownGraceMs: 200 }, { registry: createBuiltinRegistry(), results: store });
  const stuck = expectGrpcError(server.client.submitTask({ taskId: 'stuck', method: 'faults::never_settles' }));
  const detached = await server.client.submitTask({ taskId: 'stuck2', method: 'faults::never_settles', detached: true });
  expect(detached.status).toBe(TaskResponse_Status.PENDING);
  await waitFor('both run', async () => (await isRunning('stuck')()) && (await isRunning('stuck2')()));
  const polled = server.client.waitResult({ taskId: 'stuck2', timeoutMs: Long.fromNumber(25_000, true) });

  const closing = beginClose();
  const err = await stuck;
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toMatch(/^Shutting down/);
  expect(await polled).toMatchObject({ status: TaskResponse_Status.CANCELLED });
  expect(await closing.done).toBeLessThan(3000);
  expect(store.statuses('stuck')).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
  expect(store.statuses('stuck2')).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
});

test('a CPU-bound task spinning in a worker thread cannot hold shutdown either', async () => {
  store = new RecordingStore();
  server = await startTestServer({ libraryDir: 'test/fixtures/fault-plugins', workerThreads: 1, shutdownGraceMs: 200 }, { registry: createBuiltinRegistry(), results: store });
  const spinning = expectGrpcError(server.client.submitTask({ taskId: 'spin', method: 'faults::spin_in_worker', args: [toAny(60_000)] }));
  await waitFor('spin runs', isRunning('spin'));
  // The main thread stays free while the worker spins.
  expect((await server.client.submitTask({ method: 'ping' })).result).toBe('pong');

  const closing = beginClose();
  const err = await spinning;
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toMatch(/^Shutting down/);
  expect(await closing.done).toBeLessThan(5000);
  expect(store.statuses('spin')).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
});

test('closing stops the gRPC server at once when idle, and the port can be bound again straight away', async () => {
  await start({ shutdownGraceMs: 60_000 });
  expect((await server.client.submitTask({ method: 'ping' })).result).toBe('pong');
  const closing = beginClose();
  expect(await closing.done).toBeLessThan(3000);

  const refused = await expectGrpcError(server.client.submitTask({ method: 'ping' }));
  expect(refused.code).toBe(Status.UNAVAILABLE);

  const again = buildApp({ libraryDir: '', workerThreads: 0 }, { registry: createBuiltinRegistry() });
  expect(await again.server.listen(server.address)).toBe(server.address);
  // Own subchannel pool: the shared one is in reconnect backoff after the refused call above.
  const connection = createTaskSchedulerClient(server.address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  try {
    expect((await connection.client.submitTask({ method: 'ping', args: [toAny('again')] })).result).toBe('pong: again');
  } finally {
    connection.close();
    await again.close();
  }
});

test('nothing starts during the drain: a task queued for a slot is cancelled at once, the running one finishes', async () => {
  await start({ maxConcurrentTasks: 1, shutdownGraceMs: 60_000 });
  await server.client.submitTask({ taskId: 'first', method: 'gate', args: [toAny('first')], detached: true });
  await waitFor('first runs', () => gates.started.includes('first'));
  const queued = expectGrpcError(server.client.submitTask({ taskId: 'queued', method: 'gate', args: [toAny('queued')] }));
  await waitFor('queued waits for the slot', () => server.app.scheduler.stats().waitingForSlot === 1);
  const closing = beginClose();
  const err = await queued;
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toMatch(/^Shutting down: task 'queued' was cancelled before it finished/);
  gates.open('first');
  await closing.done;
  expect(gates.started).toEqual(['first']);
  expect(store.statuses('queued')).toEqual(['PENDING', 'CANCELLED']);
  expect(store.statuses('first')).toEqual(['PENDING', 'RUNNING', 'SUCCESS']);
});
