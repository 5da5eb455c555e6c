/**
 * Unit tests of the dashboard's bounded history and of combineObservers (pure modules; the real-server
 * tests are in api.test.ts).
 */
import type { ArgValue } from '../../src/args/arg-value';
import { combineObservers } from '../../src/engine/combine-observers';
import type { SchedulerObserver } from '../../src/engine/scheduler-types';
import { newRecord, withState, type TaskRecord } from '../../src/results/task-record';
import { MAX_ARGS_CHARS, MAX_DEPENDENTS, TaskHistory, stringBytes } from '../../src/dashboard/task-history';
import { argsDigest } from '../../src/engine/task-identity';
import { canonicalJson } from '../../src/args/canonical-json';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

function accept(history: TaskHistory, taskId: string, deps: readonly string[] = [], args: readonly ArgValue[] = []): TaskRecord {
  const record = newRecord(taskId, { method: 'm', deps, argsDigest: argsDigest(args), injectDependencyResults: false, retryKey: '' }, Date.now());
  history.taskAccepted(record, canonicalJson(args));
  return record;
}

describe('TaskHistory', () => {
  test('keeps the last `capacity` tasks, newest first; older ones are forgotten with their dependents', () => {
    const history = new TaskHistory(3);
    accept(history, 'a');
    accept(history, 'b', ['a']);
    accept(history, 'c');
    expect(history.dependentsOf('a').ids).toEqual(['b']);
    accept(history, 'd');
    expect(history.size).toBe(3);
    expect(history.get('a')).toBeUndefined();
    expect(history.dependentsOf('a').ids).toEqual([]);
    expect(history.query({ limit: 10 }).tasks.map((task) => task.taskId)).toEqual(['d', 'c', 'b']);
    for (let i = 0; i < 1000; i++) accept(history, `t${i}`);
    expect(history.size).toBe(3);
    expect(history.totals().accepted).toBe(1004);
  });

  test('follows a task through its states; totals count outcomes', () => {
    const history = new TaskHistory(10);
    const record = accept(history, 'x');
    expect(history.get('x')!.status).toBe('PENDING');
    const running = withState(record, 'RUNNING', '', undefined, 1000, undefined);
    history.taskStarted(running);
    expect(history.get('x')).toMatchObject({ status: 'RUNNING', startedAt: 1000 });
    history.taskFinished(withState(running, 'FAILED', 'boom', { code: 13, message: 'Task execution failed: boom' }, 1000, 1005), 5.5);
    expect(history.get('x')).toMatchObject({ status: 'FAILED', finishedAt: 1005, runMs: 5.5, error: 'Task execution failed: boom' });
    expect(history.totals()).toEqual({ accepted: 1, started: 1, succeeded: 0, failed: 1, cancelled: 0 });
  });

  test('bounds the args JSON and the dependents kept per task', () => {
    const history = new TaskHistory(500);
    const long: ArgValue[] = [{ kind: 'string', value: 'y'.repeat(10_000) }];
    accept(history, 'big', [], long);
    const big = history.get('big')!;
    expect(big.args).toHaveLength(MAX_ARGS_CHARS);
    expect(big.args.startsWith('[{"string":"yyy')).toBe(true);
    expect(big.argsTruncated).toBe(true);
    accept(history, 'hub');
    for (let i = 0; i < MAX_DEPENDENTS + 20; i++) accept(history, `child${i}`, ['hub']);
    expect(history.dependentsOf('hub')).toEqual({ ids: expect.any(Array), more: 20 });
    expect(history.dependentsOf('hub').ids).toHaveLength(MAX_DEPENDENTS);
  });

  test('a reused id (after its record was evicted) shows once, as the newest task', () => {
    const history = new TaskHistory(5);
    accept(history, 'same');
    accept(history, 'other');
    accept(history, 'same');
    expect(history.query({ limit: 10 }).tasks.map((task) => task.taskId)).toEqual(['same', 'other']);
  });
});

