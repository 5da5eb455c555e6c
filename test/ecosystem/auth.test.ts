/**
 * Bearer-token authentication (`authTokens`, `--auth-token`, `--auth-token-file`): every service but
 * grpc.health.v1.Health needs `authorization: Bearer <token>` — reflection included — and the tokens
 * never reach the logs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { connectHealth, ServingStatus } from './health-client';
import { bufCurl, runCli, startCli } from './processes';

jest.setTimeout(90_000);

let dir: string;
let server: TestServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-eco-auth-'));
  server = await startTestServer({ libraryDir: '', workerThreads: 0, authTokens: ['s3cret', 'other'] });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const addRequest = { method: 'add', args: [toAny(1), toAny(2)] };

/** `add(1, 2)` with `token` (none when undefined): the result, or the gRPC error's code and message. */
async function addWith(address: string, token: string | undefined): Promise<string | { code: Status; details: string }> {
  const { client, close } = createTaskSchedulerClient(address, token === undefined ? {} : { token });
  try {
    const res = await client.submitTask(addRequest, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(TaskResponse_Status.SUCCESS);
    return res.result;
  } catch (err) {
    const { code, details } = await expectGrpcError(Promise.reject(err));
    return { code, details };
  } finally {
    close();
  }
}

describe('in-process server with authTokens [s3cret, other]', () => {
  test('no token: UNAUTHENTICATED, saying how to send one', async () => {
    expect(await addWith(server.address, undefined)).toEqual({ code: Status.UNAUTHENTICATED, details: expect.stringContaining('authorization: Bearer <token>') });
    const err = await expectGrpcError(server.client.listTasks({}));
    expect(err.code).toBe(Status.UNAUTHENTICATED);
  });

  test('a wrong token (or a prefix of a right one): UNAUTHENTICATED "Invalid token"', async () => {
    for (const token of ['wrong', 's3cre', 's3cretX', 'S3CRET']) {
      expect(await addWith(server.address, token)).toEqual({ code: Status.UNAUTHENTICATED, details: 'Invalid token' });
    }
  });

  test('either configured token works', async () => {
    expect(await addWith(server.address, 's3cret')).toBe('3');
    expect(await addWith(server.address, 'other')).toBe('3');
  });

  test('a refused call runs nothing', async () => {
    const { client, close } = createTaskSchedulerClient(server.address, { token: 'wrong' });
    await expectGrpcError(client.submitTask({ taskId: 'refused', method: 'add', args: [toAny(1)] }));
    close();
    const authed = createTaskSchedulerClient(server.address, { token: 's3cret' });
    expect(await authed.client.getResult({ taskId: 'refused' })).toMatchObject({ status: TaskResponse_Status.NOT_FOUND });
    authed.close();
  });

  test('TaskSchedulerAdmin needs the token too (pausing a method is not for anyone)', async () => {
    const anonymous = createTaskSchedulerClient(server.address);
    expect((await expectGrpcError(anonymous.admin.pauseMethod({ method: 'add' }))).code).toBe(Status.UNAUTHENTICATED);
    anonymous.close();
    const authed = createTaskSchedulerClient(server.address, { token: 's3cret' });
    expect((await authed.admin.resumeMethod({ method: 'add' })).pausedMethods).toEqual([]); // the refused pause did nothing
    authed.close();
  });

  test('grpc.health.v1.Health/Check answers without a token', async () => {
    const { health, close } = connectHealth(server.address);
    try {
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.SERVING });
    } finally {
      close();
    }
  });

  describe('server reflection through buf curl', () => {
    const grpc = ['--protocol', 'grpc', '--http2-prior-knowledge'];
    const base = () => `http://${server.address}`;
    const body = JSON.stringify({ method: 'add', args: [{ '@type': 'type.googleapis.com/google.protobuf.Int32Value', value: 40 }, { '@type': 'type.googleapis.com/google.protobuf.Int32Value', value: 2 }] });

    test('refused without a token, and with a wrong one', async () => {
      for (const headers of [[], ['--reflect-header', 'authorization: Bearer nope']]) {
        const res = await bufCurl([...grpc, ...headers, '--list-services', base()], dir);
        expect(res.status).not.toBe(0);
        expect(res.stdout).not.toContain('taskscheduler.TaskScheduler');
        // buf words UNAUTHENTICATED as its own login hint.
        expect(res.stderr).toMatch(/not authenticated|unauthenticated/i);
      }
    });

    test('works with the token; buf curl sends -H headers to reflection only with --reflect-header "*"', async () => {
      const list = await bufCurl([...grpc, '--reflect-header', 'authorization: Bearer s3cret', '--list-services', base()], dir);
      expect(list.stderr).toBe('');
      expect(list.stdout.trim().split('\n').sort()).toEqual(['grpc.health.v1.Health', 'taskscheduler.TaskScheduler', 'taskscheduler.TaskSchedulerAdmin']);
      const call = await bufCurl([...grpc, '-H', 'authorization: Bearer s3cret', '--reflect-header', '*', '-d', body, `${base()}/taskscheduler.TaskScheduler/SubmitTask`], dir);
      expect(call.stderr).toBe('');
      expect(JSON.parse(call.stdout)).toMatchObject({ status: 'SUCCESS', result: '42' });
    });

    test('reflection allowed but the call itself without a token: unauthenticated; Health needs none', async () => {
      const reflectOnly = ['--reflect-header', 'authorization: Bearer other'];
      const call = await bufCurl([...grpc, ...reflectOnly, '-d', body, `${base()}/taskscheduler.TaskScheduler/SubmitTask`], dir);
      expect(call.status).not.toBe(0);
      expect(JSON.parse(call.stdout || call.stderr)).toMatchObject({ code: 'unauthenticated' });
      const health = await bufCurl([...grpc, ...reflectOnly, '-d', '{}', `${base()}/grpc.health.v1.Health/Check`], dir);
      expect(health.stderr).toBe('');
      expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
    });
  });
});

