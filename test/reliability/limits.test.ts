/**
 * Every request limit over real gRPC, each at the limit (accepted) and one past it (a clear error that
 * names the limit and its flag; nothing recorded). Small limits are configured so the requests stay
 * small; the defaults are checked separately. The queue bound (--max-queued-tasks) is tested in
 * test/lifecycle/limits.test.ts and test/lifecycle/cli-shutdown.test.ts.
 */
import { Struct } from '../../generated/google/protobuf/struct';
import { TaskRequest, TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import type { Any } from '../../generated/google/protobuf/any';
import { toAny, TYPE_URL_PREFIX } from '../../src/args/encode-arg';
import { DEFAULT_APP_CONFIG } from '../../src/app';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

let server: TestServer;
afterEach(() => server?.close());

/** Expects INVALID_ARGUMENT with exactly `details`, and that the request's id was not recorded. */
async function rejected(request: Partial<TaskRequest>, details: string | RegExp): Promise<void> {
  const err = await expectGrpcError(server.client.submitTask(request));
  expect({ code: Status[err.code], details: err.details }).toEqual({ code: 'INVALID_ARGUMENT', details: typeof details === 'string' ? details : expect.stringMatching(details) });
  if (request.taskId && request.taskId.length <= server.app.config.maxTaskIdLength) {
    expect((await server.client.getResult({ taskId: request.taskId })).status).toBe(TaskResponse_Status.NOT_FOUND);
  }
}

const json = (value: Record<string, unknown>): Any => ({ typeUrl: `${TYPE_URL_PREFIX}google.protobuf.Struct`, value: Struct.encode(Struct.wrap(value)).finish() });
const entries = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`k${i}`, i] as const));
const object = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

test('defaults are the documented ones', () => {
  expect({
    maxMessageBytes: DEFAULT_APP_CONFIG.maxMessageBytes,
    maxArgs: DEFAULT_APP_CONFIG.maxArgs,
    maxDeps: DEFAULT_APP_CONFIG.maxDeps,
    maxTaskIdLength: DEFAULT_APP_CONFIG.maxTaskIdLength,
    maxStringBytes: DEFAULT_APP_CONFIG.maxStringBytes,
    maxMapEntries: DEFAULT_APP_CONFIG.maxMapEntries,
    maxArgDepth: DEFAULT_APP_CONFIG.maxArgDepth,
    maxQueuedTasks: DEFAULT_APP_CONFIG.maxQueuedTasks,
  }).toEqual({
    maxMessageBytes: 4 * 1024 * 1024,
    maxArgs: 10_000,
    maxDeps: 1_000,
    maxTaskIdLength: 256,
    maxStringBytes: 1024 * 1024,
    maxMapEntries: 10_000,
    maxArgDepth: 64,
    maxQueuedTasks: 100_000,
  });
});

test('default limits over gRPC: 10 000 args, a 256-character id and a 1 MiB string pass; one more fails', async () => {
  server = await startTestServer({ workerThreads: 0 });
  const ints = (n: number) => Array.from({ length: n }, () => toAny(1));
  expect((await server.client.submitTask({ method: 'add', args: ints(10_000) })).result).toBe('10000');
  await rejected({ method: 'add', args: ints(10_001) }, 'Invalid arguments: 10001 args is over the limit of 10000 (--max-args)');
  expect((await server.client.submitTask({ taskId: 'i'.repeat(256), method: 'ping' })).taskId).toBe('i'.repeat(256));
  await rejected({ taskId: 'i'.repeat(257), method: 'ping' }, 'Invalid arguments: task_id is 257 characters, over the limit of 256 (--max-task-id-length)');
  const mib = 1024 * 1024;
  expect((await server.client.submitTask({ method: 'delete', args: [toAny('s'.repeat(mib))] })).result).toBe('Deleted 1 items');
  await rejected({ method: 'delete', args: [toAny('s'.repeat(mib + 1))] }, `Invalid arguments: args[0]: string of ${mib + 1} bytes is over the limit of ${mib} bytes (--max-string-bytes)`);
});

