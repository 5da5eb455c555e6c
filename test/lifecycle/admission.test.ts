/**
 * Admission over real gRPC: each bound on accepted, unfinished work refuses with its exact
 * RESOURCE_EXHAUSTED message and records nothing (--max-queued-tasks, --max-dependent-tasks,
 * --max-unfinished-bytes); dependents cannot crowd out independent work (their own count bound, at
 * most half the bytes); bytes are charged exactly as `taskCharge` says and all come back when tasks
 * end, however they end.
 */
import Long from 'long';
import { arg, type ArgValue } from '../../src/args/arg-value';
import { canonicalJson } from '../../src/args/canonical-json';
import { toAny } from '../../src/args/encode-arg';
import type { AppConfig } from '../../src/app';
import { taskCharge } from '../../src/engine/admission';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { startGatedServer, waitFor, ZERO_STATS, type Gates } from './lifecycle-helpers';

let server: TestServer;
let gates: Gates;

async function start(config: Partial<AppConfig>): Promise<void> {
  ({ server, gates } = await startGatedServer(config));
}
afterEach(() => server.close());

const NOT_FOUND = { status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 };

/** The `gate` task `name` (its id), with `padChars` characters of padding in a second argument. */
function gateArgs(name: string, padChars: number): ArgValue[] {
  return padChars > 0 ? [arg.string(name), arg.string('p'.repeat(padChars))] : [arg.string(name)];
}

/** What admission charges for that gate task. */
function gateCharge(name: string, padChars = 0, deps: string[] = []): number {
  return taskCharge(canonicalJson(gateArgs(name, padChars)), deps, name.length);
}

/** Submits gate `name` detached; expects it accepted. */
async function detachedGate(name: string, padChars = 0, deps: string[] = []): Promise<void> {
  const args = gateArgs(name, padChars).map((value) => toAny(value.value as string));
  const res = await server.client.submitTask({ taskId: name, method: 'gate', args, deps, detached: true });
  expect(res).toEqual({ taskId: name, status: TaskResponse_Status.PENDING, result: '', attempts: 0 });
}

/** Submits gate `name` detached; expects RESOURCE_EXHAUSTED and returns its message. Nothing is recorded. */
async function refusedGate(name: string, padChars = 0, deps: string[] = []): Promise<string> {
  const args = gateArgs(name, padChars).map((value) => toAny(value.value as string));
  const err = await expectGrpcError(server.client.submitTask({ taskId: name, method: 'gate', args, deps, detached: true }));
  expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
  expect(await server.client.getResult({ taskId: name })).toEqual(NOT_FOUND);
  return err.details;
}

const bytes = () => server.app.scheduler.stats().unfinishedBytes;

const waitForIdle = () =>
  waitFor('scheduler stats back to zero', () => JSON.stringify(server.app.scheduler.stats()) === JSON.stringify(ZERO_STATS));

test('--max-queued-tasks: RESOURCE_EXHAUSTED naming the count, the limit and the flag', async () => {
  await start({ maxConcurrentTasks: 1, maxQueuedTasks: 2 });
  await detachedGate('running');
  await waitFor('running runs', () => gates.started.includes('running'));
  await detachedGate('q1');
  await detachedGate('q2');
  expect(await refusedGate('q3')).toBe('Too many tasks: 2 tasks are already waiting for a slot (limit 2, --max-queued-tasks); retry later');
  const blocking = await expectGrpcError(server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] }));
  expect(blocking.details).toBe('Too many tasks: 2 tasks are already waiting for a slot (limit 2, --max-queued-tasks); retry later');
  // Tasks that will wait for dependencies do not take a slot's queue place.
  await detachedGate('child', 0, ['running']);
  for (const name of ['running', 'q1', 'q2']) {
    await waitFor(`${name} runs`, () => gates.started.includes(name));
    gates.open(name);
  }
  await waitFor('child runs', () => gates.started.includes('child'));
  gates.open('child');
  await waitForIdle();
});

