/** `buf curl` with the repository's proto files, and with tokens on, exactly as the README shows it. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

describe("the README's buf curl lines for a server with tokens", () => {
  let authed: TestServer;
  beforeAll(async () => {
    authed = await startTestServer({ libraryDir: '', workerThreads: 0, authTokens: ['s3cret'] });
  });
  afterAll(() => authed.close());

  /** The shell block after "`buf curl` with tokens on" in the README: `TOKEN=…` and the buf curl commands. */
  function readmeCommands(): { token: string; commands: string[][] } {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**`buf curl` with tokens on.**'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace(/\\\n\s*/g, ' ');
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const token = /^TOKEN=(\S+)$/.exec(lines[0]!)![1]!;
    const commands = lines.slice(1).map((line) => shellWords(line.replace(/\$TOKEN/g, token).replace(/127\.0\.0\.1:50051/g, authed.address)));
    return { token, commands };
  }

  /** Splits a command line as sh does for these lines: blanks, '…' and "…" quoting. */
  function shellWords(line: string): string[] {
    return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3]!);
  }

  function runBuf(words: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    expect(words.slice(0, 3)).toEqual(['npx', 'buf', 'curl']);
    return new Promise((resolve) => {
      execFile(BUF, words.slice(2), { cwd: ROOT, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  }

  test('the token line names a token the server accepts, and each command works as shown', async () => {
    const { token, commands } = readmeCommands();
    expect(token).toBe('s3cret');
    expect(commands).toHaveLength(3);
    const [list, submit, health] = await Promise.all(commands.map(runBuf));
    expect(list).toMatchObject({ status: 0, stderr: '' });
    expect(list!.stdout.trim().split('\n').sort()).toEqual(['grpc.health.v1.Health', 'taskscheduler.TaskScheduler', 'taskscheduler.TaskSchedulerAdmin']);
    expect(submit).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(submit!.stdout)).toMatchObject({ status: 'SUCCESS', result: 'pong' });
    // Health without a token, from the committed descriptor set instead of reflection.
    expect(health!.stdout.includes('authorization')).toBe(false);
    expect(health).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(health!.stdout)).toEqual({ status: 'SERVING' });
  });

  test("without a token, buf words the server's UNAUTHENTICATED as its own BUF_TOKEN hint (what the README explains)", async () => {
    const res = await runBuf(['npx', 'buf', 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-services', `http://${authed.address}`]);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('you are not authenticated. Set the BUF_TOKEN environment variable');
  });
});
