/** RunQueue's ordering rules on their own (the gRPC-level proofs are in test/scheduling/queue.test.ts). */
import { InFlightTask, type TaskRun } from '../../src/engine/in-flight-task';
import { RunQueue } from '../../src/engine/queue/run-queue';
import { newRecord } from '../../src/results/task-record';
import type { TaskDefinition } from '../../src/tasks/task-registry';

const definition = (name: string): TaskDefinition => ({ name, kind: 'sync', fn: () => '', description: '', source: 'user' });
const NOTE = definition('note');

function task(id: string, priority = 0, concurrencyKey = '', def = NOTE): InFlightTask {
  const run: TaskRun = { definition: def, args: [], argsJson: '[]', deps: [], dependencyTimeoutMs: 0, executionTimeoutMs: 0, injectDependencyResults: false, retry: undefined, priority, concurrencyKey, awaitUnknownDeps: false };
  return new InFlightTask(newRecord(id, { method: def.name, deps: [], argsDigest: '', injectDependencyResults: false, retryKey: '' }, 0), run);
}

/** Queues `tasks` behind one running task, then frees slots one by one; returns the start order. */
async function order(queue: RunQueue, tasks: InFlightTask[], between?: (i: number) => void): Promise<string[]> {
  const blocker = task('blocker');
  expect(queue.tryAcquire(blocker)).toBe(true);
  const started: string[] = [];
  const granted = tasks.map((t) => queue.wait(t).then((ok) => ok && started.push(t.record.taskId)));
  let holder = blocker;
  for (let i = 0; i < tasks.length; i++) {
    between?.(i);
    queue.release(holder);
    await Promise.resolve();
    await Promise.resolve();
    holder = tasks.find((t) => t.record.taskId === started[started.length - 1])!;
  }
  await Promise.all(granted);
  return started;
}

afterEach(() => jest.useRealTimers());

test('equal priorities: lanes (method, key) take turns, whatever the order of arrival', async () => {
  jest.useFakeTimers({ now: 1_000_000 });
  const queue = new RunQueue({ maxConcurrent: 1, agingMs: 1_000 });
  const burst = ['a1', 'a2', 'a3', 'a4'].map((id) => task(id, 0, 'a'));
  jest.setSystemTime(1_000_010);
  const others = [task('b1', 0, 'b'), task('c1', 0, 'c')];
  expect(await order(queue, [...burst, ...others], () => jest.advanceTimersByTime(1))).toEqual(['a1', 'b1', 'c1', 'a2', 'a3', 'a4']);
});

test('priorities within a lane; aging lets a long-waiting low priority overtake newer high ones', async () => {
  jest.useFakeTimers({ now: 2_000_000 });
  const queue = new RunQueue({ maxConcurrent: 1, agingMs: 100 });
  const low = task('low', 0);
  const early = [task('h1', 2), task('h2', 2)];
  const started = order(queue, [low, ...early], (i) => jest.advanceTimersByTime(i === 0 ? 0 : 150));
  expect(await started).toEqual(['h1', 'h2', 'low']);

  // A low task that has waited 300 ms (3 levels) goes before a priority-2 task that just arrived.
  const queue2 = new RunQueue({ maxConcurrent: 1, agingMs: 100 });
  const old = task('old', 0);
  const blocker = task('blocker');
  queue2.tryAcquire(blocker);
  const seen: string[] = [];
  const a = queue2.wait(old).then(() => seen.push('old'));
  jest.advanceTimersByTime(300);
  const fresh = task('fresh', 2);
  const b = queue2.wait(fresh).then(() => seen.push('fresh'));
  queue2.release(blocker);
  await Promise.resolve();
  queue2.release(old);
  await Promise.all([a, b]);
  expect(seen).toEqual(['old', 'fresh']);
});

test('a paused method parks its lane without blocking others; withdraw frees the waiter', async () => {
  const queue = new RunQueue({ maxConcurrent: 1, agingMs: 1_000 });
  const other = definition('other');
  queue.pause('note');
  const paused = task('p');
  expect(queue.tryAcquire(paused)).toBe(false);
  const pausedWait = queue.wait(paused);
  const free = task('o', 0, '', other);
  expect(queue.tryAcquire(free)).toBe(true);
  queue.release(free);
  expect(queue.stats().waitingByMethod.get('note')).toBe(1);
  const withdrawn = task('w');
  const withdrawnWait = queue.wait(withdrawn);
  queue.withdraw(withdrawn);
  expect(await withdrawnWait).toBe(false);
  queue.resume('note');
  expect(await pausedWait).toBe(true);
  expect(queue.running).toBe(1);
});
