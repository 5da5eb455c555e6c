/** --max-concurrent-tasks and --max-queued-tasks over real gRPC: slots, FIFO waiting, the bounded queue, cancellation. */
import { toAny } from '../../src/args/encode-arg';
import type { AppConfig } from '../../src/app';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { startGatedServer, waitFor, ZERO_STATS, type Gates, type RecordingStore } from './lifecycle-helpers';

let server: TestServer;
let gates: Gates;
let store: RecordingStore;

async function start(config: Partial<AppConfig>): Promise<void> {
  ({ server, gates, store } = await startGatedServer(config));
}
afterEach(() => server.close());

/** Submits gate `name` detached (the id is the name). */
async function detachedGate(name: string, deps: string[] = []): Promise<void> {
  const res = await server.client.submitTask({ taskId: name, method: 'gate', args: [toAny(name)], deps, detached: true });
  expect(res.status).toBe(TaskResponse_Status.PENDING);
}

async function statusOf(taskId: string): Promise<TaskResponse_Status> {
  return (await server.client.getResult({ taskId })).status;
}

const waitForStarted = (names: string[]) =>
  waitFor(`started = ${names.join(',')}`, () => gates.started.join(',') === names.join(','));

const waitForIdle = () =>
  waitFor('scheduler stats back to zero', () => JSON.stringify(server.app.scheduler.stats()) === JSON.stringify(ZERO_STATS));

test('max 2: at most two run at once; the rest wait PENDING and start in submission order', async () => {
  await start({ maxConcurrentTasks: 2 });
  for (const name of ['a', 'b', 'c', 'd', 'e']) await detachedGate(name);
  await waitForStarted(['a', 'b']);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 5, pending: 3, running: 2, waitingForDeps: 0, waitingForSlot: 3 });
  expect(await statusOf('a')).toBe(TaskResponse_Status.RUNNING);
  for (const name of ['c', 'd', 'e']) expect(await statusOf(name)).toBe(TaskResponse_Status.PENDING);

  gates.open('b');
  await waitForStarted(['a', 'b', 'c']);
  gates.open('a');
  await waitForStarted(['a', 'b', 'c', 'd']);
  expect(await statusOf('e')).toBe(TaskResponse_Status.PENDING);
  gates.open('d');
  await waitForStarted(['a', 'b', 'c', 'd', 'e']);
  gates.open('c');
  gates.open('e');
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    expect(await server.client.waitResult({ taskId: name })).toEqual({ status: TaskResponse_Status.SUCCESS, result: `opened ${name}`, attempts: 1 });
  }
  expect(gates.maxRunning).toBe(2);
  expect(store.statuses('e')).toEqual(['PENDING', 'RUNNING', 'SUCCESS']);
  await waitForIdle();
});

test('a blocking caller beyond the limit waits for a slot, then gets its result', async () => {
  await start({ maxConcurrentTasks: 1 });
  await detachedGate('first');
  await waitForStarted(['first']);
  const second = server.client.submitTask({ taskId: 'second', method: 'sleep', args: [toAny(10)] });
  await waitFor('second waits for a slot', () => server.app.scheduler.stats().waitingForSlot === 1);
  expect(await statusOf('second')).toBe(TaskResponse_Status.PENDING);
  gates.open('first');
  expect(await second).toEqual({ taskId: 'second', status: TaskResponse_Status.SUCCESS, result: 'slept 10 ms', attempts: 1 });
  expect(store.statuses('second')).toEqual(['PENDING', 'RUNNING', 'SUCCESS']);
  await waitForIdle();
});

