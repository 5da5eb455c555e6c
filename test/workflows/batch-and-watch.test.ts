/**
 * Issue 16 over gRPC, on each store (memory, SQLite file, Redis): SubmitTasks (forward references,
 * cycles, duplicates, one bad task among 1,000, existing ids, the batch limit), WatchTasks (initial
 * state, order of transitions, end of stream, cancel, slow reader), await_unknown_deps and cascading
 * cancel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status, type DeepPartial, type TaskRequest, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { submitTasks, watchTasks, type WorkflowEvent } from '../../src/client/workflows';
import type { AppConfig } from '../../src/app';
import type { TaskEvent } from '../../src/engine/task-events';
import { TaskWatch } from '../../src/engine/task-watch';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { uniquePrefix } from '../scale-out/replicas';

jest.setTimeout(60_000);

const stores: ReadonlyArray<[string, () => Promise<{ config: Partial<AppConfig>; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => ({ config: {}, cleanup: async () => undefined })],
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-workflows-'));
      return { config: { store: `sqlite:${path.join(dir, 'tasks.db')}` }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'redis',
    async () => {
      const redis: RedisInstance = await startRedis();
      return { config: { store: redis.url, redisPrefix: uniquePrefix('wf'), leaseMs: 1_000 }, cleanup: () => redis.close() };
    },
  ],
];

/** Every event of a watch until its end. */
async function watchAll(client: TaskSchedulerClient, ids: readonly string[]): Promise<WorkflowEvent[]> {
  const events: WorkflowEvent[] = [];
  for await (const event of watchTasks(client, ids)) events.push(event);
  return events;
}

/** Statuses of one task's events, in order. */
function statusesOf(events: readonly WorkflowEvent[], taskId: string): string[] {
  return events.filter((event) => event.taskId === taskId && event.kind !== 'progress').map((event) => event.status);
}

