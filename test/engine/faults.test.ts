/** Tasks that misbehave: the server records a useful FAILED and keeps serving. */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

const ms = (n: number): Long => Long.fromNumber(n, true);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ libraryDir: 'test/fixtures/fault-plugins' });
});
afterAll(() => server.close());

test.each([
  ['faults::throw_string', 'Task execution failed: just a string'],
  ['faults::throw_null', 'Task execution failed: task threw null'],
  ['faults::reject_undefined', 'Task execution failed: task threw undefined'],
  ['faults::returns_number', "Task execution failed: task 'faults::returns_number' returned number, expected a string"],
])('%s → INTERNAL %j, recorded FAILED', async (method, message) => {
  const taskId = `fault-${method}`;
  const err = await expectGrpcError(server.client.submitTask({ taskId, method }));
  expect(err.code).toBe(Status.INTERNAL);
  expect(err.details).toBe(message);
  const got = await server.client.getResult({ taskId });
  expect(got.status).toBe(TaskResponse_Status.FAILED);
  expect(message.endsWith(got.result)).toBe(true);
});

test('a never-settling task ends at its execution timeout, and can be cancelled without one', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'forever-1', method: 'faults::never_settles', executionTimeoutMs: ms(100) }));
  expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
  await server.client.submitTask({ taskId: 'forever-2', method: 'faults::never_settles', detached: true });
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await server.client.cancelTask({ taskId: 'forever-2' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  expect(server.app.scheduler.stats().inFlight).toBe(0);
});

test('an inline sync task that overran its execution timeout answers DEADLINE_EXCEEDED', async () => {
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'overran', method: 'faults::spin_inline', args: [toAny(150)], executionTimeoutMs: ms(50) }));
  expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
  expect((await server.client.getResult({ taskId: 'overran' })).status).toBe(TaskResponse_Status.FAILED);
});

test('after all of that the server still answers', async () => {
  expect((await server.client.submitTask({ method: 'add', args: [toAny(40), toAny(2)] })).result).toBe('42');
});
