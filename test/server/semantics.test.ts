/** SPEC §3 and §5c semantics over real gRPC: ids, idempotency, dependencies, results. */
import { arg } from '../../src/args/arg-value';
import { encodeArg, toAny } from '../../src/args/encode-arg';
import { createBuiltinRegistry } from '../../src/app';
import { syncTask, asyncTask } from '../../src/tasks/task-registry';
import Long from 'long';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

let server: TestServer;
const runs = new Map<string, number>();
beforeAll(async () => {
  const registry = createBuiltinRegistry();
  syncTask(function counted(_args, ctx) {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    return `run ${runs.get(ctx.taskId)}`;
  }, { registry });
  asyncTask(async function countedSlow(_args, ctx) {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    return 'slow done';
  }, { registry, name: 'counted_slow' });
  syncTask(function dep_results(_args, ctx) {
    return JSON.stringify([...ctx.dependencyResults]);
  }, { registry });
  server = await startTestServer({}, { registry });
});
afterAll(() => server.close());

/** A uint64 milliseconds field. */
const ms = (n: number): Long => Long.fromNumber(n, true);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('an empty task_id gets a UUID that GetResult knows', async () => {
  const res = await server.client.submitTask({ method: 'add', args: [toAny(2), toAny(3)] });
  expect(res.taskId).toMatch(UUID);
  expect(await server.client.getResult({ taskId: res.taskId })).toEqual({ status: TaskResponse_Status.SUCCESS, result: '5', attempts: 1 });
});

test('GetResult of an unknown id answers NOT_FOUND (OK response)', async () => {
  expect(await server.client.getResult({ taskId: 'who-knows' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
});

test('is_async is accepted and ignored', async () => {
  expect((await server.client.submitTask({ method: 'add', isAsync: true, args: [toAny(1)] })).result).toBe('1');
  expect((await server.client.submitTask({ method: 'delete', isAsync: false, args: [toAny(1)] })).result).toBe('Deleted 1 items');
});

describe('idempotency', () => {
  test('resubmitting a finished task returns the recorded outcome without running it again', async () => {
    const first = await server.client.submitTask({ taskId: 'idem-1', method: 'counted', args: [toAny(1)] });
    const again = await server.client.submitTask({ taskId: 'idem-1', method: 'counted', args: [toAny(1)], isAsync: true });
    expect(first).toEqual({ taskId: 'idem-1', status: TaskResponse_Status.SUCCESS, result: 'run 1', attempts: 1 });
    expect(again).toEqual(first);
    expect(runs.get('idem-1')).toBe(1);
  });

  test('map order on the wire does not change the identity', async () => {
    const ab = encodeArg(arg.map([['a', arg.int32(1)], ['b', arg.string('x')]]));
    const ba = encodeArg(arg.map([['b', arg.string('x')], ['a', arg.int32(1)]]));
    expect(ab.value).not.toEqual(ba.value);
    await server.client.submitTask({ taskId: 'idem-map', method: 'counted', args: [ab] });
    const again = await server.client.submitTask({ taskId: 'idem-map', method: 'counted', args: [ba] });
    expect(again.result).toBe('run 1');
    expect(runs.get('idem-map')).toBe(1);
  });

  test('a blocking resubmit of a failed task answers with the same gRPC error', async () => {
    const first = await expectGrpcError(server.client.submitTask({ taskId: 'idem-fail', method: 'fail', args: [toAny('nope')] }));
    const again = await expectGrpcError(server.client.submitTask({ taskId: 'idem-fail', method: 'fail', args: [toAny('nope')] }));
    expect([again.code, again.details]).toEqual([first.code, first.details]);
    expect(again.details).toBe('Task execution failed: nope');
  });

  test('a duplicate submit while the first is running waits for it and never runs it twice', async () => {
    const calls = await Promise.all([1, 2, 3].map(() => server.client.submitTask({ taskId: 'idem-run', method: 'counted_slow' })));
    expect(calls.map((c) => c.result)).toEqual(['slow done', 'slow done', 'slow done']);
    expect(runs.get('idem-run')).toBe(1);
  });

  test('detached and timeout fields are not part of the identity', async () => {
    await server.client.submitTask({ taskId: 'idem-flags', method: 'counted' });
    const again = await server.client.submitTask({ taskId: 'idem-flags', method: 'counted', detached: true, executionTimeoutMs: ms(5) });
    expect(again.status).toBe(TaskResponse_Status.SUCCESS);
    expect(runs.get('idem-flags')).toBe(1);
  });
});

describe('dependencies', () => {
  test('a task reads its succeeded dependencies from its context, in deps order', async () => {
    await server.client.submitTask({ taskId: 'dep-a', method: 'add', args: [toAny(1), toAny(1)] });
    await server.client.submitTask({ taskId: 'dep-b', method: 'ping', args: [toAny('b')] });
    const res = await server.client.submitTask({ taskId: 'dep-c', method: 'dep_results', deps: ['dep-b', 'dep-a'] });
    expect(JSON.parse(res.result)).toEqual([['dep-b', 'pong: b'], ['dep-a', '2']]);
  });

  test('inject_dependency_results prepends the results as string args, in deps order', async () => {
    await server.client.submitTask({ taskId: 'inj-a', method: 'concat', args: [toAny('A')] });
    await server.client.submitTask({ taskId: 'inj-b', method: 'concat', args: [toAny('B')] });
    const res = await server.client.submitTask({ method: 'concat', args: [toAny('!')], deps: ['inj-b', 'inj-a'], injectDependencyResults: true });
    expect(res.result).toBe('BA!');
    const withoutInjection = await server.client.submitTask({ method: 'concat', args: [toAny('!')], deps: ['inj-b', 'inj-a'] });
    expect(withoutInjection.result).toBe('!');
  });

  test('a running dependency is awaited', async () => {
    const slow = server.client.submitTask({ taskId: 'wait-dep', method: 'sleep', args: [toAny(150)] });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const started = Date.now();
    const res = await server.client.submitTask({ method: 'dep_results', deps: ['wait-dep'] });
    expect(JSON.parse(res.result)).toEqual([['wait-dep', 'slept 150 ms']]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    await slow;
  });

  test('a dependency that fails while awaited ends the task FAILED with "Dependency failed: <id>"', async () => {
    await server.client.submitTask({ taskId: 'doomed', method: 'sleep', args: [toAny(2000)], detached: true, executionTimeoutMs: ms(400) });
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'after-doomed', method: 'ping', deps: ['doomed'] }));
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.details).toBe('Dependency failed: doomed');
    expect((await server.client.getResult({ taskId: 'after-doomed' })).status).toBe(TaskResponse_Status.FAILED);
  });

  test('a dependency wait past the timeout: DEADLINE_EXCEEDED "Timed out: "', async () => {
    await server.client.submitTask({ taskId: 'too-slow', method: 'sleep', args: [toAny(500)], detached: true });
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'impatient', method: 'ping', deps: ['too-slow'], dependencyTimeoutMs: ms(50) }));
    expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/^Timed out: dependency 'too-slow' did not finish within 50 ms/);
    expect((await server.client.getResult({ taskId: 'impatient' })).status).toBe(TaskResponse_Status.FAILED);
  });
});

