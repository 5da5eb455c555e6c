/** SPEC §4: every error row this issue covers, over real gRPC, with code and message prefix. */
import { encodeArg, toAny } from '../../src/args/encode-arg';
import { arg } from '../../src/args/arg-value';
import type { Any } from '../../generated/google/protobuf/any';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { MemoryResultStore } from '../../src/results/memory-result-store';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

function nestedList(depth: number): Any {
  let value = arg.list([arg.int32(1)]);
  for (let i = 1; i < depth; i++) value = arg.list([value]);
  return encodeArg(value);
}

test('unknown method: NOT_FOUND "Method not found: <method>", checked before the arguments', async () => {
  const err = await expectGrpcError(
    server.client.submitTask({ method: 'no_such_task', args: [{ typeUrl: 'bogus.Type', value: new Uint8Array() }] }),
  );
  expect(err.code).toBe(Status.NOT_FOUND);
  expect(err.details).toBe('Method not found: no_such_task');
});

test('a very long unknown method name is quoted at ~100 characters', async () => {
  const err = await expectGrpcError(server.client.submitTask({ method: 'x'.repeat(5000) }));
  expect(err.code).toBe(Status.NOT_FOUND);
  expect(err.details.startsWith(`Method not found: ${'x'.repeat(100)}`)).toBe(true);
  expect(err.details.length).toBeLessThan(130);
});

test('empty method: INVALID_ARGUMENT', async () => {
  const err = await expectGrpcError(server.client.submitTask({ method: '' }));
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: method is empty/);
});

test('unsupported Any type: INVALID_ARGUMENT naming the argument path and type', async () => {
  const err = await expectGrpcError(
    server.client.submitTask({ method: 'echo', args: [toAny(1), toAny('a'), { typeUrl: 'type.googleapis.com/foo.Bar', value: new Uint8Array() }] }),
  );
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: args\[2\]: unsupported type 'foo\.Bar'/);
});

test('bad bytes inside a list: INVALID_ARGUMENT with the nested path', async () => {
  const badString: Any = { typeUrl: 'type.googleapis.com/google.protobuf.StringValue', value: Uint8Array.of(0x0a, 0x01, 0xff) };
  const list = encodeArg(arg.list([arg.int32(1)]));
  // Append the bad string as a second element by re-encoding a ListValue with raw Anys.
  const { ListValue } = await import('../../generated/taskscheduler/task_scheduler');
  const listBytes = ListValue.encode({ values: [encodeArg(arg.int32(1)), badString] }).finish();
  const err = await expectGrpcError(
    server.client.submitTask({ method: 'echo', args: [list, { typeUrl: list.typeUrl, value: listBytes }] }),
  );
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: args\[1\]\.values\[1\]: .*UTF-8/);
});

test('nesting: 64 levels accepted, 65 rejected with INVALID_ARGUMENT', async () => {
  const ok = await server.client.submitTask({ method: 'echo', args: [nestedList(64)] });
  expect(ok.status).toBe(TaskResponse_Status.SUCCESS);
  const err = await expectGrpcError(server.client.submitTask({ method: 'echo', args: [nestedList(65)] }));
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: args\[0\](\.values\[0\])+: nesting deeper than the limit of 64/);
});

test('the depth limit is configurable', async () => {
  const small = await startTestServer({ maxArgDepth: 2 });
  try {
    expect((await small.client.submitTask({ method: 'echo', args: [nestedList(2)] })).status).toBe(TaskResponse_Status.SUCCESS);
    expect((await expectGrpcError(small.client.submitTask({ method: 'echo', args: [nestedList(3)] }))).code).toBe(Status.INVALID_ARGUMENT);
  } finally {
    await small.close();
  }
});

test('self-dependency: INVALID_ARGUMENT, and the id stays free', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'selfie', method: 'ping', deps: ['selfie'] }));
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: .*selfie.*itself/);
  expect(await server.client.getResult({ taskId: 'selfie' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
});

test('unknown dependency: FAILED_PRECONDITION "Missing dependency: <id>", request not recorded', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'orphan', method: 'ping', deps: ['never-submitted'] }));
  expect(err.code).toBe(Status.FAILED_PRECONDITION);
  expect(err.details).toBe('Missing dependency: never-submitted');
  expect((await server.client.getResult({ taskId: 'orphan' })).status).toBe(TaskResponse_Status.NOT_FOUND);
  // The id is free: once the dependency exists, the same id is accepted.
  await server.client.submitTask({ taskId: 'never-submitted', method: 'ping' });
  expect((await server.client.submitTask({ taskId: 'orphan', method: 'ping', deps: ['never-submitted'] })).result).toBe('pong');
});

