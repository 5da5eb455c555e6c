/**
 * Retry policies over real gRPC: which policy applies, what is retried and what never is, attempts in
 * answers and in the task's context, backoff timing, the record's attempt errors, idempotency and
 * validation. Tasks that fail on purpose are registered here (inline and async: they note every
 * attempt) and in the fixture plugin `test/fixtures/retry-plugins/retries.js` (worker threads,
 * plugin registration defaults, `api.PermanentError`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { createBuiltinRegistry, type AppConfig } from '../../src/app';
import { InvalidArgumentsError, PermanentError } from '../../src';
import { loadPlugin } from '../../src/plugins/load-plugins';
import { MAX_ATTEMPT_ERRORS, type TaskRecord } from '../../src/results/task-record';
import { asyncTask, syncTask, TaskRegistry } from '../../src/tasks/task-registry';
import { TaskResponse_Status, type RetryPolicy } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { RecordingStore, waitFor, ZERO_STATS } from '../lifecycle/lifecycle-helpers';

jest.setTimeout(30_000);

/** A uint64 milliseconds field. */
const ms = (n: number): Long => Long.fromNumber(n, true);

/** A request's retry policy (all fields as the client writes them; 0 = default). */
function policy(maxAttempts: number, initialBackoffMs = 10, maxBackoffMs = 0, backoffMultiplier = 0): RetryPolicy {
  return { maxAttempts, initialBackoffMs: ms(initialBackoffMs), maxBackoffMs: ms(maxBackoffMs), backoffMultiplier };
}

/** When each attempt of a task (by id) began, as the task itself saw it. */
interface Attempt {
  readonly attempt: number;
  readonly at: number;
}

/**
 * The tasks of these tests, registered in `registry`; `seen` collects every attempt of the inline and
 * async ones. args[0] (int32) is how many attempts fail before one succeeds.
 */
class RetryTasks {
  readonly seen = new Map<string, Attempt[]>();
  readonly #held = new Map<string, { resolve(result: string): void; reject(err: Error): void }>();

  constructor(registry: TaskRegistry) {
    const note = (taskId: string, attempt: number) => {
      const list = this.seen.get(taskId) ?? [];
      list.push({ attempt, at: Date.now() });
      this.seen.set(taskId, list);
    };
    const failing = (args: readonly { kind: string; value?: unknown }[]) => (args[0]?.kind === 'int32' ? (args[0].value as number) : 0);

    syncTask(function flaky(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      if (ctx.attempt <= failing(args)) throw new Error(`attempt ${ctx.attempt} failed`);
      return `ok on attempt ${ctx.attempt}`;
    }, { registry });
    asyncTask(async function flaky_async(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (ctx.attempt <= failing(args)) throw new Error(`async attempt ${ctx.attempt} failed`);
      return `ok on attempt ${ctx.attempt}`;
    }, { registry });
    syncTask(function flaky_registered(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      if (ctx.attempt <= failing(args)) throw new Error(`attempt ${ctx.attempt} failed`);
      return `ok on attempt ${ctx.attempt}`;
    }, { registry, retry: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 10 } });
    asyncTask(async function flaky_registered_async(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      if (ctx.attempt <= failing(args)) throw new Error(`async attempt ${ctx.attempt} failed`);
      return `ok on attempt ${ctx.attempt}`;
    }, { registry, retry: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 10 } });
    syncTask(function permanent(_args, ctx) {
      note(ctx.taskId, ctx.attempt);
      throw new PermanentError('the account is closed');
    }, { registry, retry: { maxAttempts: 5, initialBackoffMs: 10 } });
    asyncTask(async function permanent_async(_args, ctx) {
      note(ctx.taskId, ctx.attempt);
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new PermanentError('the account is closed (async)');
    }, { registry, retry: { maxAttempts: 5, initialBackoffMs: 10 } });
    syncTask(function invalid(_args, ctx) {
      note(ctx.taskId, ctx.attempt);
      throw new InvalidArgumentsError('invalid expects nothing it can use');
    }, { registry, retry: { maxAttempts: 5, initialBackoffMs: 10 } });
    // Sleeps args[1] ms on its failing attempts (aborted by a timeout or a cancel), else answers at once.
    asyncTask(function slow_until(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      if (ctx.attempt > failing(args)) return Promise.resolve(`ok on attempt ${ctx.attempt}`);
      const sleepMs = args[1]?.kind === 'int32' ? args[1].value : 60_000;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => resolve(`slept on attempt ${ctx.attempt}`), sleepMs);
        ctx.onAbort((reason) => {
          clearTimeout(timer);
          reject(reason as Error);
        });
      });
    }, { registry });
    // Blocks the main thread args[1] ms on its failing attempts: an inline task overruns its timeout.
    syncTask(function overrun_inline(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      if (ctx.attempt <= failing(args)) {
        const end = Date.now() + (args[1]?.kind === 'int32' ? args[1].value : 100);
        while (Date.now() < end) { /* block */ }
      }
      return `ok on attempt ${ctx.attempt}`;
    }, { registry });
    syncTask(function long_error(args, ctx) {
      note(ctx.taskId, ctx.attempt);
      throw new Error(`${ctx.attempt}:${'x'.repeat(args[0]?.kind === 'int32' ? args[0].value : 5000)}`);
    }, { registry });
    // Each attempt waits until the test settles it (see settle()) or the attempt is aborted.
    const held = this.#held;
    asyncTask(function hold(_args, ctx) {
      note(ctx.taskId, ctx.attempt);
      const key = `${ctx.taskId}#${ctx.attempt}`;
      return new Promise<string>((resolve, reject) => {
        held.set(key, { resolve, reject });
        ctx.onAbort((reason) => {
          held.delete(key);
          reject(reason as Error);
        });
      });
    }, { registry });
  }

  /** Attempt numbers of `taskId` seen so far. */
  attempts(taskId: string): number[] {
    return (this.seen.get(taskId) ?? []).map((entry) => entry.attempt);
  }

  /** Waits until attempt `attempt` of the `hold` task `taskId` runs. */
  held(taskId: string, attempt: number): Promise<void> {
    return waitFor(`hold ${taskId} attempt ${attempt}`, () => this.#held.has(`${taskId}#${attempt}`));
  }

  /** Ends attempt `attempt` of the `hold` task `taskId`: with `result`, or failing with `error` (a PermanentError for `permanent`). */
  settle(taskId: string, attempt: number, outcome: { result: string } | { error: string } | { permanent: string }): void {
    const key = `${taskId}#${attempt}`;
    const waiting = this.#held.get(key);
    if (!waiting) throw new Error(`hold ${key} is not running`);
    this.#held.delete(key);
    if ('result' in outcome) waiting.resolve(outcome.result);
    else if ('error' in outcome) waiting.reject(new Error(outcome.error));
    else waiting.reject(new PermanentError(outcome.permanent));
  }
}