describe('detached, WaitResult, CancelTask, timeouts', () => {
  test('detached answers PENDING at once, then the task runs in the background', async () => {
    const res = await server.client.submitTask({ taskId: 'bg', method: 'sleep', args: [toAny(100)], detached: true });
    expect(res).toEqual({ taskId: 'bg', status: TaskResponse_Status.PENDING, result: '', attempts: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await server.client.getResult({ taskId: 'bg' })).status).toBe(TaskResponse_Status.RUNNING);
    expect(await server.client.waitResult({ taskId: 'bg', timeoutMs: ms(5000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 100 ms', attempts: 1 });
  });

  test('WaitResult answers with the current status at its timeout, and NOT_FOUND at once for unknown ids', async () => {
    await server.client.submitTask({ taskId: 'long-bg', method: 'sleep', args: [toAny(2000)], detached: true });
    const started = Date.now();
    expect((await server.client.waitResult({ taskId: 'long-bg', timeoutMs: ms(100) })).status).toBe(TaskResponse_Status.RUNNING);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await server.client.waitResult({ taskId: 'nobody', timeoutMs: ms(10000) })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
    await server.client.cancelTask({ taskId: 'long-bg' });
  });

  test('CancelTask ends a running task CANCELLED; its blocking caller gets CANCELLED', async () => {
    const blocking = expectGrpcError(server.client.submitTask({ taskId: 'to-cancel', method: 'sleep', args: [toAny(10000)] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await server.client.cancelTask({ taskId: 'to-cancel' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    const err = await blocking;
    expect(err.code).toBe(Status.CANCELLED);
    expect(err.details).toBe('Task cancelled: to-cancel');
    expect((await server.client.getResult({ taskId: 'to-cancel' })).status).toBe(TaskResponse_Status.CANCELLED);
  });

  test('CancelTask of a finished or unknown task: cancelled=false with the current status', async () => {
    await server.client.submitTask({ taskId: 'finished', method: 'ping' });
    expect(await server.client.cancelTask({ taskId: 'finished' })).toEqual({ cancelled: false, status: TaskResponse_Status.SUCCESS });
    expect(await server.client.cancelTask({ taskId: 'ghost' })).toEqual({ cancelled: false, status: TaskResponse_Status.NOT_FOUND });
  });

  test('an async task over its execution timeout: DEADLINE_EXCEEDED, recorded FAILED', async () => {
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'overtime', method: 'sleep', args: [toAny(1000)], executionTimeoutMs: ms(50) }));
    expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/^Timed out: /);
    expect((await server.client.getResult({ taskId: 'overtime' })).status).toBe(TaskResponse_Status.FAILED);
  });

  test('uint64 timeouts over the server\'s maximum are refused naming the flag, never wrapped to a short one', async () => {
    // 2^32 + 5 has low bits 5: read carelessly it would be a 5 ms timeout. 2^64 - 1 is the largest value.
    const huge = [Long.fromBits(5, 1, true), Long.MAX_UNSIGNED_VALUE, Long.fromNumber(0x80000000, true)];
    for (const [i, timeout] of huge.entries()) {
      for (const field of ['executionTimeoutMs', 'dependencyTimeoutMs'] as const) {
        const err = await expectGrpcError(server.client.submitTask({ taskId: `huge-timeout-${i}`, method: 'sleep', args: [toAny(30)], [field]: timeout }));
        expect(err.code).toBe(Status.INVALID_ARGUMENT);
        const name = field === 'executionTimeoutMs' ? 'execution_timeout_ms' : 'dependency_timeout_ms';
        const flag = field === 'executionTimeoutMs' ? '--max-execution-timeout-ms' : '--max-dependency-timeout-ms';
        expect(err.details).toBe(`Invalid arguments: ${name} ${timeout.toString()} is over the limit of 86400000 ms (${flag})`);
      }
      expect((await server.client.getResult({ taskId: `huge-timeout-${i}` })).status).toBe(TaskResponse_Status.NOT_FOUND);
    }
    // The maximum itself is accepted.
    const day = Long.fromNumber(86_400_000, true);
    const res = await server.client.submitTask({ taskId: 'day-timeout', method: 'sleep', args: [toAny(30)], executionTimeoutMs: day, dependencyTimeoutMs: day });
    expect(res).toEqual({ taskId: 'day-timeout', status: TaskResponse_Status.SUCCESS, result: 'slept 30 ms', attempts: 1 });
    const polled = await server.client.waitResult({ taskId: 'day-timeout', timeoutMs: Long.fromBits(5, 1, true) });
    expect(polled).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 30 ms', attempts: 1 });
  });
});

describe('result store bounds', () => {
  test('results are evicted after their TTL', async () => {
    const short = await startTestServer({ resultTtlSecs: 1 });
    try {
      await short.client.submitTask({ taskId: 'ephemeral', method: 'ping' });
      expect((await short.client.getResult({ taskId: 'ephemeral' })).status).toBe(TaskResponse_Status.SUCCESS);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect((await short.client.getResult({ taskId: 'ephemeral' })).status).toBe(TaskResponse_Status.NOT_FOUND);
      // An evicted dependency is unknown again.
      const err = await expectGrpcError(short.client.submitTask({ method: 'ping', deps: ['ephemeral'] }));
      expect(err.details).toBe('Missing dependency: ephemeral');
    } finally {
      await short.close();
    }
  });

  test('the store keeps at most --max-results results, evicting the oldest', async () => {
    const small = await startTestServer({ maxResults: 3 });
    try {
      for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) await small.client.submitTask({ taskId: id, method: 'ping' });
      const statuses = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((taskId) => small.client.getResult({ taskId })));
      expect(statuses.map((s) => s.status)).toEqual([
        TaskResponse_Status.NOT_FOUND,
        TaskResponse_Status.NOT_FOUND,
        TaskResponse_Status.SUCCESS,
        TaskResponse_Status.SUCCESS,
        TaskResponse_Status.SUCCESS,
      ]);
    } finally {
      await small.close();
    }
  });
});