describe.each(stores)('on the %s store', (_name, makeStore) => {
  let server: TestServer;
  let client: TaskSchedulerClient;
  let cleanup: () => Promise<void>;
  let n = 0;
  /** A fresh id per use (the store outlives each test). */
  const id = (name: string) => `${name}-${++n}`;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    server = await startTestServer({ libraryDir: '', workerThreads: 0, maxBatchTasks: 1_000, ...store.config });
    client = server.client;
  });
  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  test('a three-stage pipeline with forward references runs to the end and is watched on one stream', async () => {
    const [fetch, agg] = [id('fetch'), id('agg')];
    const transforms = [0, 1, 2].map(() => id('t'));
    // The aggregate comes first and names tasks later in the list.
    const tasks: Array<DeepPartial<TaskRequest>> = [
      { taskId: agg, method: 'concat', args: [], deps: transforms, injectDependencyResults: true },
      ...transforms.map((t, i) => ({ taskId: t, method: 'concat', args: [toAny(`+${i}`)], deps: [fetch], injectDependencyResults: true })),
      { taskId: fetch, method: 'sleep', args: [toAny(50)] },
    ];
    const accepted = await submitTasks(client, tasks);
    expect(accepted).toEqual([agg, ...transforms, fetch].map((taskId) => ({ taskId, status: 'PENDING' })));
    const events = await watchAll(client, [agg, fetch, ...transforms]);
    for (const taskId of [agg, fetch, ...transforms]) {
      const statuses = statusesOf(events, taskId);
      // The state when the watch began, then every later transition once, in order, up to the final one.
      const order = ['PENDING', 'RUNNING', 'SUCCESS'];
      expect(statuses).toEqual(order.slice(order.indexOf(statuses[0]!)));
      expect(events.filter((event) => event.taskId === taskId && event.kind === 'initial')).toHaveLength(1);
    }
    const final = events.find((event) => event.taskId === agg && event.finished)!;
    expect(final.result).toBe('slept 50 ms+0slept 50 ms+1slept 50 ms+2');
    expect((await client.getResult({ taskId: agg })).status).toBe(TaskResponse_Status.SUCCESS);
  });

  test('server-assigned ids are answered in order', async () => {
    const accepted = await submitTasks(client, [{ method: 'add', args: [toAny(1), toAny(2)] }, { method: 'add', args: [toAny(3), toAny(4)] }]);
    expect(accepted).toHaveLength(2);
    expect(accepted[0]!.taskId).not.toBe(accepted[1]!.taskId);
    const events = await watchAll(client, accepted.map((task) => task.taskId));
    expect(events.filter((event) => event.finished).map((event) => [event.taskId, event.result]).sort()).toEqual(
      [[accepted[0]!.taskId, '3'], [accepted[1]!.taskId, '7']].sort(),
    );
  });

  test('a cycle is refused naming it, and nothing is recorded', async () => {
    const [a, b, c, d] = [id('cy'), id('cy'), id('cy'), id('cy')];
    const err = await expectGrpcError(
      client.submitTasks({
        tasks: [
          { taskId: d, method: 'add', args: [toAny(1), toAny(1)] },
          { taskId: a, method: 'concat', deps: [c] },
          { taskId: b, method: 'concat', deps: [a, d] },
          { taskId: c, method: 'concat', deps: [b] },
        ],
      }),
    );
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toContain('cycle');
    expect(err.details).toMatch(new RegExp(`'${a}' → '${c}' → '${b}' → '${a}'|'${c}' → '${b}' → '${a}' → '${c}'|'${b}' → '${a}' → '${c}' → '${b}'`));
    for (const taskId of [a, b, c, d]) expect((await client.getResult({ taskId })).status).toBe(TaskResponse_Status.NOT_FOUND);
  });

  test('duplicate ids in a batch are refused', async () => {
    const a = id('dup');
    const err = await expectGrpcError(client.submitTasks({ tasks: [{ taskId: a, method: 'ping' }, { taskId: id('x'), method: 'ping' }, { taskId: a, method: 'ping' }] }));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toContain(`tasks[2] (task_id '${a}')`);
    expect(err.details).toContain('tasks[0]');
    expect((await client.getResult({ taskId: a })).status).toBe(TaskResponse_Status.NOT_FOUND);
  });

  test('one bad task among 1,000 refuses the batch, naming its index and id; nothing is recorded', async () => {
    const prefix = id('bulk');
    const tasks: Array<DeepPartial<TaskRequest>> = Array.from({ length: 1_000 }, (_, i) => ({ taskId: `${prefix}-${i}`, method: 'add', args: [toAny(i), toAny(1)] }));
    const bad = [
      { ...tasks[637], method: 'no_such_method' },
      { ...tasks[637], deps: [`${prefix}-missing`] },
      { ...tasks[637], dependencyTimeoutMs: Long.fromNumber(10 * 24 * 3600 * 1000, true) },
      { ...tasks[637], args: [{ typeUrl: 'type.googleapis.com/nope', value: new Uint8Array() }] },
    ];
    for (const task of bad) {
      const err = await expectGrpcError(client.submitTasks({ tasks: tasks.map((t, i) => (i === 637 ? task : t)) }));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.details).toContain(`tasks[637] (task_id '${prefix}-637')`);
    }
    const listed = await client.listSubmittedTasks({ taskIdPrefix: prefix });
    expect(listed.tasks).toEqual([]);
    // The same batch, fixed, is accepted whole.
    expect(await submitTasks(client, tasks)).toHaveLength(1_000);
  });

  test('ids that exist follow SubmitTask idempotency: the same task is answered, a different one refused', async () => {
    const [old, fresh] = [id('old'), id('new')];
    await client.submitTask({ taskId: old, method: 'add', args: [toAny(2), toAny(2)] });
    const accepted = await submitTasks(client, [
      { taskId: old, method: 'add', args: [toAny(2), toAny(2)] },
      { taskId: fresh, method: 'concat', args: [], deps: [old], injectDependencyResults: true },
    ]);
    expect(accepted).toEqual([{ taskId: old, status: 'SUCCESS' }, { taskId: fresh, status: 'PENDING' }]);
    const events = await watchAll(client, [fresh]);
    expect(events[events.length - 1]).toMatchObject({ taskId: fresh, status: 'SUCCESS', result: '4' });
    const err = await expectGrpcError(client.submitTasks({ tasks: [{ taskId: id('other'), method: 'ping' }, { taskId: old, method: 'add', args: [toAny(2), toAny(3)] }] }));
    expect(err.code).toBe(Status.ALREADY_EXISTS);
    expect(err.details).toContain('tasks[1]');
  });

  test('a dependency that failed refuses the batch', async () => {
    const failed = id('failed');
    await expectGrpcError(client.submitTask({ taskId: failed, method: 'fail' }));
    const err = await expectGrpcError(client.submitTasks({ tasks: [{ taskId: id('after'), method: 'ping', deps: [failed] }] }));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toContain(`Dependency failed: ${failed}`);
  });

  test('more tasks than --max-batch-tasks is INVALID_ARGUMENT naming the flag', async () => {
    const err = await expectGrpcError(client.submitTasks({ tasks: Array.from({ length: 1_001 }, () => ({ method: 'ping' })) }));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toContain('--max-batch-tasks');
  });

  test('a watch starts with the current state, names unknown ids NOT_FOUND, and can be cancelled', async () => {
    const [done, slow] = [id('done'), id('slow')];
    await client.submitTask({ taskId: done, method: 'add', args: [toAny(1), toAny(1)] });
    await submitTasks(client, [{ taskId: slow, method: 'sleep', args: [toAny(10_000)] }]);
    const controller = new AbortController();
    const seen: WorkflowEvent[] = [];
    const unknown = id('unknown');
    const reading = (async () => {
      for await (const event of watchTasks(client, [done, slow, unknown], { signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 3) controller.abort();
      }
    })();
    await expect(reading).rejects.toThrow();
    expect(seen.map((event) => [event.kind, event.taskId, event.status]).sort()).toEqual(
      [
        ['initial', done, 'SUCCESS'],
        ['initial', slow, expect.stringMatching(/PENDING|RUNNING/)],
        ['initial', unknown, 'NOT_FOUND'],
      ].sort(),
    );
    expect(seen.find((event) => event.taskId === done)!.result).toBe('2');
    await client.cancelTask({ taskId: slow });
  });

  test('an empty watch is refused', async () => {
    const err = await expectGrpcError(watchAll(client, []));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
  });

  test('cancel_dependents cancels the not-yet-finished dependents too: they read CANCELLED', async () => {
    const [root, mid, leaf, other] = [id('root'), id('mid'), id('leaf'), id('other')];
    await submitTasks(client, [
      { taskId: root, method: 'sleep', args: [toAny(10_000)] },
      { taskId: mid, method: 'ping', deps: [root] },
      { taskId: leaf, method: 'ping', deps: [mid] },
      { taskId: other, method: 'sleep', args: [toAny(10)] },
    ]);
    const watching = watchAll(client, [root, mid, leaf, other]);
    const answer = await client.cancelTask({ taskId: root, cancelDependents: true });
    expect(answer).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    const events = await watching;
    for (const taskId of [root, mid, leaf]) {
      const final = events.filter((event) => event.taskId === taskId).pop()!;
      expect(final.status).toBe('CANCELLED');
      expect(final.result).toContain('Task cancelled');
    }
    expect(events.filter((event) => event.taskId === other).pop()!.status).toBe('SUCCESS');
  });

  test('await_unknown_deps waits for a dependency submitted later; without it the dependency is missing', async () => {
    const [later, dependent] = [id('later'), id('dependent')];
    const refused = await expectGrpcError(client.submitTask({ taskId: dependent, method: 'ping', deps: [later], detached: true }));
    expect(refused.code).toBe(Status.FAILED_PRECONDITION);
    await submitTasks(client, [{ taskId: dependent, method: 'concat', args: [toAny('!')], deps: [later], injectDependencyResults: true, awaitUnknownDeps: true }]);
    const watching = watchAll(client, [dependent]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.submitTask({ taskId: later, method: 'add', args: [toAny(20), toAny(22)], detached: true });
    const events = await watching;
    expect(events[events.length - 1]).toMatchObject({ status: 'SUCCESS', result: '42!' });
    // And within the dependency timeout only.
    const never = id('never');
    const timed = await client.submitTask({ taskId: id('timed'), method: 'ping', deps: [never], awaitUnknownDeps: true, dependencyTimeoutMs: Long.fromNumber(100, true) }).catch((err: Error) => err);
    expect(String(timed)).toContain('did not finish within 100 ms');
  });
});

