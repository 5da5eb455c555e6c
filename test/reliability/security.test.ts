/**
 * Security checks over the real server and CLI: map keys are data (no prototype pollution), client
 * text cannot forge log lines, the default bind is loopback. Token redaction: test/ecosystem/auth.test.ts;
 * TLS versions: test/ecosystem/tls.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Struct } from '../../generated/google/protobuf/struct';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny, TYPE_URL_PREFIX } from '../../src/args/encode-arg';
import { parseCliOptions } from '../../src/cli/options';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { escapeLineBreakers } from '../../src/logging/create-logger';
import { killCli, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

describe('map keys are data: "__proto__" and "constructor" round-trip, no prototype is touched', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ workerThreads: 0 });
  });
  afterAll(() => server.close());
  afterEach(() => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  const hostile = () => new Map<string, unknown>([
    ['__proto__', new Map([['polluted', 'yes']])],
    ['constructor', new Map([['prototype', new Map([['polluted', 'yes']])]])],
    ['toString', 1],
  ]);

  test('MapValue echoed: every key comes back as plain data, in order', async () => {
    const res = await server.client.submitTask({ method: 'echo', args: [toAny(hostile() as never)] });
    expect(res.result).toBe(
      '[{"map":{"__proto__":{"map":{"polluted":{"string":"yes"}}},"constructor":{"map":{"prototype":{"map":{"polluted":{"string":"yes"}}}}},"toString":{"int32":1}}}]',
    );
    // A client parsing the result with JSON.parse gets "__proto__" as an own key, not a prototype.
    const parsed = JSON.parse(res.result)[0].map as object;
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  test('JSON Struct keys and a task that reads map fields (process_person_map) do not pollute', async () => {
    const struct = { typeUrl: `${TYPE_URL_PREFIX}google.protobuf.Struct`, value: Struct.encode({ fields: new Map<string, unknown>([['__proto__', { polluted: 'yes' }], ['name', 'Ann']]) }).finish() };
    const res = await server.client.submitTask({ method: 'echo', args: [struct] });
    expect(res.result).toBe('[{"map":{"__proto__":{"map":{"polluted":{"string":"yes"}}},"name":{"string":"Ann"}}}]');
    const person = await server.client.submitTask({ method: 'process_person_map', args: [toAny(new Map<string, unknown>([['__proto__', 'x'], ['name', 'Bo']]) as never)] });
    expect(person.status).toBe(TaskResponse_Status.SUCCESS);
    expect(person.result).toContain('Name=Bo');
  });

  test('idempotency sees the keys as data: the same request answers the same, another value under "__proto__" is ALREADY_EXISTS', async () => {
    const request = { taskId: 'proto-keys', method: 'echo', args: [toAny(hostile() as never)] };
    const first = await server.client.submitTask(request);
    expect((await server.client.submitTask(request)).result).toBe(first.result);
    // A different value under "__proto__" is a different request.
    const other = { ...request, args: [toAny(new Map([['__proto__', 2]]))] };
    expect((await expectGrpcError(server.client.submitTask(other))).code).toBe(Status.ALREADY_EXISTS);
  });
});

describe('log injection: task ids and error text cannot forge lines', () => {
  let cli: CliProcess | undefined;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ts-sec-logs-'));
  });
  afterAll(async () => {
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  });

  const FORGED_CONSOLE = '2026-01-01T00:00:00.000Z error: FORGED';
  const FORGED_JSON = '{"level":"error","message":"FORGED"}';

  test('console and JSON-lines file at debug level: every line is one real record', async () => {
    const file = path.join(dir, 'debug.log');
    cli = await startCli(['-a', '127.0.0.1:0', '--log-file', file, '--log-level', 'debug', '-l', '', '--worker-threads', '0']);
    const { client, close } = createTaskSchedulerClient(cli.address);
    const evilId = `evil\n${FORGED_CONSOLE}\r\n${FORGED_JSON}\u0085${FORGED_CONSOLE}\u2028\u001b[2J`;
    const evilText = `boom\n${FORGED_CONSOLE}\n${FORGED_JSON}\u2029\u009b31m`;
    try {
      expect((await client.submitTask({ taskId: evilId.slice(0, 256), method: 'ping' })).status).toBe(TaskResponse_Status.SUCCESS);
      expect((await expectGrpcError(client.submitTask({ taskId: 'evil-fail', method: 'fail', args: [toAny(evilText)] }))).code).toBe(Status.INTERNAL);
      expect((await expectGrpcError(client.submitTask({ taskId: 'x', method: `no_such\n${FORGED_CONSOLE}` }))).code).toBe(Status.NOT_FOUND);
    } finally {
      close();
    }
    expect(await cli.stop()).toBe(0);
    const console = cli.output();
    const logFile = readFileSync(file, 'utf8');
    // The values were logged (escaped), so their absence as lines means something.
    expect(console).toContain('evil\\n2026-01-01');
    expect(logFile).toContain('boom\\n2026-01-01');
    for (const text of [console, logFile]) {
      const lines = text.split(/\r\n|\r|\n|\u0085|\u2028|\u2029/);
      expect(lines.filter((line) => line.startsWith(FORGED_CONSOLE) || line.startsWith(FORGED_JSON))).toEqual([]);
      expect(text).not.toMatch(/[\u001b\u0085\u009b\u2028\u2029]/);
    }
    for (const line of logFile.trim().split('\n')) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(typeof record['timestamp']).toBe('string');
      expect(record['message']).not.toBe('FORGED');
    }
  });

  test('escapeLineBreakers keeps JSON valid and the value the same', () => {
    const raw = JSON.stringify({ v: 'a\u0085b\u2028c\u007fd' });
    const escaped = escapeLineBreakers(raw);
    expect(escaped).toBe('{"v":"a\\u0085b\\u2028c\\u007fd"}');
    expect(JSON.parse(escaped)).toEqual({ v: 'a\u0085b\u2028c\u007fd' });
  });
});

test('the default listen address is loopback only (127.0.0.1:50051)', () => {
  const env = process.env['TASK_SCHEDULER_ADDR'];
  delete process.env['TASK_SCHEDULER_ADDR'];
  try {
    expect(parseCliOptions([])!.addr).toBe('127.0.0.1:50051');
  } finally {
    if (env !== undefined) process.env['TASK_SCHEDULER_ADDR'] = env;
  }
});