describe('configured limits', () => {
  beforeEach(async () => {
    server = await startTestServer({
      workerThreads: 0,
      maxArgs: 3,
      maxDeps: 2,
      maxTaskIdLength: 8,
      maxStringBytes: 10,
      maxMapEntries: 3,
      maxArgDepth: 2,
      maxMessageBytes: 64 * 1024,
    });
  });

  test('--max-args 3: 3 args run, 4 are refused', async () => {
    expect((await server.client.submitTask({ taskId: 'args3', method: 'add', args: [toAny(1), toAny(2), toAny(3)] })).result).toBe('6');
    await rejected({ taskId: 'args4', method: 'add', args: [toAny(1), toAny(2), toAny(3), toAny(4)] }, 'Invalid arguments: 4 args is over the limit of 3 (--max-args)');
  });

  test('--max-deps 2: 2 deps run, 3 are refused before any lookup', async () => {
    for (const id of ['d1', 'd2']) await server.client.submitTask({ taskId: id, method: 'ping' });
    expect((await server.client.submitTask({ taskId: 'deps2', method: 'ping', deps: ['d1', 'd2'] })).status).toBe(TaskResponse_Status.SUCCESS);
    // d3 does not exist: the count is checked first, so the answer is the limit, not "Missing dependency".
    await rejected({ taskId: 'deps3', method: 'ping', deps: ['d1', 'd2', 'd3'] }, 'Invalid arguments: 3 deps is over the limit of 2 (--max-deps)');
  });

  test('--max-task-id-length 8: an 8-character id is kept, 9 characters are refused (own id and dependency ids)', async () => {
    expect((await server.client.submitTask({ taskId: '12345678', method: 'ping' })).taskId).toBe('12345678');
    expect((await server.client.getResult({ taskId: '12345678' })).status).toBe(TaskResponse_Status.SUCCESS);
    await rejected({ taskId: '123456789', method: 'ping' }, 'Invalid arguments: task_id is 9 characters, over the limit of 8 (--max-task-id-length)');
    await rejected({ taskId: 'ok', method: 'ping', deps: ['12345678', '123456789'] }, 'Invalid arguments: deps[1] is 9 characters, over the limit of 8 (--max-task-id-length)');
    // Lookups take any id: a longer one was never stored.
    expect((await server.client.getResult({ taskId: '123456789' })).status).toBe(TaskResponse_Status.NOT_FOUND);
  });

  test('--max-string-bytes 10: strings (UTF-8 bytes), bytes, JSON strings and map keys of 10 bytes pass; 11 fail', async () => {
    const ok = (arg: Any) => server.client.submitTask({ method: 'delete', args: [arg] });
    expect((await ok(toAny('ééééé'))).result).toBe('Deleted 1 items'); // 5 characters, 10 bytes
    await rejected({ method: 'delete', args: [toAny('éééééa')] }, 'Invalid arguments: args[0]: string of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
    expect((await ok(toAny(new Uint8Array(10)))).result).toBe('Deleted 1 items');
    await rejected({ method: 'delete', args: [toAny(new Uint8Array(11))] }, 'Invalid arguments: args[0]: bytes of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
    expect((await ok(json({ k: 'x'.repeat(10) }))).result).toBe('Deleted 1 items');
    await rejected({ method: 'delete', args: [json({ k: 'x'.repeat(11) })] }, 'Invalid arguments: args[0].fields["k"]: string of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
    expect((await ok(toAny(new Map([['k'.repeat(10), 1]])))).result).toBe('Deleted 1 items');
    await rejected({ method: 'delete', args: [toAny(new Map([['k'.repeat(11), 1]]))] }, 'Invalid arguments: args[0]: key of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
    await rejected({ method: 'delete', args: [json({ ['k'.repeat(11)]: 1 })] }, 'Invalid arguments: args[0]: key of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
    // Inside a list, the path names the element.
    await rejected({ method: 'delete', args: [toAny(['short', 'x'.repeat(11)])] }, 'Invalid arguments: args[0].values[1]: string of 11 bytes is over the limit of 10 bytes (--max-string-bytes)');
  });

  test('--max-map-entries 3: maps and structs of 3 entries pass; 4 fail', async () => {
    expect((await server.client.submitTask({ method: 'echo', args: [toAny(entries(3))] })).result).toBe('[{"map":{"k0":{"int32":0},"k1":{"int32":1},"k2":{"int32":2}}}]');
    await rejected({ method: 'echo', args: [toAny(entries(4))] }, 'Invalid arguments: args[0]: map has more than the limit of 3 entries (--max-map-entries)');
    expect((await server.client.submitTask({ method: 'echo', args: [json(object(3))] })).status).toBe(TaskResponse_Status.SUCCESS);
    await rejected({ method: 'echo', args: [json(object(4))] }, 'Invalid arguments: args[0]: map has more than the limit of 3 entries (--max-map-entries)');
  });

  test('--max-arg-depth 2: depth 2 passes, depth 3 fails naming the path', async () => {
    expect((await server.client.submitTask({ method: 'echo', args: [toAny([[1]])] })).result).toBe('[{"list":[{"list":[{"int32":1}]}]}]');
    await rejected({ method: 'echo', args: [toAny([[[1]]])] }, 'Invalid arguments: args[0].values[0].values[0]: nesting deeper than the limit of 2 (--max-arg-depth)');
  });

  test('--max-message-bytes 65536: a request of exactly 65536 bytes runs; 65537 bytes is RESOURCE_EXHAUSTED naming both sizes', async () => {
    // Padded with a bytes argument, so this server keeps the default string limit.
    await server.close();
    server = await startTestServer({ workerThreads: 0, maxMessageBytes: 64 * 1024 });
    const sized = (total: number): TaskRequest => {
      for (let pad = total; pad > 0; pad--) {
        const request = TaskRequest.fromPartial({ method: 'delete', args: [toAny(new Uint8Array(pad))] });
        const size = TaskRequest.encode(request).finish().length;
        if (size === total) return request;
        if (size < total) break;
      }
      throw new Error(`no padding gives exactly ${total} bytes`);
    };
    const atLimit = sized(64 * 1024);
    expect(TaskRequest.encode(atLimit).finish().length).toBe(65536);
    expect((await server.client.submitTask(atLimit)).result).toBe('Deleted 1 items');
    const err = await expectGrpcError(server.client.submitTask(sized(64 * 1024 + 1)));
    expect(Status[err.code]).toBe('RESOURCE_EXHAUSTED');
    expect(err.details).toBe('Received message larger than max (65537 vs 65536)');
    // The connection is fine afterwards.
    expect((await server.client.submitTask({ method: 'ping' })).result).toBe('pong');
  });
});