/** A real server with the retry tasks and the fixture plugin, 2 worker threads, a recording store. */
async function startRetryServer(config: Partial<AppConfig> = {}): Promise<{ server: TestServer; tasks: RetryTasks; store: RecordingStore }> {
  const registry = createBuiltinRegistry();
  const tasks = new RetryTasks(registry);
  const store = new RecordingStore();
  const server = await startTestServer({ libraryDir: 'test/fixtures/retry-plugins', workerThreads: 2, workerMaxMemoryMb: 64, ...config }, { registry, results: store });
  return { server, tasks, store };
}

let server: TestServer;
let tasks: RetryTasks;
let store: RecordingStore;
beforeAll(async () => {
  ({ server, tasks, store } = await startRetryServer());
});
afterAll(() => server.close());

/** A SubmitTask request as the client takes it (fields may be left out). */
type SubmitTaskRequest = Parameters<TestServer['client']['submitTask']>[0];

/** Submits and expects the call to fail; returns code and message. */
async function failure(request: SubmitTaskRequest): Promise<{ code: Status; details: string }> {
  const err = await expectGrpcError(server.client.submitTask(request));
  return { code: err.code, details: err.details };
}

async function result(taskId: string) {
  return server.client.getResult({ taskId });
}

/** The full record, in-process (attempt errors are not on the wire yet). */
async function record(taskId: string): Promise<TaskRecord> {
  const found = await server.app.scheduler.getResult(taskId);
  if (!found) throw new Error(`no record of ${taskId}`);
  return found;
}

const waitForIdle = (target: TestServer = server) =>
  waitFor('scheduler stats back to zero', () => JSON.stringify(target.app.scheduler.stats()) === JSON.stringify(ZERO_STATS));

const pause = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));

