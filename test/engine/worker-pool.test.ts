/** CPU-bound sync tasks on worker threads: off the event loop, stoppable, and replaced when they die. */
import Long from 'long';
import { arg } from '../../src/args/arg-value';
import { encodeArg, toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { readdirSync, readFileSync } from 'node:fs';
import { POOL_THREAD_NICE } from '../../src/tasks/pool/pool-protocol';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

/** Nice value of each thread of this process (Linux /proc: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended while we looked
    }
  }
  return nice;
}

const ms = (n: number): Long => Long.fromNumber(n, true);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ libraryDir: 'test/fixtures/fault-plugins', workerThreads: 2, workerMaxMemoryMb: 64 });
});
afterAll(() => server.close());

test('fib runs on a worker: add and GetResult answer while two fib(35) run', async () => {
  let fibsDone = 0;
  const fibs = [1, 2].map(() => server.client.submitTask({ method: 'fib', args: [toAny(35)] }).then((res) => {
    fibsDone++;
    return res;
  }));
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the workers start on them
  const started = Date.now();
  const add = await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
  const got = await server.client.getResult({ taskId: add.taskId });
  const elapsed = Date.now() - started;
  expect(add.result).toBe('3');
  expect(got.status).toBe(TaskResponse_Status.SUCCESS);
  expect(fibsDone).toBe(0); // answered while both fibs were still running
  expect(elapsed).toBeLessThan(1000); // inline, fib(35) would block for seconds; the benchmark tracks the real figure
  expect((await Promise.all(fibs)).map((r) => r.result)).toEqual(['9227465', '9227465']);
});

(process.platform === 'linux' ? test : test.skip)('pool threads run at a lower CPU priority than the event loop (Linux)', async () => {
  const before = [...threadNiceValues().values()].filter((n) => n === POOL_THREAD_NICE).length;
  const fibs = [1, 2].map(() => server.client.submitTask({ method: 'fib', args: [toAny(32)] }));
  await Promise.all(fibs);
  const nice = threadNiceValues();
  expect(nice.get(process.pid)).toBe(0); // the main thread (tid = pid) keeps its priority
  expect([...nice.values()].filter((n) => n === POOL_THREAD_NICE).length).toBeGreaterThanOrEqual(Math.max(before, 2));
});

test('arguments cross the thread boundary intact (64-bit integers stay Longs) and deps are visible', async () => {
  const res = await server.client.submitTask({
    method: 'faults::int64_in_worker',
    args: [encodeArg(arg.int64('9223372036854775806')), encodeArg(arg.uint64('18446744073709551614')), toAny('s')],
  });
  expect(res.result).toBe('9223372036854775807,18446744073709551615,string');
  await server.client.submitTask({ taskId: 'pool-dep', method: 'ping' });
  const deps = await server.client.submitTask({ method: 'faults::deps_in_worker', deps: ['pool-dep'] });
  expect(JSON.parse(deps.result)).toEqual([['pool-dep', 'pong']]);
});

test('InvalidArgumentsError thrown in a worker is still INVALID_ARGUMENT', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'w-invalid', method: 'faults::invalid_in_worker' }));
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toBe('Invalid arguments: worker says no');
  expect(await server.client.getResult({ taskId: 'w-invalid' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'worker says no', attempts: 1 });
});

test('cancelling a pooled task stops it at once and the pool keeps working', async () => {
  const running = expectGrpcError(server.client.submitTask({ taskId: 'w-cancel', method: 'faults::spin_in_worker', args: [toAny(60_000)] }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  expect(await server.client.cancelTask({ taskId: 'w-cancel' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  expect((await running).code).toBe(Status.CANCELLED);
  expect(Date.now() - started).toBeLessThan(2000);
  // Both threads are usable again: two pooled tasks complete (neither thread is still spinning).
  const after = await Promise.all([1, 2].map(() => server.client.submitTask({ method: 'fib', args: [toAny(20)] })));
  expect(after.map((r) => r.result)).toEqual(['6765', '6765']);
});

test('a pooled task over its execution timeout is stopped: DEADLINE_EXCEEDED, recorded FAILED', async () => {
  const started = Date.now();
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'w-timeout', method: 'faults::spin_in_worker', args: [toAny(60_000)], executionTimeoutMs: ms(200) }));
  expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
  expect(err.details).toMatch(/^Timed out: task 'w-timeout' ran longer than its execution timeout of 200 ms/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect((await server.client.getResult({ taskId: 'w-timeout' })).status).toBe(TaskResponse_Status.FAILED);
  expect((await server.client.submitTask({ method: 'fib', args: [toAny(10)] })).result).toBe('55');
});

test('a worker that calls process.exit: its task FAILED with a clear message, the server and pool go on', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'w-exit', method: 'faults::exit_in_worker' }));
  expect(err.code).toBe(Status.INTERNAL);
  expect(err.details).toMatch(/^Task execution failed: worker thread died while running 'faults::exit_in_worker'/);
  expect((await server.client.getResult({ taskId: 'w-exit' })).status).toBe(TaskResponse_Status.FAILED);
  expect((await server.client.submitTask({ method: 'fib', args: [toAny(15)] })).result).toBe('610');
});

test('a worker that exceeds its memory limit: its task FAILED, the server and pool go on', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'w-oom', method: 'faults::oom_in_worker' }));
  expect(err.code).toBe(Status.INTERNAL);
  expect(err.details).toMatch(/^Task execution failed: worker thread died while running 'faults::oom_in_worker'/);
  expect((await server.client.submitTask({ method: 'fib', args: [toAny(15)] })).result).toBe('610');
}, 30_000);

test('with --worker-threads 0, worker tasks run inline (same results)', async () => {
  const inline = await startTestServer({ workerThreads: 0 });
  try {
    expect(inline.app.pool).toBeUndefined();
    expect((await inline.client.submitTask({ method: 'fib', args: [toAny(20)] })).result).toBe('6765');
  } finally {
    await inline.close();
  }
});