test('--max-dependent-tasks: a flood of dependents of a task that never finishes refuses only more dependents', async () => {
  await start({ maxDependentTasks: 50, maxQueuedTasks: 10 });
  await detachedGate('never');
  await waitFor('never runs', () => gates.started.includes('never'));
  for (let i = 0; i < 50; i++) await detachedGate(`dep-${i}`, 0, ['never']);
  expect(server.app.scheduler.stats()).toMatchObject({ waitingForDeps: 50, running: 1 });
  expect(await refusedGate('dep-50', 0, ['never'])).toBe('Too many tasks: 50 tasks are already waiting for their dependencies (limit 50, --max-dependent-tasks); retry later');
  const blockingDependent = await expectGrpcError(server.client.submitTask({ method: 'ping', deps: ['never'] }));
  expect([blockingDependent.code, blockingDependent.details]).toEqual([Status.RESOURCE_EXHAUSTED, 'Too many tasks: 50 tasks are already waiting for their dependencies (limit 50, --max-dependent-tasks); retry later']);

  // Independent work is still accepted: a blocking add, a detached task, and a task whose dependencies
  // have all succeeded (it does not wait).
  expect(await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: '3' });
  expect(await server.client.submitTask({ taskId: 'free', method: 'ping', detached: true })).toMatchObject({ status: TaskResponse_Status.PENDING });
  expect(await server.client.waitResult({ taskId: 'free', timeoutMs: Long.fromNumber(5_000, true) })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: 'pong' });
  expect(await server.client.submitTask({ method: 'ping', deps: ['free'] })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: 'pong' });

  // The dependency fails (cancelled): every dependent fails, and every byte comes back.
  expect(await server.client.cancelTask({ taskId: 'never' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  await waitForIdle();
  expect(await server.client.getResult({ taskId: 'dep-49' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'Dependency failed: never', attempts: 0 });
});

test('--max-unfinished-bytes: charges add up exactly; beyond the bound RESOURCE_EXHAUSTED, room again when a task ends', async () => {
  const pad = 4_000;
  const one = gateCharge('b0', pad);
  const small = gateCharge('s');
  const limit = 3 * one + small;
  await start({ maxUnfinishedBytes: limit });
  for (const name of ['b0', 'b1', 'b2']) await detachedGate(name, pad);
  expect(bytes()).toBe(3 * one);
  expect(await refusedGate('b3', pad)).toBe(`Too many tasks: unfinished tasks hold ${3 * one} bytes; this one (${one}) would pass the limit of ${limit} bytes (--max-unfinished-bytes); retry later`);
  // A small task still fits in what is left, exactly; then nothing does.
  await detachedGate('s');
  expect(bytes()).toBe(limit);
  expect(await refusedGate('t')).toBe(`Too many tasks: unfinished tasks hold ${limit} bytes; this one (${gateCharge('t')}) would pass the limit of ${limit} bytes (--max-unfinished-bytes); retry later`);
  // A blocking inline task that runs to its end within its call holds its bytes only meanwhile: not
  // refused (detached work filling the bound must not lock out every blocking add).
  expect(await server.client.submitTask({ method: 'ping' })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: 'pong' });
  expect(bytes()).toBe(limit);
  // The same task under a client-chosen id is recorded (it could outlive the call): refused.
  const blocking = await expectGrpcError(server.client.submitTask({ taskId: 'kept', method: 'ping' }));
  expect([blocking.code, blocking.details.startsWith(`Too many tasks: unfinished tasks hold ${limit} bytes; `)]).toEqual([Status.RESOURCE_EXHAUSTED, true]);

  await waitFor('b0 runs', () => gates.started.includes('b0'));
  gates.open('b0');
  await waitFor('b0 bytes come back', () => bytes() === 2 * one + small);
  await detachedGate('b3', pad);
  expect(bytes()).toBe(limit);
  for (const name of ['b1', 'b2', 'b3', 's']) {
    await waitFor(`${name} runs`, () => gates.started.includes(name));
    gates.open(name);
  }
  await waitForIdle();
});

test('tasks waiting for dependencies may hold at most half the bytes; independent tasks still get the rest', async () => {
  const pad = 4_000;
  const one = gateCharge('w0', pad, ['root']);
  const root = gateCharge('root');
  const limit = 2 * (2 * one + 50);
  await start({ maxUnfinishedBytes: limit });
  await detachedGate('root');
  await waitFor('root runs', () => gates.started.includes('root'));
  await detachedGate('w0', pad, ['root']);
  await detachedGate('w1', pad, ['root']);
  expect(bytes()).toBe(root + 2 * one);
  expect(await refusedGate('w2', pad, ['root'])).toBe(
    `Too many tasks: tasks waiting for their dependencies hold ${2 * one} bytes; this one (${one}) would pass half the limit of ${limit} bytes (--max-unfinished-bytes); retry later`,
  );
  // The same task without the dependency fits.
  await detachedGate('i0', pad);
  expect(bytes()).toBe(root + 2 * one + gateCharge('i0', pad));
  gates.open('root');
  for (const name of ['w0', 'w1', 'i0']) {
    await waitFor(`${name} runs`, () => gates.started.includes(name));
    gates.open(name);
  }
  await waitForIdle();
});

test('bytes come back however a task ends: success, failure, cancel while waiting or running, retries, a failed dependency', async () => {
  await start({});
  expect(bytes()).toBe(0);
  // Blocking tasks: success, failure, failure after retries.
  expect((await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
  expect((await expectGrpcError(server.client.submitTask({ method: 'fail', args: [toAny('no')] }))).code).toBe(Status.INTERNAL);
  const retried = await expectGrpcError(server.client.submitTask({
    taskId: 'retried', method: 'fail', args: [toAny('again')], retryPolicy: { maxAttempts: 3, initialBackoffMs: Long.fromNumber(5, true) },
  }));
  expect(retried.details).toBe('Task execution failed: again');
  expect(bytes()).toBe(0);

  // Cancelled while running, while waiting for a dependency, and while waiting for a retry.
  await detachedGate('run');
  await detachedGate('child', 1_000, ['run']);
  await server.client.submitTask({ taskId: 'backoff', method: 'fail', args: [toAny('later')], retryPolicy: { maxAttempts: 3, initialBackoffMs: Long.fromNumber(60_000, true) }, detached: true });
  await waitFor('backoff waits for its retry', async () => (await server.client.getResult({ taskId: 'backoff' })).attempts === 1);
  expect(bytes()).toBe(gateCharge('run') + gateCharge('child', 1_000, ['run']) + taskCharge(canonicalJson([arg.string('later')]), [], 'backoff'.length));
  expect((await server.client.cancelTask({ taskId: 'backoff' })).cancelled).toBe(true);
  expect((await server.client.cancelTask({ taskId: 'child' })).cancelled).toBe(true);
  expect(bytes()).toBe(gateCharge('run'));
  // A dependent of a task that then fails.
  await detachedGate('orphan', 0, ['run']);
  expect((await server.client.cancelTask({ taskId: 'run' })).cancelled).toBe(true);
  await waitForIdle();
  expect(await server.client.getResult({ taskId: 'orphan' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'Dependency failed: run', attempts: 0 });
});
