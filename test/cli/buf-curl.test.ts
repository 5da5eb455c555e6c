/** `buf curl` with the repository's proto files, exactly as the README shows it. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/start-server';

const ROOT = path.resolve(__dirname, '../..');
const BUF = path.join(ROOT, 'node_modules/.bin/buf');
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** Runs buf curl without blocking this process (the server under test lives in it). */
function bufCurl(method: string, body: unknown): Promise<{ status: number; stdout: string; stderr: string }> {
  const args = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--schema', 'proto', '-d', JSON.stringify(body), `http://${server.address}/taskscheduler.TaskScheduler/${method}`];
  return new Promise((resolve) => {
    execFile(BUF, args, { cwd: ROOT, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const int32 = (value: number) => ({ '@type': 'type.googleapis.com/google.protobuf.Int32Value', value });

test('SubmitTask with Any arguments written as JSON with @type', async () => {
  const res = await bufCurl('SubmitTask', { task_id: 'curl-add', method: 'add', args: [int32(1), int32(2), int32(3)] });
  expect(res.stderr).toBe('');
  expect(JSON.parse(res.stdout)).toEqual({ taskId: 'curl-add', status: 'SUCCESS', result: '6', attempts: 1 });
  expect(JSON.parse((await bufCurl('GetResult', { task_id: 'curl-add' })).stdout)).toEqual({ status: 'SUCCESS', result: '6', attempts: 1 });
});

test('ListValue / MapValue / JSON Value arguments', async () => {
  const res = await bufCurl('SubmitTask', {
    method: 'echo',
    args: [
      { '@type': 'type.googleapis.com/taskscheduler.ListValue', values: [int32(1)] },
      { '@type': 'type.googleapis.com/taskscheduler.MapValue', fields: { k: { '@type': 'type.googleapis.com/google.protobuf.BoolValue', value: true } } },
      { '@type': 'type.googleapis.com/google.protobuf.Value', value: { a: [1, 'x', null] } },
    ],
  });
  expect(JSON.parse(res.stdout).result).toBe('[{"list":[{"int32":1}]},{"map":{"k":{"bool":true}}},{"map":{"a":{"list":[{"double":1},{"string":"x"},{"null":null}]}}}]');
});

test('errors come back as gRPC statuses', async () => {
  const res = await bufCurl('SubmitTask', { method: 'nope' });
  expect(res.status).not.toBe(0);
  expect(JSON.parse(res.stdout || res.stderr)).toEqual({ code: 'not_found', message: 'Method not found: nope' });
});

test("the README's retry_policy example: three attempts, the last one's error, attempts in GetResult", async () => {
  const res = await bufCurl('SubmitTask', {
    task_id: 'curl-retry',
    method: 'fail',
    args: [{ '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'flaky' }],
    retry_policy: { max_attempts: 3, initial_backoff_ms: 200, max_backoff_ms: 1000, backoff_multiplier: 2 },
  });
  expect(res.status).not.toBe(0);
  expect(JSON.parse(res.stdout || res.stderr)).toEqual({ code: 'internal', message: 'Task execution failed: flaky' });
  expect(JSON.parse((await bufCurl('GetResult', { task_id: 'curl-retry' })).stdout)).toEqual({ status: 'FAILED', result: 'flaky', attempts: 3 });
});
