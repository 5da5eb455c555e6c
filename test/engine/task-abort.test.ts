/**
 * Aborting a task without an AbortController per task (src/engine/task-abort.ts): tasks that read
 * `ctx.signal` and tasks that use `ctx.onAbort` are both stopped by CancelTask, execution timeouts and
 * shutdown, over the real server; then the pure TaskAbort semantics underneath.
 */
import Long from 'long';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { createBuiltinRegistry } from '../../src/app';
import { TaskAbort } from '../../src/engine/task-abort';
import { TaskCancelledError, TaskTimeoutError } from '../../src/errors';
import type { TaskContext } from '../../src/tasks/task-context';
import { asyncTask, type TaskRegistry } from '../../src/tasks/task-registry';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

const ms = (n: number): Long => Long.fromNumber(n, true);

/** What the probe tasks saw, by task id. */
const seen = new Map<string, { reason?: unknown; calls: number; signalAbortedAfter?: boolean; cleanedUp?: boolean }>();

function note(taskId: string): { reason?: unknown; calls: number; signalAbortedAfter?: boolean; cleanedUp?: boolean } {
  let entry = seen.get(taskId);
  if (!entry) seen.set(taskId, (entry = { calls: 0 }));
  return entry;
}

/** Probe tasks: each waits until aborted (or `args`-less forever) and records how it learnt of it. */
function registerProbes(registry: TaskRegistry): void {
  // Uses the AbortSignal, as a plugin passing it to fetch or a stream would.
  asyncTask(
    function viaSignal(_args, ctx: TaskContext) {
      return new Promise<string>((_resolve, reject) => {
        const { signal } = ctx;
        signal.addEventListener('abort', () => {
          note(ctx.taskId).reason = signal.reason;
          note(ctx.taskId).calls++;
          reject(signal.reason);
        }, { once: true });
      });
    },
    { registry, name: 'probe_signal' },
  );
  // Uses onAbort, destructured from the context (it must not need `this`).
  asyncTask(
    function viaOnAbort(_args, ctx: TaskContext) {
      const { onAbort, taskId } = ctx;
      return new Promise<string>((_resolve, reject) => {
        onAbort((reason) => {
          const entry = note(taskId);
          entry.reason = reason;
          entry.calls++;
          // The signal, first read after the abort, is already aborted with the same reason.
          entry.signalAbortedAfter = ctx.signal.aborted && ctx.signal.reason === reason;
          reject(reason);
        });
      });
    },
    { registry, name: 'probe_on_abort' },
  );
  // Finishes by itself after 20 ms and unsubscribes: a later abort must not reach the listener.
  asyncTask(
    async function finishesFirst(_args, ctx: TaskContext) {
      const unsubscribe = ctx.onAbort(() => note(ctx.taskId).calls++);
      await new Promise((resolve) => setTimeout(resolve, 20));
      unsubscribe();
      note(ctx.taskId).cleanedUp = true;
      return 'done';
    },
    { registry, name: 'probe_finishes' },
  );
  // Its abort listener throws: the task must still end CANCELLED and the server keep serving.
  asyncTask(
    function throwingListener(_args, ctx: TaskContext) {
      return new Promise<string>((_resolve, reject) => {
        ctx.onAbort(() => {
          throw new Error('listener exploded');
        });
        ctx.onAbort((reason) => reject(reason));
      });
    },
    { registry, name: 'probe_throwing_listener' },
  );
}

let server: TestServer;
beforeAll(async () => {
  const registry = createBuiltinRegistry();
  registerProbes(registry);
  server = await startTestServer({}, { registry });
});
afterAll(() => server.close());