test('a task waiting for its dependencies holds no slot', async () => {
  await start({ maxConcurrentTasks: 2 });
  await detachedGate('a');
  await waitForStarted(['a']);
  for (const name of ['w1', 'w2', 'w3']) await detachedGate(name, ['a']);
  // Three tasks wait for `a`; the second slot is still free for an independent task.
  await detachedGate('b');
  await waitForStarted(['a', 'b']);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 5, pending: 3, running: 2, waitingForDeps: 3, waitingForSlot: 0 });

  gates.open('a'); // w1..w3 are ready, one slot is free
  await waitForStarted(['a', 'b', 'w1']);
  expect(server.app.scheduler.stats()).toMatchObject({ running: 2, waitingForSlot: 2 });
  gates.open('b');
  await waitForStarted(['a', 'b', 'w1', 'w2']);
  gates.open('w1');
  await waitForStarted(['a', 'b', 'w1', 'w2', 'w3']);
  gates.open('w2');
  gates.open('w3');
  expect(await server.client.waitResult({ taskId: 'w3' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'opened w3', attempts: 1 });
  expect(gates.maxRunning).toBe(2);
  await waitForIdle();
});

test('full queue: RESOURCE_EXHAUSTED "Too many tasks: " at once, blocking or detached, and nothing is recorded', async () => {
  await start({ maxConcurrentTasks: 1, maxQueuedTasks: 2 });
  await detachedGate('running');
  await waitForStarted(['running']);
  await detachedGate('q1');
  await detachedGate('q2');
  expect(server.app.scheduler.stats()).toMatchObject({ pending: 2, waitingForSlot: 2 });

  const began = Date.now();
  for (const detached of [true, false]) {
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'extra', method: 'sleep', args: [toAny(1)], detached }));
    expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/^Too many tasks: /);
    expect(await server.client.getResult({ taskId: 'extra' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
  }
  // Unknown-id and anonymous submissions are refused alike.
  const anonymous = await expectGrpcError(server.client.submitTask({ method: 'ping' }));
  expect(anonymous.code).toBe(Status.RESOURCE_EXHAUSTED);
  expect(Date.now() - began).toBeLessThan(3000);
  expect(store.statuses('extra')).toEqual([]);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 3, pending: 2, running: 1, waitingForDeps: 0, waitingForSlot: 2 });

  // Room again once the queue drains: the refused id is free.
  gates.open('running');
  await waitForStarted(['running', 'q1']);
  expect(await server.client.submitTask({ taskId: 'extra', method: 'ping', detached: true })).toMatchObject({ status: TaskResponse_Status.PENDING });
  gates.open('q1');
  await waitForStarted(['running', 'q1', 'q2']);
  gates.open('q2');
  expect(await server.client.waitResult({ taskId: 'extra' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
  await waitForIdle();
});

test('tasks waiting for dependencies have a bound of their own (--max-dependent-tasks); it never refuses independent work', async () => {
  await start({ maxConcurrentTasks: 0, maxQueuedTasks: 1, maxDependentTasks: 2 });
  await detachedGate('dep');
  await waitForStarted(['dep']);
  await detachedGate('child1', ['dep']);
  await detachedGate('child2', ['dep']);
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'child3', method: 'ping', deps: ['dep'] }));
  expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
  expect(err.details).toBe('Too many tasks: 2 tasks are already waiting for their dependencies (limit 2, --max-dependent-tasks); retry later');
  expect(await statusOf('child3')).toBe(TaskResponse_Status.NOT_FOUND);
  // Work without dependencies is still accepted, blocking and detached.
  expect(await server.client.submitTask({ method: 'ping' })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: 'pong' });
  expect(await server.client.submitTask({ taskId: 'free', method: 'ping', detached: true })).toMatchObject({ status: TaskResponse_Status.PENDING });
  expect(server.app.scheduler.stats()).toMatchObject({ waitingForDeps: 2 });

  // Resubmitting an accepted id is idempotent, not a new queue entry.
  const again = await server.client.submitTask({ taskId: 'child1', method: 'gate', args: [toAny('child1')], deps: ['dep'], detached: true });
  expect(again).toMatchObject({ taskId: 'child1', status: TaskResponse_Status.PENDING });

  gates.open('dep');
  await waitFor('both children run', () => gates.started.length === 3);
  gates.open('child1');
  gates.open('child2');
  expect(await server.client.waitResult({ taskId: 'child2' })).toMatchObject({ status: TaskResponse_Status.SUCCESS });
  await waitForIdle();
});

