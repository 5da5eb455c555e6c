/** SPEC §5b: the built-ins added by the port (echo, concat, fail, fib, sleep, long_running_task). */
import { arg, type ArgValue } from '../../src/args/arg-value';
import { startTestServer, type TestServer } from '../helpers/start-server';
import { anys, builtinRunner, Status, TaskResponse_Status } from './builtin-client';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const run = builtinRunner(() => server, 'added');

describe('echo', () => {
  test('every scalar kind in canonical JSON', async () => {
    const args: ArgValue[] = [
      arg.int32(5),
      arg.int32(-2147483648),
      arg.int64('-9223372036854775808'),
      arg.uint32(4294967295),
      arg.uint64('18446744073709551615'),
      arg.float(1.5),
      arg.float(0.1),
      arg.float(3.4028234663852886e38),
      arg.double(0.1),
      arg.double(1e21),
      arg.double(5e-7),
      arg.bool(true),
      arg.bool(false),
      arg.string('héllo'),
      arg.string('q"b\\s\n€'),
      arg.bytes(Uint8Array.of(0, 1, 2)),
      arg.bytes(Uint8Array.of(0xfb, 0xff)),
      arg.null(),
    ];
    const expected =
      '[{"int32":5},{"int32":-2147483648},{"int64":"-9223372036854775808"},{"uint32":4294967295},' +
      '{"uint64":"18446744073709551615"},{"float":1.5},{"float":0.1},{"float":3.4028235e+38},{"double":0.1},' +
      '{"double":1e+21},{"double":5e-7},{"bool":true},{"bool":false},{"string":"héllo"},{"string":"q\\"b\\\\s\\n€"},' +
      '{"bytes":"AAEC"},{"bytes":"+/8="},{"null":null}]';
    const result = await run.ok('echo', anys(...args));
    expect(result).toBe(expected);
    expect(() => JSON.parse(result)).not.toThrow();
  });

  test('NaN and ±Infinity are strings', async () => {
    const args = [arg.float(NaN), arg.double(Infinity), arg.double(-Infinity), arg.float(-Infinity)];
    expect(await run.ok('echo', anys(...args))).toBe('[{"float":"NaN"},{"double":"Infinity"},{"double":"-Infinity"},{"float":"-Infinity"}]');
  });

  test('nested lists and maps, keys sorted by UTF-16 code units', async () => {
    const map = new Map<string, ArgValue>([
      ['b', arg.int32(2)],
      ['\uFF5E', arg.bool(true)],
      ['a', arg.list([arg.string('x'), arg.map([['z', arg.null()], ['y', arg.int64(7)]])])],
      ['\u{1F600}', arg.list([])],
      ['__proto__', arg.string('p')],
      ['B', arg.map([])],
    ]);
    const args = [arg.list([arg.int32(1), arg.list([arg.uint64(3)]), arg.map(map)]), arg.map(map)];
    const mapJson =
      '{"map":{"B":{"map":{}},"__proto__":{"string":"p"},"a":{"list":[{"string":"x"},{"map":{"y":{"int64":"7"},"z":{"null":null}}}]},' +
      '"b":{"int32":2},"\u{1F600}":{"list":[]},"\uFF5E":{"bool":true}}}';
    expect(await run.ok('echo', anys(...args))).toBe(`[{"list":[{"int32":1},{"list":[{"uint64":"3"}]},${mapJson}]},${mapJson}]`);
  });

  test('no arguments is an empty array', async () => {
    expect(await run.ok('echo')).toBe('[]');
  });
});

describe('concat', () => {
  test('string arguments joined with no separator', async () => {
    expect(await run.ok('concat', anys('foo', 'bar', ' ', 'bäz'))).toBe('foobar bäz');
    expect(await run.ok('concat', anys('', 'x', ''))).toBe('x');
    expect(await run.ok('concat')).toBe('');
  });

  test('any other kind is INVALID naming its position', async () => {
    const details = await run.invalid('concat', anys('a', 1, 'b'));
    expect(details).toMatch(/^Invalid arguments: /);
    expect(details).toContain('args[1]');
    const second = await run.invalid('concat', anys('a', 'b', 'c', Uint8Array.of(0x61)));
    expect(second).toMatch(/^Invalid arguments: /);
    expect(second).toContain('args[3]');
    expect(await run.invalid('concat', anys(null))).toContain('args[0]');
  });
});

