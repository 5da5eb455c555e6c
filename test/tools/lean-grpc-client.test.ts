/** The bench's lean node:http2 gRPC client (bench/lean-grpc-client.ts) against the real server. */
import Long from 'long';
import { ResultResponse, TaskRequest, TaskResponse, TaskResponse_Status, WaitResultRequest } from '../../generated/taskscheduler/task_scheduler';
import { grpcFrame, methodPath, SUBMIT_TASK_PATH, WAIT_RESULT_PATH } from '../../bench/grpc-frame';
import { connectLeanClient, LeanCallError, type LeanGrpcClient } from '../../bench/lean-grpc-client';
import { toAny } from '../../src/args/encode-arg';
import { startTestServer, Status, type TestServer } from '../helpers/start-server';

let server: TestServer;
let client: LeanGrpcClient;
beforeAll(async () => {
  server = await startTestServer();
  client = await connectLeanClient(server.address);
});
afterAll(async () => {
  await client.close();
  await server.close();
});

const submit = (request: Parameters<typeof TaskRequest.fromPartial>[0]) => client.unary(SUBMIT_TASK_PATH, TaskRequest.encode(TaskRequest.fromPartial(request)).finish());

async function callError(call: Promise<unknown>): Promise<LeanCallError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof LeanCallError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

test('methodPath names the service as the proto does', () => {
  expect([SUBMIT_TASK_PATH, WAIT_RESULT_PATH, methodPath('listTasks')]).toEqual([
    '/taskscheduler.TaskScheduler/SubmitTask',
    '/taskscheduler.TaskScheduler/WaitResult',
    '/taskscheduler.TaskScheduler/ListTasks',
  ]);
});

test('a unary call answers the decoded message; a pre-framed body answers the same', async () => {
  expect(TaskResponse.decode(await submit({ taskId: 'lean-add', method: 'add', args: [toAny(40), toAny(2)] }))).toEqual({ taskId: 'lean-add', status: TaskResponse_Status.SUCCESS, result: '42', attempts: 1 });
  const frame = grpcFrame(TaskRequest.encode(TaskRequest.fromPartial({ method: 'add', args: [toAny(1), toAny(2)] })).finish());
  const answer = TaskResponse.decode(await client.unaryFramed(SUBMIT_TASK_PATH, frame));
  expect([answer.status, answer.result, answer.taskId.length > 0]).toEqual([TaskResponse_Status.SUCCESS, '3', true]);
});

test('detached submit, then WaitResult on the id read back', async () => {
  const submitted = TaskResponse.decode(await submit({ method: 'sleep', args: [toAny(20)], detached: true }));
  expect(submitted.status).toBe(TaskResponse_Status.PENDING);
  const waited = ResultResponse.decode(await client.unary(WAIT_RESULT_PATH, WaitResultRequest.encode({ taskId: submitted.taskId, timeoutMs: Long.UZERO }).finish()));
  expect(waited).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 20 ms', attempts: 1 });
});

test('a non-zero grpc-status rejects with its code and decoded message', async () => {
  const err = await callError(submit({ method: 'no_such_task' }));
  expect(err.code).toBe(Status.NOT_FOUND);
  expect(err.message).toBe('/taskscheduler.TaskScheduler/SubmitTask: grpc-status 5: Method not found: no_such_task');
  const unknownPath = await callError(client.unary('/taskscheduler.TaskScheduler/NoSuchRpc', new Uint8Array()));
  expect(unknownPath.code).toBe(Status.UNIMPLEMENTED);
});

test('hundreds of concurrent calls on the one session each get their own answer', async () => {
  const answers = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => TaskResponse.decode(await submit({ taskId: `lean-many-${i}`, method: 'add', args: [toAny(i), toAny(1)] }))),
  );
  answers.forEach((answer, i) => expect(answer).toEqual({ taskId: `lean-many-${i}`, status: TaskResponse_Status.SUCCESS, result: String(i + 1), attempts: 1 }));
});

test('a call after close rejects instead of hanging', async () => {
  const other = await connectLeanClient(server.address);
  await other.close();
  const err = await callError(other.unary(SUBMIT_TASK_PATH, new Uint8Array()));
  expect(err.code).toBeUndefined();
  expect(err.message).toMatch(/session is closed/);
});

test('connecting to a port nobody listens on rejects', async () => {
  await expect(connectLeanClient('127.0.0.1:1')).rejects.toThrow(/ECONNREFUSED/);
});