test('checks run in the order method, args, deps', async () => {
  const badArg: Any = { typeUrl: 'x.Unknown', value: new Uint8Array() };
  expect((await expectGrpcError(server.client.submitTask({ method: 'nope', args: [badArg], deps: ['missing'] }))).code).toBe(Status.NOT_FOUND);
  expect((await expectGrpcError(server.client.submitTask({ method: 'ping', args: [badArg], deps: ['missing'] }))).code).toBe(Status.INVALID_ARGUMENT);
  expect((await expectGrpcError(server.client.submitTask({ method: 'ping', deps: ['missing'] }))).code).toBe(Status.FAILED_PRECONDITION);
});

test('failed dependency: FAILED_PRECONDITION "Dependency failed: <id>"', async () => {
  await expectGrpcError(server.client.submitTask({ taskId: 'bad-dep', method: 'fail' }));
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'after-bad', method: 'ping', deps: ['bad-dep'] }));
  expect(err.code).toBe(Status.FAILED_PRECONDITION);
  expect(err.details).toBe('Dependency failed: bad-dep');
  expect((await server.client.getResult({ taskId: 'after-bad' })).status).toBe(TaskResponse_Status.NOT_FOUND);
});

test('task throws: INTERNAL "Task execution failed: <message>", recorded FAILED with its own message', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'boom', method: 'fail', args: [toAny('boom')] }));
  expect(err.code).toBe(Status.INTERNAL);
  expect(err.details).toBe('Task execution failed: boom');
  expect(await server.client.getResult({ taskId: 'boom' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'boom', attempts: 1 });
});

test('task rejects its arguments: INVALID_ARGUMENT, recorded FAILED without the prefix', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'bad-add', method: 'add', args: [toAny('x')] }));
  expect(err.code).toBe(Status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^Invalid arguments: Expected Int32 for add/);
  const got = await server.client.getResult({ taskId: 'bad-add' });
  expect(got.status).toBe(TaskResponse_Status.FAILED);
  expect(got.result).toMatch(/^Expected Int32 for add/);
});

test('status messages are capped at ~1 KB; the stored result keeps the full message', async () => {
  const long = 'y'.repeat(5000);
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'long-fail', method: 'fail', args: [toAny(long)] }));
  expect(err.code).toBe(Status.INTERNAL);
  expect(err.details.startsWith('Task execution failed: yyy')).toBe(true);
  expect(err.details.length).toBeLessThanOrEqual(1024);
  expect((await server.client.getResult({ taskId: 'long-fail' })).result).toBe(long);
});

test('same task id with a different request: ALREADY_EXISTS "Task already exists: <id>"', async () => {
  await server.client.submitTask({ taskId: 'dup', method: 'add', args: [toAny(1), toAny(2)] });
  for (const other of [
    { method: 'add', args: [toAny(1), toAny(3)] },
    { method: 'echo', args: [toAny(1), toAny(2)] },
    { method: 'add', args: [toAny(1), toAny(2)], deps: ['boom'] },
  ]) {
    const err = await expectGrpcError(server.client.submitTask({ taskId: 'dup', ...other }));
    expect(err.code).toBe(Status.ALREADY_EXISTS);
    expect(err.details).toMatch(/^Task already exists: dup/);
  }
});

test('a bug in the server is INTERNAL "Internal error" with no detail to the client', async () => {
  class BrokenStore extends MemoryResultStore {
    override get(): never {
      throw new Error('disk on fire');
    }
  }
  const broken = await startTestServer({}, { results: new BrokenStore() });
  try {
    const err = await expectGrpcError(broken.client.getResult({ taskId: 'x' }));
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.details).toBe('Internal error');
  } finally {
    await broken.close();
  }
});

test('shutting down: UNAVAILABLE "Shutting down"', async () => {
  const closing = await startTestServer();
  try {
    await closing.app.scheduler.close();
    const err = await expectGrpcError(closing.client.submitTask({ method: 'ping' }));
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(err.details).toBe('Shutting down');
  } finally {
    await closing.close();
  }
});
