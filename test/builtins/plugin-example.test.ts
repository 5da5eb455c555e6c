/** SPEC §5a (plugin example) and §5c: the repository's libraries/plugin_example.js served by default. */
import { arg } from '../../src/args/arg-value';
import { startTestServer, type TestServer } from '../helpers/start-server';
import { anys, builtinRunner } from './builtin-client';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const run = builtinRunner(() => server, 'plugin');

describe('plugin_example::multiply', () => {
  test('product of int32 arguments', async () => {
    expect(await run.ok('plugin_example::multiply', anys(6, 7))).toBe('42');
    expect(await run.ok('plugin_example::multiply', anys(-3, 5, 2))).toBe('-30');
    expect(await run.ok('plugin_example::multiply', anys(9))).toBe('9');
    expect(await run.ok('plugin_example::multiply', anys(4, 0))).toBe('0');
  });

  test('no arguments is 1', async () => {
    expect(await run.ok('plugin_example::multiply')).toBe('1');
  });

  test('a non-int32 argument is INVALID "Expected Int32 for multiply"', async () => {
    const expected = /^Invalid arguments: Expected Int32 for multiply\b/;
    expect(await run.invalid('plugin_example::multiply', anys(6, 'x'))).toMatch(expected);
    expect(await run.invalid('plugin_example::multiply', anys(arg.int64(6), 7))).toMatch(expected);
    expect(await run.invalid('plugin_example::multiply', anys(arg.float(2)))).toMatch(expected);
    expect(await run.invalid('plugin_example::multiply', anys([6, 7]))).toMatch(expected);
  });
});

describe('plugin_example::delayed_echo', () => {
  test('waits 500 ms, then echoes its string arguments joined with " "', async () => {
    const { result, elapsedMs } = await run.timed('plugin_example::delayed_echo', anys('hello', 'world'));
    expect(result).toBe('Echo after delay: hello world');
    expect(elapsedMs).toBeGreaterThanOrEqual(490);
  });

  test('non-string arguments are skipped', async () => {
    expect(await run.ok('plugin_example::delayed_echo', anys(1, 'only', true, 'strings'))).toBe('Echo after delay: only strings');
  });

  test('no string arguments: "no message"', async () => {
    const { result, elapsedMs } = await run.timed('plugin_example::delayed_echo');
    expect(result).toBe('Echo after delay: no message');
    expect(elapsedMs).toBeGreaterThanOrEqual(490);
    expect(await run.ok('plugin_example::delayed_echo', anys(5, [1]))).toBe('Echo after delay: no message');
  });
});