/** Polls until the task is RUNNING (generous: the machine is shared). */
async function untilRunning(taskId: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await server.client.getResult({ taskId })).status !== TaskResponse_Status.RUNNING) {
    if (Date.now() > deadline) throw new Error(`${taskId} never ran`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test.each([['probe_signal'], ['probe_on_abort']])('CancelTask stops a running %s task once, with a TaskCancelledError', async (method) => {
  const taskId = `cancel-${method}`;
  await server.client.submitTask({ taskId, method, detached: true });
  await untilRunning(taskId);
  expect(await server.client.cancelTask({ taskId })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  const entry = seen.get(taskId);
  expect(entry?.calls).toBe(1);
  expect(entry?.reason).toBeInstanceOf(TaskCancelledError);
  if (method === 'probe_on_abort') expect(entry?.signalAbortedAfter).toBe(true);
  expect(await server.client.waitResult({ taskId })).toEqual({ status: TaskResponse_Status.CANCELLED, result: expect.stringContaining(taskId), attempts: 1 });
});

test.each([['probe_signal'], ['probe_on_abort']])('an execution timeout aborts a %s task: DEADLINE_EXCEEDED, reason a TaskTimeoutError', async (method) => {
  const taskId = `timeout-${method}`;
  const err = await expectGrpcError(server.client.submitTask({ taskId, method, executionTimeoutMs: ms(50) }));
  expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
  expect(seen.get(taskId)?.reason).toBeInstanceOf(TaskTimeoutError);
  expect(seen.get(taskId)?.calls).toBe(1);
});

test('a task that finished and unsubscribed is not called back; cancelling it answers cancelled false', async () => {
  const taskId = 'finishes-first';
  expect(await server.client.submitTask({ taskId, method: 'probe_finishes' })).toEqual({ taskId, status: TaskResponse_Status.SUCCESS, result: 'done', attempts: 1 });
  expect(await server.client.cancelTask({ taskId })).toEqual({ cancelled: false, status: TaskResponse_Status.SUCCESS });
  expect(seen.get(taskId)).toEqual({ calls: 0, cleanedUp: true });
});

test('an abort listener that throws does not stop the cancel; the server keeps serving', async () => {
  const taskId = 'throwing-listener';
  await server.client.submitTask({ taskId, method: 'probe_throwing_listener', detached: true });
  await untilRunning(taskId);
  expect(await server.client.cancelTask({ taskId })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  expect((await server.client.submitTask({ method: 'add', args: [] })).status).toBe(TaskResponse_Status.SUCCESS);
});

test('the built-in sleep (onAbort, no AbortSignal) still ends early when cancelled', async () => {
  const taskId = 'sleep-cancelled';
  const started = Date.now();
  await server.client.submitTask({ taskId, method: 'sleep', args: [], detached: true }); // default 1000 ms
  await untilRunning(taskId);
  expect(await server.client.cancelTask({ taskId })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  expect((await server.client.waitResult({ taskId })).status).toBe(TaskResponse_Status.CANCELLED);
  expect(Date.now() - started).toBeLessThan(1000);
});

describe('TaskAbort', () => {
  test('listeners run once, in order, after the signal; later aborts are ignored', () => {
    const abort = new TaskAbort();
    const order: string[] = [];
    abort.signal.addEventListener('abort', () => order.push('signal'));
    abort.onAbort((reason) => order.push(`first ${String(reason)}`));
    abort.onAbort(() => order.push('second'));
    expect(abort.abort('why')).toEqual([]);
    expect(abort.abort('again')).toEqual([]);
    expect(order).toEqual(['signal', 'first why', 'second']);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe('why');
  });

  test('unsubscribed listeners are not called; subscribing after the abort calls at once', () => {
    const abort = new TaskAbort();
    const calls: unknown[] = [];
    const off = abort.onAbort(() => calls.push('removed'));
    abort.onAbort(() => calls.push('kept'));
    off();
    off(); // twice is harmless
    abort.abort(new Error('x'));
    expect(calls).toEqual(['kept']);
    abort.onAbort((reason) => calls.push(reason instanceof Error ? reason.message : reason));
    expect(calls).toEqual(['kept', 'x']);
  });

  test('no AbortSignal is made until read; one read after the abort is already aborted', () => {
    const abort = new TaskAbort();
    abort.abort('late');
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe('late');
    expect(abort.signal).toBe(abort.signal);
  });

  test('a listener that throws is reported, and the others still run', () => {
    const abort = new TaskAbort();
    const boom = new Error('boom');
    let after = false;
    abort.onAbort(() => {
      throw boom;
    });
    abort.onAbort(() => (after = true));
    expect(abort.abort('r')).toEqual([boom]);
    expect(after).toBe(true);
  });

  test('its task context exposes ids, a destructurable onAbort and the lazy signal', () => {
    const abort = new TaskAbort();
    const ctx = abort.contextFor('t-1', 'm', 1, new Map([['d', 'r']]), '[{"int32":1}]');
    const { onAbort, taskId, method, dependencyResults, argsJson } = ctx;
    expect(argsJson).toBe('[{"int32":1}]');
    let reason: unknown;
    onAbort((r) => (reason = r));
    abort.abort('stop');
    expect([taskId, method, dependencyResults.get('d'), reason, ctx.signal.aborted]).toEqual(['t-1', 'm', 'r', 'stop', true]);
  });
});