describe('which policy applies', () => {
  test('no policy anywhere: one attempt, attempts 1 in the answers; a task that never started has 0', async () => {
    expect(await failure({ taskId: 'none-1', method: 'flaky', args: [toAny(1)] })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 1 failed' });
    expect(tasks.attempts('none-1')).toEqual([1]);
    expect(await result('none-1')).toEqual({ status: TaskResponse_Status.FAILED, result: 'attempt 1 failed', attempts: 1 });
    expect((await record('none-1')).attemptErrors).toBeUndefined();
    expect(await server.client.submitTask({ taskId: 'none-2', method: 'flaky', args: [toAny(0)] })).toEqual({ taskId: 'none-2', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 1', attempts: 1 });

    // Cancelled while it waited for a dependency: it never started.
    await server.client.submitTask({ taskId: 'none-dep', method: 'hold', detached: true });
    await tasks.held('none-dep', 1);
    const waiting = await server.client.submitTask({ taskId: 'none-3', method: 'flaky', deps: ['none-dep'], retryPolicy: policy(3), detached: true });
    expect(waiting).toEqual({ taskId: 'none-3', status: TaskResponse_Status.PENDING, result: '', attempts: 0 });
    expect(await server.client.cancelTask({ taskId: 'none-3' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    expect(await result('none-3')).toEqual({ status: TaskResponse_Status.CANCELLED, result: 'Task cancelled: none-3', attempts: 0 });
    tasks.settle('none-dep', 1, { result: 'done' });
    expect(tasks.attempts('none-3')).toEqual([]);
    await waitForIdle();
  });

  test("a request's policy: failures then success answer SUCCESS with the attempts made", async () => {
    const answer = await server.client.submitTask({ taskId: 'req-1', method: 'flaky', args: [toAny(2)], retryPolicy: policy(3) });
    expect(answer).toEqual({ taskId: 'req-1', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect(tasks.attempts('req-1')).toEqual([1, 2, 3]);
    expect(await result('req-1')).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect(await server.client.waitResult({ taskId: 'req-1', timeoutMs: ms(100) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
  });

  test("all attempts failed: the last attempt's error, and the record says how many ran", async () => {
    expect(await failure({ taskId: 'req-2', method: 'flaky', args: [toAny(9)], retryPolicy: policy(3) })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 3 failed' });
    expect(tasks.attempts('req-2')).toEqual([1, 2, 3]);
    expect(await result('req-2')).toEqual({ status: TaskResponse_Status.FAILED, result: 'attempt 3 failed', attempts: 3 });
    // A blocking resubmit replays the same error without running it again.
    expect(await failure({ taskId: 'req-2', method: 'flaky', args: [toAny(9)], retryPolicy: policy(3) })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 3 failed' });
    expect(tasks.attempts('req-2')).toEqual([1, 2, 3]);
  });

  test('a registration default (syncTask / asyncTask { retry }) applies when the request names none', async () => {
    expect(await server.client.submitTask({ taskId: 'reg-1', method: 'flaky_registered', args: [toAny(2)] }))
      .toEqual({ taskId: 'reg-1', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect(await failure({ taskId: 'reg-2', method: 'flaky_registered', args: [toAny(9)] })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 4 failed' });
    expect(tasks.attempts('reg-2')).toEqual([1, 2, 3, 4]);
    expect(await server.client.submitTask({ taskId: 'reg-3', method: 'flaky_registered_async', args: [toAny(3)] }))
      .toEqual({ taskId: 'reg-3', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 4', attempts: 4 });
  });

  test("a request's policy overrides the registration default, fewer attempts or more", async () => {
    expect(await failure({ taskId: 'over-1', method: 'flaky_registered', args: [toAny(1)], retryPolicy: policy(1) }))
      .toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 1 failed' });
    expect(await result('over-1')).toEqual({ status: TaskResponse_Status.FAILED, result: 'attempt 1 failed', attempts: 1 });
    // max_attempts 0 means "run once" too: a present, empty policy still overrides the default.
    expect(await failure({ taskId: 'over-2', method: 'flaky_registered', args: [toAny(1)], retryPolicy: {} })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 1 failed' });
    expect(await server.client.submitTask({ taskId: 'over-3', method: 'flaky_registered', args: [toAny(5)], retryPolicy: policy(6, 5) }))
      .toEqual({ taskId: 'over-3', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 6', attempts: 6 });
  });

  test("a plugin's registration default (api.syncTask / api.asyncTask { retry }), overridable per request", async () => {
    expect(await server.client.submitTask({ taskId: 'plug-1', method: 'retries::flaky_default', args: [toAny(2)] }))
      .toEqual({ taskId: 'plug-1', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect(await failure({ taskId: 'plug-2', method: 'retries::flaky_default', args: [toAny(5)] })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: plugin attempt 3 failed' });
    expect(await server.client.submitTask({ taskId: 'plug-3', method: 'retries::flaky_async_default', args: [toAny(2)] }))
      .toEqual({ taskId: 'plug-3', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect(await failure({ taskId: 'plug-4', method: 'retries::flaky_default', args: [toAny(2)], retryPolicy: policy(2) }))
      .toEqual({ code: Status.INTERNAL, details: 'Task execution failed: plugin attempt 2 failed' });
    expect(await result('plug-4')).toEqual({ status: TaskResponse_Status.FAILED, result: 'plugin attempt 2 failed', attempts: 2 });
  });
});

describe('what is retried', () => {
  test('a throw in a sync task, a rejection in an async one, a throw in a worker thread; ctx.attempt counts from 1 in each', async () => {
    expect(await server.client.submitTask({ taskId: 'kind-sync', method: 'flaky', args: [toAny(2)], retryPolicy: policy(5) })).toMatchObject({ result: 'ok on attempt 3', attempts: 3 });
    expect(await server.client.submitTask({ taskId: 'kind-async', method: 'flaky_async', args: [toAny(2)], retryPolicy: policy(5) })).toMatchObject({ result: 'ok on attempt 3', attempts: 3 });
    expect(tasks.attempts('kind-sync')).toEqual([1, 2, 3]);
    expect(tasks.attempts('kind-async')).toEqual([1, 2, 3]);
    expect(await server.client.submitTask({ taskId: 'kind-worker', method: 'retries::flaky_worker', args: [toAny(2)], retryPolicy: policy(5) }))
      .toEqual({ taskId: 'kind-worker', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect((await record('kind-worker')).attemptErrors?.map((entry) => entry.error)).toEqual(['worker attempt 1 failed', 'worker attempt 2 failed']);
  });

  test('an execution timeout (async task): timed-out attempts are retried; all of them timing out is DEADLINE_EXCEEDED', async () => {
    const answer = await server.client.submitTask({ taskId: 'to-1', method: 'slow_until', args: [toAny(2), toAny(60_000)], executionTimeoutMs: ms(100), retryPolicy: policy(3) });
    expect(answer).toEqual({ taskId: 'to-1', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 3', attempts: 3 });
    expect((await record('to-1')).attemptErrors?.map((entry) => entry.error)).toEqual([
      "Timed out: task 'to-1' ran longer than its execution timeout of 100 ms",
      "Timed out: task 'to-1' ran longer than its execution timeout of 100 ms",
    ]);
    expect(await failure({ taskId: 'to-2', method: 'slow_until', args: [toAny(9), toAny(60_000)], executionTimeoutMs: ms(100), retryPolicy: policy(2) }))
      .toEqual({ code: Status.DEADLINE_EXCEEDED, details: "Timed out: task 'to-2' ran longer than its execution timeout of 100 ms" });
    expect(await result('to-2')).toEqual({ status: TaskResponse_Status.FAILED, result: "Timed out: task 'to-2' ran longer than its execution timeout of 100 ms", attempts: 2 });
    expect(tasks.attempts('to-2')).toEqual([1, 2]);
  });

  test('an execution timeout of an inline sync task (noticed after the fact) and of a worker task (thread terminated)', async () => {
    expect(await server.client.submitTask({ taskId: 'to-inline', method: 'overrun_inline', args: [toAny(1), toAny(120)], executionTimeoutMs: ms(30), retryPolicy: policy(2) }))
      .toEqual({ taskId: 'to-inline', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2', attempts: 2 });
    const started = Date.now();
    expect(await server.client.submitTask({ taskId: 'to-worker', method: 'retries::spin_worker_until', args: [toAny(1), toAny(60_000)], executionTimeoutMs: ms(300), retryPolicy: policy(2) }))
      .toEqual({ taskId: 'to-worker', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2', attempts: 2 });
    expect(Date.now() - started).toBeLessThan(10_000); // the spinning thread was stopped, not waited for
    expect((await record('to-worker')).attemptErrors?.map((entry) => entry.error)).toEqual(["Timed out: task 'to-worker' ran longer than its execution timeout of 300 ms"]);
  });

  test('a worker thread that died (process.exit in the thread, out of memory) is retried on a fresh thread', async () => {
    expect(await server.client.submitTask({ taskId: 'die-exit', method: 'retries::exit_worker_until', args: [toAny(1)], retryPolicy: policy(2) }))
      .toEqual({ taskId: 'die-exit', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2', attempts: 2 });
    expect((await record('die-exit')).attemptErrors?.[0]?.error).toMatch(/^worker thread died while running 'retries::exit_worker_until'/);
    expect(await server.client.submitTask({ taskId: 'die-oom', method: 'retries::oom_worker_until', args: [toAny(1)], retryPolicy: policy(2) }))
      .toEqual({ taskId: 'die-oom', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2', attempts: 2 });
    const err = await failure({ taskId: 'die-exit-2', method: 'retries::exit_worker_until', args: [toAny(5)], retryPolicy: policy(2) });
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.details).toMatch(/^Task execution failed: worker thread died while running 'retries::exit_worker_until'/);
    expect((await result('die-exit-2')).attempts).toBe(2);
  });
});

describe('never retried', () => {
  test('InvalidArgumentsError (inline and from a worker thread), whatever attempts the policy has left', async () => {
    expect(await failure({ taskId: 'never-inv', method: 'invalid' })).toEqual({ code: Status.INVALID_ARGUMENT, details: 'Invalid arguments: invalid expects nothing it can use' });
    expect(tasks.attempts('never-inv')).toEqual([1]);
    expect(await result('never-inv')).toEqual({ status: TaskResponse_Status.FAILED, result: 'invalid expects nothing it can use', attempts: 1 });
    expect(await failure({ taskId: 'never-inv-w', method: 'retries::invalid_in_worker' })).toEqual({ code: Status.INVALID_ARGUMENT, details: 'Invalid arguments: worker rejects its input' });
    expect(await result('never-inv-w')).toEqual({ status: TaskResponse_Status.FAILED, result: 'worker rejects its input', attempts: 1 });
  });

  test('PermanentError: from src/index (sync and async), from a plugin (api.PermanentError) and from a worker thread', async () => {
    expect(await failure({ taskId: 'perm-sync', method: 'permanent' })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: the account is closed' });
    expect(tasks.attempts('perm-sync')).toEqual([1]);
    expect(await result('perm-sync')).toEqual({ status: TaskResponse_Status.FAILED, result: 'the account is closed', attempts: 1 });
    expect(await failure({ taskId: 'perm-async', method: 'permanent_async', retryPolicy: policy(9) })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: the account is closed (async)' });
    expect(tasks.attempts('perm-async')).toEqual([1]);
    expect(await failure({ taskId: 'perm-plugin', method: 'retries::permanent' })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: permanent on attempt 1' });
    expect(await result('perm-plugin')).toEqual({ status: TaskResponse_Status.FAILED, result: 'permanent on attempt 1', attempts: 1 });
    expect(await failure({ taskId: 'perm-worker', method: 'retries::permanent_in_worker' })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: the record is gone' });
    expect(await result('perm-worker')).toEqual({ status: TaskResponse_Status.FAILED, result: 'the record is gone', attempts: 1 });
  });

  test('a PermanentError after retryable failures ends the task at once, keeping the earlier attempts\' errors', async () => {
    const call = failure({ taskId: 'perm-late', method: 'hold', retryPolicy: policy(5) });
    await tasks.held('perm-late', 1);
    tasks.settle('perm-late', 1, { error: 'flaky network' });
    await tasks.held('perm-late', 2);
    tasks.settle('perm-late', 2, { permanent: 'no such customer' });
    expect(await call).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: no such customer' });
    await pause(100);
    expect(tasks.attempts('perm-late')).toEqual([1, 2]);
    expect(await result('perm-late')).toEqual({ status: TaskResponse_Status.FAILED, result: 'no such customer', attempts: 2 });
    expect((await record('perm-late')).attemptErrors?.map((entry) => [entry.attempt, entry.error])).toEqual([[1, 'flaky network'], [2, 'no such customer']]);
  });

  test('CancelTask during an attempt: CANCELLED at once, no further attempt', async () => {
    const call = failure({ taskId: 'cancel-run', method: 'hold', retryPolicy: policy(5) });
    await tasks.held('cancel-run', 1);
    tasks.settle('cancel-run', 1, { error: 'first try failed' });
    await tasks.held('cancel-run', 2);
    expect(await result('cancel-run')).toEqual({ status: TaskResponse_Status.RUNNING, result: '', attempts: 2 });
    expect(await server.client.cancelTask({ taskId: 'cancel-run' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    expect(await call).toEqual({ code: Status.CANCELLED, details: 'Task cancelled: cancel-run' });
    await pause(100);
    expect(tasks.attempts('cancel-run')).toEqual([1, 2]);
    expect(await result('cancel-run')).toEqual({ status: TaskResponse_Status.CANCELLED, result: 'Task cancelled: cancel-run', attempts: 2 });
    // A cancellation is not a failed attempt: only attempt 1's error is kept.
    expect((await record('cancel-run')).attemptErrors?.map((entry) => [entry.attempt, entry.error])).toEqual([[1, 'first try failed']]);
    await waitForIdle();
  });

  test('CancelTask during the backoff wait: CANCELLED at once, the next attempt never starts', async () => {
    const call = failure({ taskId: 'cancel-wait', method: 'flaky', args: [toAny(9)], retryPolicy: policy(5, 20_000) });
    await waitFor('cancel-wait is waiting for its retry', async () => (await result('cancel-wait')).attempts === 1 && (await result('cancel-wait')).status === TaskResponse_Status.PENDING);
    expect(server.app.scheduler.stats()).toMatchObject({ inFlight: 1, pending: 1, running: 0, waitingForSlot: 0 });
    const started = Date.now();
    expect(await server.client.cancelTask({ taskId: 'cancel-wait' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    expect(await call).toEqual({ code: Status.CANCELLED, details: 'Task cancelled: cancel-wait' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await pause(100);
    expect(tasks.attempts('cancel-wait')).toEqual([1]);
    expect(await result('cancel-wait')).toEqual({ status: TaskResponse_Status.CANCELLED, result: 'Task cancelled: cancel-wait', attempts: 1 });
    await waitForIdle();
  });

  test('a dependency that fails, or does not finish in time, fails the dependent at once: never retried, never started', async () => {
    await server.client.submitTask({ taskId: 'dep-a', method: 'hold', detached: true });
    await tasks.held('dep-a', 1);
    const failed = failure({ taskId: 'dependent-a', method: 'flaky', deps: ['dep-a'], retryPolicy: policy(5) });
    await waitFor('dependent-a waits', () => server.app.scheduler.stats().waitingForDeps === 1);
    tasks.settle('dep-a', 1, { error: 'dep broke' });
    expect(await failed).toEqual({ code: Status.FAILED_PRECONDITION, details: 'Dependency failed: dep-a' });
    expect(await result('dependent-a')).toEqual({ status: TaskResponse_Status.FAILED, result: 'Dependency failed: dep-a', attempts: 0 });
    expect(tasks.attempts('dependent-a')).toEqual([]);

    // Already failed at submission; and missing: refused, nothing recorded.
    expect(await failure({ taskId: 'dependent-b', method: 'flaky', deps: ['dep-a'], retryPolicy: policy(5) })).toEqual({ code: Status.FAILED_PRECONDITION, details: 'Dependency failed: dep-a' });
    expect(await failure({ taskId: 'dependent-c', method: 'flaky', deps: ['no-such-dep'], retryPolicy: policy(5) })).toEqual({ code: Status.FAILED_PRECONDITION, details: 'Missing dependency: no-such-dep' });
    for (const id of ['dependent-b', 'dependent-c']) expect(await result(id)).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });

    await server.client.submitTask({ taskId: 'dep-slow', method: 'hold', detached: true });
    await tasks.held('dep-slow', 1);
    expect(await failure({ taskId: 'dependent-d', method: 'flaky', deps: ['dep-slow'], dependencyTimeoutMs: ms(100), retryPolicy: policy(5) }))
      .toEqual({ code: Status.DEADLINE_EXCEEDED, details: "Timed out: dependency 'dep-slow' did not finish within 100 ms" });
    expect(await result('dependent-d')).toEqual({ status: TaskResponse_Status.FAILED, result: "Timed out: dependency 'dep-slow' did not finish within 100 ms", attempts: 0 });
    expect(tasks.attempts('dependent-d')).toEqual([]);
    tasks.settle('dep-slow', 1, { result: 'late' });
    await waitForIdle();
  });
});

describe('attempts as they happen', () => {
  test('RUNNING during an attempt, PENDING between attempts (GetResult and WaitResult), then the final answer', async () => {
    const call = server.client.submitTask({ taskId: 'vis', method: 'hold', retryPolicy: policy(3, 600, 600) });
    await tasks.held('vis', 1);
    expect(await result('vis')).toEqual({ status: TaskResponse_Status.RUNNING, result: '', attempts: 1 });
    tasks.settle('vis', 1, { error: 'try again' });
    await waitFor('vis waits for its retry', async () => (await result('vis')).status === TaskResponse_Status.PENDING);
    expect(await result('vis')).toEqual({ status: TaskResponse_Status.PENDING, result: '', attempts: 1 });
    expect(await server.client.waitResult({ taskId: 'vis', timeoutMs: ms(50) })).toEqual({ status: TaskResponse_Status.PENDING, result: '', attempts: 1 });
    const waiting = await record('vis');
    expect(waiting.runAfter! - waiting.attemptErrors![0]!.at).toBeGreaterThanOrEqual(300);
    expect(waiting.runAfter! - waiting.attemptErrors![0]!.at).toBeLessThanOrEqual(600);
    // A detached resubmit of the same request answers the current state, attempts included.
    expect(await server.client.submitTask({ taskId: 'vis', method: 'hold', retryPolicy: policy(3, 600, 600), detached: true }))
      .toEqual({ taskId: 'vis', status: TaskResponse_Status.PENDING, result: '', attempts: 1 });
    await tasks.held('vis', 2);
    expect(await result('vis')).toEqual({ status: TaskResponse_Status.RUNNING, result: '', attempts: 2 });
    const waiter = server.client.waitResult({ taskId: 'vis', timeoutMs: ms(10_000) });
    tasks.settle('vis', 2, { result: 'done on attempt 2' });
    expect(await call).toEqual({ taskId: 'vis', status: TaskResponse_Status.SUCCESS, result: 'done on attempt 2', attempts: 2 });
    expect(await waiter).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'done on attempt 2', attempts: 2 });
    expect(store.statuses('vis')).toEqual(['PENDING', 'RUNNING', 'PENDING', 'RUNNING', 'SUCCESS']);
  });

  test('a retrying task holds no slot while it waits, and queues for one again after its backoff (--max-concurrent-tasks 1)', async () => {
    const limited = await startRetryServer({ maxConcurrentTasks: 1 });
    const { client } = limited.server;
    try {
      const call = expectGrpcError(client.submitTask({ taskId: 'slot-a', method: 'hold', retryPolicy: policy(3, 300, 300) }));
      await limited.tasks.held('slot-a', 1);
      limited.tasks.settle('slot-a', 1, { error: 'later' });
      await waitFor('slot-a waits for its retry', async () => (await client.getResult({ taskId: 'slot-a' })).status === TaskResponse_Status.PENDING);
      expect(limited.server.app.scheduler.stats()).toMatchObject({ running: 0, pending: 1, waitingForSlot: 0 });
      // The slot is free meanwhile: another task takes it and keeps it past slot-a's backoff.
      await client.submitTask({ taskId: 'slot-b', method: 'hold', detached: true });
      await limited.tasks.held('slot-b', 1);
      await waitFor('slot-a queues for the slot after its backoff', () => limited.server.app.scheduler.stats().waitingForSlot === 1);
      expect(limited.server.app.scheduler.stats()).toMatchObject({ inFlight: 2, running: 1, pending: 1, waitingForSlot: 1 });
      expect(await client.getResult({ taskId: 'slot-a' })).toEqual({ status: TaskResponse_Status.PENDING, result: '', attempts: 1 });
      // Cancelled while it queues: CANCELLED, its queue place freed, attempt 2 never runs.
      expect(await client.cancelTask({ taskId: 'slot-a' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
      expect((await call).details).toBe('Task cancelled: slot-a');
      expect(limited.server.app.scheduler.stats()).toMatchObject({ inFlight: 1, running: 1, pending: 0, waitingForSlot: 0 });
      limited.tasks.settle('slot-b', 1, { result: 'b' });
      expect(await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).toMatchObject({ result: '3', attempts: 1 });
      expect(limited.tasks.attempts('slot-a')).toEqual([1]);
      await waitForIdle(limited.server);
    } finally {
      await limited.server.close();
    }
  });
});

describe('backoff timing', () => {
  /** Gaps between consecutive attempts of `taskId`, as the task saw them start. */
  const gaps = (taskId: string) => {
    const seen = tasks.seen.get(taskId) ?? [];
    return seen.slice(1).map((entry, i) => entry.at - seen[i]!.at);
  };
  /** Scheduling slack: timers, the event loop and a busy machine (2 cores shared with other jobs). */
  const SLACK_MS = 250;

  test('each gap is between half and all of min(max_backoff, initial × multiplier^(n-1))', async () => {
    expect(await failure({ taskId: 'gaps', method: 'flaky', args: [toAny(99)], retryPolicy: policy(5, 40, 1_000, 2) })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 5 failed' });
    const measured = gaps('gaps');
    const nominal = [40, 80, 160, 320];
    expect(measured).toHaveLength(4);
    measured.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(nominal[i]! / 2 - 1);
      expect(gap).toBeLessThanOrEqual(nominal[i]! + SLACK_MS);
    });
    // The record's own schedule: each attempt error's time to the next start is the computed delay.
    const { attemptErrors } = await record('gaps');
    expect(attemptErrors?.map((entry) => entry.attempt)).toEqual([1, 2, 3, 4, 5]);
  });

  test('the cap holds: multiplier 10 with max_backoff_ms 200 never waits much more than 200 ms', async () => {
    expect(await failure({ taskId: 'capped', method: 'flaky', args: [toAny(99)], retryPolicy: policy(5, 50, 200, 10) })).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 5 failed' });
    const measured = gaps('capped');
    const nominal = [50, 200, 200, 200]; // uncapped: 50, 500, 5000, 50000
    expect(measured).toHaveLength(4);
    measured.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(nominal[i]! / 2 - 1);
      expect(gap).toBeLessThanOrEqual(nominal[i]! + SLACK_MS);
    });
  });

  test('zeros take the defaults: the first retry waits 500–1000 ms (1000 ms, equal jitter)', async () => {
    const call = failure({ taskId: 'defaults', method: 'flaky', args: [toAny(99)], retryPolicy: { maxAttempts: 2 } });
    await waitFor('defaults waits for its retry', async () => (await result('defaults')).status === TaskResponse_Status.PENDING && (await result('defaults')).attempts === 1);
    const waiting = await record('defaults');
    const delay = waiting.runAfter! - waiting.attemptErrors![0]!.at;
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1_000);
    expect(await call).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: attempt 2 failed' });
    const [gap] = gaps('defaults');
    expect(gap).toBeGreaterThanOrEqual(499);
    expect(gap).toBeLessThanOrEqual(1_000 + SLACK_MS);
  });
});

describe("the record's attempt errors", () => {
  test('each failed attempt with its number and time, the last one included', async () => {
    const before = Date.now();
    await failure({ taskId: 'errs', method: 'flaky', args: [toAny(9)], retryPolicy: policy(3) });
    const final = await record('errs');
    expect(final.attemptErrors?.map(({ attempt, error }) => ({ attempt, error }))).toEqual([
      { attempt: 1, error: 'attempt 1 failed' },
      { attempt: 2, error: 'attempt 2 failed' },
      { attempt: 3, error: 'attempt 3 failed' },
    ]);
    const times = final.attemptErrors!.map((entry) => entry.at);
    const starts = (tasks.seen.get('errs') ?? []).map((entry) => entry.at);
    expect(times[0]).toBeGreaterThanOrEqual(before);
    for (let i = 0; i < 3; i++) {
      expect(times[i]).toBeGreaterThanOrEqual(starts[i]!);
      if (i < 2) expect(times[i]).toBeLessThanOrEqual(starts[i + 1]!);
    }
    expect(times[2]).toBeLessThanOrEqual(final.finishedAt!);
    expect(final.runAfter).toBeUndefined();
  });

  test(`only the latest ${MAX_ATTEMPT_ERRORS} are kept`, async () => {
    await failure({ taskId: 'errs-many', method: 'flaky', args: [toAny(99)], retryPolicy: policy(13, 1, 1) });
    const final = await record('errs-many');
    expect(final.attempts).toBe(13);
    expect(final.attemptErrors?.map((entry) => entry.attempt)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(final.attemptErrors?.map((entry) => entry.error)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((n) => `attempt ${n} failed`));
  });

  test('each is clipped (a long message is cut and ends with …); the final result keeps the whole message', async () => {
    await failure({ taskId: 'errs-long', method: 'long_error', args: [toAny(5000)], retryPolicy: policy(2) });
    const final = await record('errs-long');
    expect(final.attemptErrors).toHaveLength(2);
    for (const [i, entry] of final.attemptErrors!.entries()) {
      expect(entry.error.length).toBeLessThan(1010);
      expect(entry.error.startsWith(`${i + 1}:xxxx`)).toBe(true);
      expect(entry.error.endsWith('x…')).toBe(true);
    }
    expect(final.result).toBe(`2:${'x'.repeat(5000)}`);
    // Messages of up to 1000 characters are kept as they are.
    await failure({ taskId: 'errs-short', method: 'long_error', args: [toAny(998)], retryPolicy: policy(2) });
    expect((await record('errs-short')).attemptErrors?.map((entry) => entry.error)).toEqual([`1:${'x'.repeat(998)}`, `2:${'x'.repeat(998)}`]);
  });

  test('a clipped attempt error is at most 1000 characters, the … included', async () => {
    await failure({ taskId: 'errs-bound', method: 'long_error', args: [toAny(5000)], retryPolicy: policy(2) });
    for (const entry of (await record('errs-bound')).attemptErrors!) expect(entry.error.length).toBeLessThanOrEqual(1000);
  });
});

describe('idempotency', () => {
  test('the same id with the same policy is the existing task (zeros and explicit defaults are the same policy)', async () => {
    const first = await server.client.submitTask({ taskId: 'idem', method: 'flaky', args: [toAny(1)], retryPolicy: policy(3, 0) });
    expect(first).toEqual({ taskId: 'idem', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2', attempts: 2 });
    expect(await server.client.submitTask({ taskId: 'idem', method: 'flaky', args: [toAny(1)], retryPolicy: policy(3, 1_000, 60_000, 2) })).toEqual(first);
    expect(await server.client.submitTask({ taskId: 'idem', method: 'flaky', args: [toAny(1)], retryPolicy: policy(3, 0), detached: true })).toEqual(first);
    expect(tasks.attempts('idem')).toEqual([1, 2]);
  });

  test('a different policy, or a policy on one side only, is ALREADY_EXISTS naming retry_policy', async () => {
    await server.client.submitTask({ taskId: 'idem-p', method: 'flaky', args: [toAny(0)], retryPolicy: policy(3) });
    await server.client.submitTask({ taskId: 'idem-none', method: 'flaky', args: [toAny(0)] });
    const cases: Array<[string, Partial<RetryPolicy> | undefined]> = [
      ['idem-p', policy(4)],
      ['idem-p', policy(3, 11)],
      ['idem-p', policy(3, 10, 5_000)],
      ['idem-p', policy(3, 10, 0, 3)],
      ['idem-p', undefined],
      ['idem-none', policy(1)],
      ['idem-none', {}],
    ];
    for (const [taskId, retryPolicy] of cases) {
      for (const detached of [false, true]) {
        expect(await failure({ taskId, method: 'flaky', args: [toAny(0)], retryPolicy, detached }))
          .toEqual({ code: Status.ALREADY_EXISTS, details: `Task already exists: ${taskId} (submitted with a different retry_policy)` });
      }
    }
    // Without a request policy, a registration default is not part of the identity.
    await server.client.submitTask({ taskId: 'idem-reg', method: 'flaky_registered', args: [toAny(0)] });
    expect(await server.client.submitTask({ taskId: 'idem-reg', method: 'flaky_registered', args: [toAny(0)] })).toMatchObject({ status: TaskResponse_Status.SUCCESS, attempts: 1 });
    expect(await failure({ taskId: 'idem-reg', method: 'flaky_registered', args: [toAny(0)], retryPolicy: policy(4, 10, 10) }))
      .toEqual({ code: Status.ALREADY_EXISTS, details: 'Task already exists: idem-reg (submitted with a different retry_policy)' });
  });

  test('a blocking resubmit while the task is between attempts waits for its final outcome', async () => {
    const first = server.client.submitTask({ taskId: 'idem-run', method: 'hold', retryPolicy: policy(2, 10) });
    await tasks.held('idem-run', 1);
    const second = server.client.submitTask({ taskId: 'idem-run', method: 'hold', retryPolicy: policy(2, 10) });
    tasks.settle('idem-run', 1, { error: 'once' });
    await tasks.held('idem-run', 2);
    tasks.settle('idem-run', 2, { result: 'twice' });
    const expected = { taskId: 'idem-run', status: TaskResponse_Status.SUCCESS, result: 'twice', attempts: 2 };
    expect(await first).toEqual(expected);
    expect(await second).toEqual(expected);
  });
});

describe('validation', () => {
  /** Refused with INVALID_ARGUMENT `message`, and nothing recorded: the id stays free. */
  async function refused(retryPolicy: RetryPolicy, message: string, target: TestServer = server): Promise<void> {
    const err = await expectGrpcError(target.client.submitTask({ taskId: 'bad-policy', method: 'flaky', args: [toAny(0)], retryPolicy }));
    expect({ code: err.code, details: err.details }).toEqual({ code: Status.INVALID_ARGUMENT, details: `Invalid arguments: ${message}` });
    expect(await target.client.getResult({ taskId: 'bad-policy' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
  }

  test('backoff_multiplier: below 1 (but not 0), over 100, NaN, infinite', async () => {
    for (const m of [0.5, 0.999, -1, 100.5, 1e9, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await refused(policy(3, 10, 0, m), `retry_policy.backoff_multiplier must be between 1 and 100 (0 = default 2), got ${m}`);
    }
  });

  test('max_backoff_ms below initial_backoff_ms; a backoff over one day', async () => {
    await refused(policy(3, 100, 50), 'retry_policy.max_backoff_ms 50 is below initial_backoff_ms 100');
    await refused(policy(3, 86_400_001), 'retry_policy.initial_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got 86400001');
    await refused(policy(3, 10, 86_400_001), 'retry_policy.max_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got 86400001');
  });

  test('max_attempts over --max-attempts (default 100; configurable)', async () => {
    await refused(policy(101), 'retry_policy.max_attempts 101 is over the limit of 100 (--max-attempts)');
    await refused(policy(0xffffffff), 'retry_policy.max_attempts 4294967295 is over the limit of 100 (--max-attempts)');
    const strict = await startTestServer({ maxAttempts: 5, libraryDir: '' }, { registry: createBuiltinRegistry() });
    try {
      const err = await expectGrpcError(strict.client.submitTask({ taskId: 'bad-policy', method: 'fail', args: [toAny('x')], retryPolicy: policy(6) }));
      expect(err.details).toBe('Invalid arguments: retry_policy.max_attempts 6 is over the limit of 5 (--max-attempts)');
      expect(await strict.client.getResult({ taskId: 'bad-policy' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
      expect(await expectGrpcError(strict.client.submitTask({ taskId: 'ok-policy', method: 'fail', args: [toAny('x')], retryPolicy: policy(5, 1, 1) })))
        .toMatchObject({ code: Status.INTERNAL, details: 'Task execution failed: x' });
      expect(await strict.client.getResult({ taskId: 'ok-policy' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'x', attempts: 5 });
    } finally {
      await strict.close();
    }
  });

  test('an invalid policy is refused even for an id already taken (validated before idempotency)', async () => {
    await server.client.submitTask({ taskId: 'taken', method: 'flaky', args: [toAny(0)], retryPolicy: policy(2) });
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'taken', method: 'flaky', args: [toAny(0)], retryPolicy: policy(2, 10, 0, 0.5) }));
    expect(err.details).toBe('Invalid arguments: retry_policy.backoff_multiplier must be between 1 and 100 (0 = default 2), got 0.5');
  });

  test('a bad registration policy throws at registration, naming the task', () => {
    const registry = new TaskRegistry();
    expect(() => syncTask(function bad_multiplier() { return ''; }, { registry, retry: { maxAttempts: 3, backoffMultiplier: 0.5 } }))
      .toThrow("Invalid arguments: task 'bad_multiplier': retry.backoff_multiplier must be between 1 and 100 (0 = default 2), got 0.5");
    expect(() => asyncTask(async function bad_backoff() { return ''; }, { registry, retry: { maxAttempts: 3, initialBackoffMs: 500, maxBackoffMs: 100 } }))
      .toThrow("Invalid arguments: task 'bad_backoff': retry.max_backoff_ms 100 is below initial_backoff_ms 500");
    expect(() => syncTask(function bad_attempts() { return ''; }, { registry, retry: { maxAttempts: 2.5 } }))
      .toThrow("Invalid arguments: task 'bad_attempts': retry.max_attempts must be a whole number ≥ 1, got 2.5");
    expect(() => syncTask(function bad_nan() { return ''; }, { registry, retry: { maxAttempts: 3, initialBackoffMs: Number.NaN } }))
      .toThrow("Invalid arguments: task 'bad_nan': retry.initial_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got NaN");
    expect(registry.size).toBe(0);
    // Task code is trusted: no --max-attempts cap at registration.
    syncTask(function many_attempts() { return ''; }, { registry, retry: { maxAttempts: 1_000 } });
    expect(registry.get('many_attempts')?.retry).toEqual({ maxAttempts: 1_000, initialBackoffMs: 1_000, maxBackoffMs: 60_000, backoffMultiplier: 2 });
  });
  test('a plugin with a bad registration policy fails to load, naming its task; its other tasks are undone', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-retry-plugins-'));
    try {
      const file = path.join(dir, 'badretry.js');
      writeFileSync(file, `module.exports = (api) => {
        api.syncTask(function fine() { return 'ok'; }, { retry: { maxAttempts: 2 } });
        api.asyncTask(async function broken() { return 'never'; }, { retry: { maxAttempts: 3, backoffMultiplier: 1000 } });
      };`);
      const registry = new TaskRegistry();
      expect(() => loadPlugin(file, registry)).toThrow("Invalid arguments: task 'badretry::broken': retry.backoff_multiplier must be between 1 and 100 (0 = default 2), got 1000");
      expect(registry.size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shutdown', () => {
  test('a task waiting for its retry is cancelled at once; a task failing during the grace period is not retried', async () => {
    const closing = await startRetryServer({ shutdownGraceMs: 5_000 });
    const { client } = closing.server;
    try {
      const waiting = expectGrpcError(client.submitTask({ taskId: 'sd-wait', method: 'flaky', args: [toAny(9)], retryPolicy: policy(5, 60_000) }));
      await waitFor('sd-wait waits for its retry', () => closing.tasks.attempts('sd-wait').length === 1 && closing.server.app.scheduler.stats().pending === 1);
      const running = expectGrpcError(client.submitTask({ taskId: 'sd-run', method: 'hold', retryPolicy: policy(5, 10) }));
      await closing.tasks.held('sd-run', 1);

      const started = Date.now();
      const closed = closing.server.app.close();
      const waitErr = await waiting;
      expect({ code: waitErr.code, details: waitErr.details }).toEqual({ code: Status.UNAVAILABLE, details: "Shutting down: task 'sd-wait' was cancelled before it finished" });
      closing.tasks.settle('sd-run', 1, { error: 'failed while draining' });
      const runErr = await running;
      expect({ code: runErr.code, details: runErr.details }).toEqual({ code: Status.INTERNAL, details: 'Task execution failed: failed while draining' });
      await closed;
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(closing.tasks.attempts('sd-wait')).toEqual([1]);
      expect(closing.tasks.attempts('sd-run')).toEqual([1]);
      expect(await closing.store.get('sd-wait')).toMatchObject({ status: 'CANCELLED', attempts: 1 });
      expect(await closing.store.get('sd-run')).toMatchObject({ status: 'FAILED', attempts: 1 });
    } finally {
      await closing.server.close();
    }
  });
});