test('cancelling a task waiting for a slot: CANCELLED, never runs, frees its queue place; later tasks still run', async () => {
  await start({ maxConcurrentTasks: 1, maxQueuedTasks: 2 });
  await detachedGate('a');
  await waitForStarted(['a']);
  const blocked = expectGrpcError(server.client.submitTask({ taskId: 'b', method: 'gate', args: [toAny('b')] }));
  await waitFor('b waits for a slot', () => server.app.scheduler.stats().waitingForSlot === 1);
  await detachedGate('c');
  expect((await expectGrpcError(server.client.submitTask({ taskId: 'd', method: 'gate', args: [toAny('d')], detached: true }))).code)
    .toBe(Status.RESOURCE_EXHAUSTED);

  expect(await server.client.cancelTask({ taskId: 'b' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  const err = await blocked;
  expect(err.code).toBe(Status.CANCELLED);
  expect(err.details).toMatch(/^Task cancelled: b/);
  expect(await statusOf('b')).toBe(TaskResponse_Status.CANCELLED);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 2, pending: 1, running: 1, waitingForDeps: 0, waitingForSlot: 1 });

  await detachedGate('d'); // b's place is free again
  gates.open('a');
  await waitForStarted(['a', 'c']);
  gates.open('c');
  await waitForStarted(['a', 'c', 'd']);
  gates.open('d');
  expect(await server.client.waitResult({ taskId: 'd' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'opened d', attempts: 1 });
  expect(store.statuses('b')).toEqual(['PENDING', 'CANCELLED']);
  expect(gates.started).not.toContain('b');
  await waitForIdle();
});

test('cancelling waiting and running tasks in any order keeps the slot count right', async () => {
  await start({ maxConcurrentTasks: 2 });
  const names = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];
  for (const name of names) await detachedGate(name);
  await waitForStarted(['t0', 't1']);
  for (const name of ['t3', 't2', 't7']) expect((await server.client.cancelTask({ taskId: name })).cancelled).toBe(true);
  expect((await server.client.cancelTask({ taskId: 't0' })).cancelled).toBe(true); // running: its slot goes to t4
  await waitForStarted(['t0', 't1', 't4']);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 4, pending: 2, running: 2, waitingForDeps: 0, waitingForSlot: 2 });
  expect((await server.client.cancelTask({ taskId: 't5' })).cancelled).toBe(true);
  gates.open('t1');
  await waitForStarted(['t0', 't1', 't4', 't6']);
  gates.open('t4');
  gates.open('t6');
  await waitForIdle();
  expect(gates.maxRunning).toBe(2);
  const finals = await Promise.all(names.map(async (name) => (await server.client.getResult({ taskId: name })).status));
  const C = TaskResponse_Status.CANCELLED;
  const S = TaskResponse_Status.SUCCESS;
  expect(finals).toEqual([C, S, C, C, S, C, S, C]);
  // Both slots are free: two tasks run at once straight away.
  await detachedGate('x');
  await detachedGate('y');
  await waitFor('x and y both run', () => gates.running === 2);
});

test('0 = unlimited: every task runs at once', async () => {
  await start({ maxConcurrentTasks: 0 });
  const names = Array.from({ length: 20 }, (_, i) => `u${i}`);
  for (const name of names) await detachedGate(name);
  await waitFor('all 20 run', () => gates.running === 20);
  expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 20, pending: 0, running: 20, waitingForDeps: 0, waitingForSlot: 0 });
  for (const name of names) gates.open(name);
  await waitForIdle();
});

test('the queue bound counts only waiting tasks: a burst of detached submits with free slots is all accepted', async () => {
  await start({ maxQueuedTasks: 1, maxConcurrentTasks: 0 });
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => server.client.submitTask({ taskId: `burst-${i}`, method: 'gate', args: [toAny(`burst-${i}`)], detached: true })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(10).fill(TaskResponse_Status.PENDING));
  await waitFor('all ten run', () => gates.started.length === 10);
  for (let i = 0; i < 10; i++) gates.open(`burst-${i}`);
  await waitForIdle();
});