describe('TaskHistory byte bound, paging and dependents scan', () => {
  const longDeps = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-`.padEnd(200, 'x'));

  test('evicts the oldest tasks to stay within maxBytes, counting deps, args and errors', () => {
    const history = new TaskHistory(10_000, 1_000_000);
    // Each task: 100 deps of 200 one-byte characters ≈ 22 KB.
    for (let i = 0; i < 200; i++) accept(history, `t${i}`, longDeps(100, `t${i}`));
    expect(history.bytes).toBeLessThanOrEqual(history.maxBytes);
    expect(history.bytes).toBeGreaterThan(0.9 * history.maxBytes);
    expect(history.size).toBeLessThan(50);
    expect(history.size).toBeGreaterThan(40);
    // Newest kept, oldest gone; the count bound still applies alongside.
    expect(history.get('t199')).toBeDefined();
    expect(history.get('t0')).toBeUndefined();
    expect(history.totals().accepted).toBe(200);
    const small = new TaskHistory(3, 1_000_000);
    for (let i = 0; i < 10; i++) accept(small, `s${i}`);
    expect(small.size).toBe(3);
  });

  test('two-byte strings count double; a new task larger than the bound still shows (alone)', () => {
    const ascii = new TaskHistory(10);
    accept(ascii, 'a'.repeat(1000));
    const wide = new TaskHistory(10);
    accept(wide, 'é€'.repeat(500));
    expect(wide.bytes - ascii.bytes).toBe(1000);
    const tiny = new TaskHistory(10, 100);
    accept(tiny, 'x');
    accept(tiny, 'y');
    expect(tiny.size).toBe(1);
    expect(tiny.get('y')).toBeDefined();
  });

  test('counts real heap within 25%, measured in a fresh process', () => {
    expect(stringBytes('abc')).toBe(19);
    // A jest worker's heap moves with what earlier test files left behind, so the figure is taken in a
    // fresh node (the built code: `npm test` builds first) by the script that documents it.
    const out = execFileSync(process.execPath, ['--expose-gc', path.resolve(__dirname, '../../scripts/dashboard-history-heap.js'), '5000', '50', '200'], { encoding: 'utf8' });
    const ratio = Number(/\(ratio ([\d.]+)\)/.exec(out)?.[1]);
    expect({ out, inRange: ratio > 0.75 && ratio < 1.25 }).toEqual({ out, inRange: true });
  });

  test('pages newest first with a stable cursor while new tasks arrive', () => {
    const history = new TaskHistory(100);
    for (let i = 0; i < 7; i++) accept(history, `p${i}`);
    const first = history.query({ limit: 3 });
    expect(first.tasks.map((task) => task.taskId)).toEqual(['p6', 'p5', 'p4']);
    expect(first.matched).toBe(7);
    accept(history, 'p7'); // arrives between pages: does not shift the next page
    const second = history.query({ limit: 3, before: first.next });
    expect(second.tasks.map((task) => task.taskId)).toEqual(['p3', 'p2', 'p1']);
    const third = history.query({ limit: 3, before: second.next });
    expect(third.tasks.map((task) => task.taskId)).toEqual(['p0']);
    expect(third.next).toBeUndefined();
  });

  test('scanDependents finds the tasks that name a task which has left the history', () => {
    const history = new TaskHistory(3);
    accept(history, 'gone');
    accept(history, 'kid1', ['gone']);
    accept(history, 'kid2', ['gone']);
    accept(history, 'other');
    expect(history.get('gone')).toBeUndefined();
    expect(history.dependentsOf('gone').ids).toEqual([]);
    expect(history.scanDependents('gone', 10)).toEqual(['kid2', 'kid1']);
    expect(history.scanDependents('gone', 1)).toEqual(['kid2']);
  });
});

describe('combineObservers', () => {
  const finishedOnly: SchedulerObserver = { taskFinished: () => undefined };

  test('nothing or one observer: returned as is, so absent events stay absent', () => {
    expect(combineObservers([undefined, undefined])).toBeUndefined();
    expect(combineObservers([finishedOnly, undefined])).toBe(finishedOnly);
    const both = combineObservers([finishedOnly, { taskFinished: () => undefined }])!;
    expect(both.taskAccepted).toBeUndefined();
    expect(both.taskStarted).toBeUndefined();
  });

  test('forwards each event to the observers that listen for it', () => {
    const history = new TaskHistory(10);
    const finished: string[] = [];
    const combined = combineObservers([{ taskFinished: (record) => finished.push(record.taskId) }, history])!;
    const record = newRecord('z', { method: 'm', deps: [], argsDigest: '[]', injectDependencyResults: false, retryKey: '' }, 1);
    combined.taskAccepted!(record, '[]');
    combined.taskStarted!(withState(record, 'RUNNING', '', undefined, 2, undefined));
    combined.taskFinished(withState(record, 'SUCCESS', 'ok', undefined, 2, 3), 1);
    expect(finished).toEqual(['z']);
    expect(history.get('z')).toMatchObject({ status: 'SUCCESS', finishedAt: 3 });
  });
});