test('a task awaiting an unknown dependency keeps waiting across a restart (SQLite), and runs when the dependency comes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-workflows-restart-'));
  const config: Partial<AppConfig> = { libraryDir: '', workerThreads: 0, store: `sqlite:${path.join(dir, 'tasks.db')}` };
  let second: TestServer | undefined;
  try {
    const first = await startTestServer(config);
    await first.client.submitTask({ taskId: 'waits', method: 'concat', args: [toAny('!')], deps: ['comes-later'], injectDependencyResults: true, awaitUnknownDeps: true, detached: true, dependencyTimeoutMs: Long.fromNumber(30_000, true) });
    await first.close();
    second = await startTestServer(config);
    // Recovered: still waiting, not "Missing dependency".
    expect((await second.client.getResult({ taskId: 'waits' })).status).toBe(TaskResponse_Status.PENDING);
    await second.client.submitTask({ taskId: 'comes-later', method: 'add', args: [toAny(40), toAny(2)] });
    expect(await second.client.waitResult({ taskId: 'waits', timeoutMs: Long.fromNumber(10_000, true) })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: '42!' });
  } finally {
    await second?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a watch whose reader falls --max-watch-buffer events behind ends with RESOURCE_EXHAUSTED naming the limit', async () => {
  // At the engine's stream object: over gRPC the client's transport reads ahead into memory of its own,
  // so a test client cannot hold the server back reliably; the server-side bound is what this checks.
  const closed: TaskWatch[] = [];
  const watch = new TaskWatch(['a', 'b'], 3, (w) => closed.push(w));
  const event = (taskId: string, status: TaskEvent['status']): TaskEvent => ({ kind: 'TRANSITION', taskId, status, result: '', attempts: 1, progress: undefined });
  watch.push({ ...event('a', 'PENDING'), kind: 'INITIAL' });
  watch.push({ ...event('b', 'PENDING'), kind: 'INITIAL' });
  // The initial states do not count; three more events fit, the fourth ends the watch.
  for (let i = 0; i < 3; i++) watch.push(event('a', 'RUNNING'));
  expect(closed).toHaveLength(0);
  watch.push(event('b', 'RUNNING'));
  expect(closed).toEqual([watch]);
  const reading = (async () => {
    for await (const group of watch) void group;
  })();
  await expect(reading).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED, message: expect.stringContaining('--max-watch-buffer') });
});

test('a watch groups the events ready at each step, in order, and ends when every task has finished', async () => {
  const watch = new TaskWatch(['a', 'b'], 100, () => undefined);
  const event = (taskId: string, status: TaskEvent['status']): TaskEvent => ({ kind: 'TRANSITION', taskId, status, result: 'r', attempts: 1, progress: undefined });
  watch.push(event('a', 'RUNNING'));
  watch.push(event('a', 'SUCCESS'));
  watch.push(event('a', 'SUCCESS')); // after its end: dropped
  const groups: string[][] = [];
  const reading = (async () => {
    for await (const group of watch) groups.push(group.map((e) => `${e.taskId}:${e.status}`));
  })();
  await new Promise((resolve) => setImmediate(resolve));
  watch.push(event('b', 'FAILED'));
  await reading;
  expect(groups).toEqual([['a:RUNNING', 'a:SUCCESS'], ['b:FAILED']]);
});