describe('CLI', () => {
  const quiet = ['-a', '127.0.0.1:0', '--library-dir', '', '--worker-threads', '0'];

  test('the token never appears in the log file or the console, even at debug level', async () => {
    const logFile = path.join(dir, 'debug.log');
    const cli = await startCli([...quiet, '--auth-token', 's3cret', '--log-file', logFile], { env: { TASK_SCHEDULER_LOG_LEVEL: 'debug' } });
    let exitCode: number | null = null;
    try {
      expect(await addWith(cli.address, 's3cret')).toBe('3');
      expect(await addWith(cli.address, undefined)).toMatchObject({ code: Status.UNAUTHENTICATED });
      expect(await addWith(cli.address, 'wrong')).toMatchObject({ code: Status.UNAUTHENTICATED });
      const { client, close } = createTaskSchedulerClient(cli.address, { token: 's3cret' });
      try {
        expect((await expectGrpcError(client.submitTask({ method: 'fail', args: [toAny('boom')] }))).code).toBe(Status.INTERNAL);
        expect((await expectGrpcError(client.submitTask({ method: 'no_such_task' }))).code).toBe(Status.NOT_FOUND);
        expect((await client.submitTask({ method: 'echo', args: [toAny('hello')] })).status).toBe(TaskResponse_Status.SUCCESS);
      } finally {
        close();
      }
    } finally {
      exitCode = await cli.stop('SIGTERM');
    }
    expect(exitCode).toBe(0);
    const log = readFileSync(logFile, 'utf8');
    // Debug logging really was on and the calls were logged, so absence of the token means something.
    expect(log).toContain('"auth":"bearer"');
    expect(log).toMatch(/"level":"debug".*task finished|task finished.*"level":"debug"/);
    expect(log).toContain('boom');
    expect(log).not.toContain('s3cret');
    expect(cli.output()).toContain('task finished');
    expect(cli.output()).not.toContain('s3cret');
  });

  test('--auth-token-file: one token per line, # comments and blank lines ignored', async () => {
    const file = path.join(dir, 'tokens.txt');
    writeFileSync(file, '# accepted bearer tokens\n\n  s3cret  \r\n\n# old one, revoked:\n#revoked\nother\n\n');
    const cli = await startCli([...quiet, '--log-dir', '', '--auth-token-file', file]);
    try {
      expect(await addWith(cli.address, 's3cret')).toBe('3');
      expect(await addWith(cli.address, 'other')).toBe('3');
      for (const refused of [undefined, 'revoked', '#revoked', '#']) {
        expect(await addWith(cli.address, refused)).toMatchObject({ code: Status.UNAUTHENTICATED });
      }
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });

  test.each([
    ['an empty file', ''],
    ['only comments and blank lines', '# nothing here\n\n   \n# still nothing\n'],
  ])('--auth-token-file with %s: exit code 2 and a clear message', async (_what, content) => {
    const file = path.join(dir, `empty-${content.length}.txt`);
    writeFileSync(file, content);
    const res = await runCli([...quiet, '--log-dir', '', '--auth-token-file', file]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(`--auth-token-file: ${file} holds no token`);
    expect(res.stdout + res.stderr).not.toContain('listening on');
  });

  test.each([
    ['--auth-token \'\'', ['--auth-token', ''], {}],
    ['an empty TASK_SCHEDULER_AUTH_TOKEN', [], { TASK_SCHEDULER_AUTH_TOKEN: '' }],
    ['an empty token beside a valid one', ['--auth-token', 's3cret', '--auth-token', ''], {}],
  ] as const)('fails closed on %s: exit code 2 and one message, never a server without auth', async (_what, args, env) => {
    const res = await runCli([...quiet, '--log-dir', '', ...args], env);
    expect(res.status).toBe(2);
    // The same form as every bad flag: the message, then the --help hint.
    expect(res.stderr.trim().split('\n')).toEqual([
      'task-scheduler: --auth-token is empty (from the flag or TASK_SCHEDULER_AUTH_TOKEN): give a token, or leave both out to run without auth',
      'Run with --help to list the options.',
    ]);
    expect(res.stdout + res.stderr).not.toContain('listening on');
  });

  test('--auth-token-file that does not exist: exit code 2 naming the flag', async () => {
    const file = path.join(dir, 'missing-tokens.txt');
    const res = await runCli([...quiet, '--log-dir', '', '--auth-token-file', file]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(`--auth-token-file: cannot read ${file}`);
  });
});
