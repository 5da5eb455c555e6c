import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test('add over real gRPC', async () => {
  const res = await server.client.submitTask({ taskId: 't1', method: 'add', args: [toAny(1), toAny(2), toAny(3)] });
  expect(res).toEqual({ taskId: 't1', status: TaskResponse_Status.SUCCESS, result: '6' });
  const got = await server.client.getResult({ taskId: 't1' });
  expect(got).toEqual({ status: TaskResponse_Status.SUCCESS, result: '6' });
});

test('unknown method', async () => {
  const err = await expectGrpcError(server.client.submitTask({ method: 'nope' }));
  expect(err.code).toBe(Status.NOT_FOUND);
  expect(err.details).toBe('Method not found: nope');
});