describe('fail', () => {
  test('INTERNAL "Task execution failed: <msg>", recorded FAILED with the bare message', async () => {
    const { err, taskId } = await run.error('fail', anys('boom'), Status.INTERNAL);
    expect(err.details).toBe('Task execution failed: boom');
    expect(await server.client.getResult({ taskId })).toEqual({ status: TaskResponse_Status.FAILED, result: 'boom', attempts: 1 });
  });

  test('default message "fail" without a first string argument', async () => {
    const noArgs = await run.error('fail', [], Status.INTERNAL);
    expect(noArgs.err.details).toBe('Task execution failed: fail');
    expect(await server.client.getResult({ taskId: noArgs.taskId })).toEqual({ status: TaskResponse_Status.FAILED, result: 'fail', attempts: 1 });
    const numbersOnly = await run.error('fail', anys(42, true), Status.INTERNAL);
    expect(numbersOnly.err.details).toBe('Task execution failed: fail');
  });

  test('the first string argument wherever it is, as SPEC §5b says', async () => {
    expect((await run.error('fail', anys(1, 'second'), Status.INTERNAL)).err.details).toBe('Task execution failed: second');
    expect((await run.error('fail', anys(1, true, 'third', 'fourth'), Status.INTERNAL)).err.details).toBe('Task execution failed: third');
  });
});

describe('fib', () => {
  test('naive Fibonacci of n, any integer kind', async () => {
    expect(await run.ok('fib', anys(20))).toBe('6765');
    expect(await run.ok('fib', anys(arg.int64(20)))).toBe('6765');
    expect(await run.ok('fib', anys(arg.uint32(20)))).toBe('6765');
    expect(await run.ok('fib', anys(arg.uint64(20)))).toBe('6765');
    expect(await run.ok('fib', anys(0))).toBe('0');
    expect(await run.ok('fib', anys(1))).toBe('1');
    expect(await run.ok('fib', anys(25))).toBe('75025');
  });

  test('n outside 0..50, or not an integer, is INVALID', async () => {
    const tooBig = await run.invalid('fib', anys(51));
    expect(tooBig).toMatch(/^Invalid arguments: /);
    expect(tooBig).toContain('51');
    const negative = await run.invalid('fib', anys(-1));
    expect(negative).toMatch(/^Invalid arguments: /);
    expect(negative).toContain('-1');
    expect(await run.invalid('fib', anys(arg.int64('9223372036854775807')))).toMatch(/^Invalid arguments: /);
    expect(await run.invalid('fib', anys('20'))).toMatch(/^Invalid arguments: /);
    expect(await run.invalid('fib', anys(arg.double(20)))).toMatch(/^Invalid arguments: /);
    expect(await run.invalid('fib')).toMatch(/^Invalid arguments: /);
  });
});

describe('sleep', () => {
  test('waits n ms: "slept <n> ms"', async () => {
    const { result, elapsedMs } = await run.timed('sleep', anys(50));
    expect(result).toBe('slept 50 ms');
    expect(elapsedMs).toBeGreaterThanOrEqual(45);
    expect(await run.ok('sleep', anys(arg.int64(10)))).toBe('slept 10 ms');
    expect(await run.ok('sleep', anys(arg.uint64(0)))).toBe('slept 0 ms');
  });

  test('default 1000 ms', async () => {
    const { result, elapsedMs } = await run.timed('sleep');
    expect(result).toBe('slept 1000 ms');
    expect(elapsedMs).toBeGreaterThanOrEqual(990);
  });

  test('a negative n is INVALID', async () => {
    expect(await run.invalid('sleep', anys(-1))).toMatch(/^Invalid arguments: /);
    expect(await run.invalid('sleep', anys(arg.int64(-5)))).toMatch(/^Invalid arguments: /);
  });

  test('ends early when cancelled', async () => {
    const taskId = 'added-sleep-cancel';
    const started = Date.now();
    const res = await server.client.submitTask({ taskId, method: 'sleep', args: anys(60_000), detached: true });
    expect(res.status).toBe(TaskResponse_Status.PENDING);
    const cancel = await server.client.cancelTask({ taskId });
    expect(cancel.cancelled).toBe(true);
    const done = await server.client.waitResult({ taskId, timeoutMs: 5000 });
    expect(done.status).toBe(TaskResponse_Status.CANCELLED);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('long_running_task', () => {
  test('waits the first int arg ms: "Processed async task with <n> args"', async () => {
    const one = await run.timed('long_running_task', anys(20));
    expect(one.result).toBe('Processed async task with 1 args');
    expect(one.elapsedMs).toBeGreaterThanOrEqual(15);
    expect(one.elapsedMs).toBeLessThan(900);
    expect(await run.ok('long_running_task', anys(arg.int64(20), 'x'))).toBe('Processed async task with 2 args');
    expect(await run.ok('long_running_task', anys(5, 'x', [1], { a: 1 }))).toBe('Processed async task with 4 args');
  });

  test('waits 1000 ms by default', async () => {
    const { result, elapsedMs } = await run.timed('long_running_task');
    expect(result).toBe('Processed async task with 0 args');
    expect(elapsedMs).toBeGreaterThanOrEqual(990);
  });
});
