/**
 * Unit tests of the dashboard's bounded history and of combineObservers (pure modules; the real-server
 * tests are in api.test.ts).
 */
import type { ArgValue } from '../../src/args/arg-value';
import { combineObservers } from '../../src/engine/combine-observers';
import type { SchedulerObserver } from '../../src/engine/scheduler-types';
import { newRecord, withState, type TaskRecord } from '../../src/results/task-record';
import { MAX_ARGS_CHARS, MAX_DEPENDENTS, TaskHistory } from '../../src/dashboard/task-history';
import { argsDigest } from '../../src/engine/task-identity';
import { canonicalJson } from '../../src/args/canonical-json';

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
