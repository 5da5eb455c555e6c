/** The command line (SPEC §6), run as users run it: `node dist/src/cli/main.js` in a child process. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, ROOT, runCli, startCli, type CliProcess } from '../helpers/cli';

let logDir: string;
const started: CliProcess[] = [];

beforeAll(() => {
  assertBuilt();
  logDir = mkdtempSync(path.join(os.tmpdir(), 'ts-cli-logs-'));
});
afterEach(async () => {
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const cli = await startCli(args, { env });
  started.push(cli);
  return cli;
}

test('serves on port 0, names the real address, answers calls, and exits 0 on SIGTERM', async () => {
  const cli = await start(['-a', '127.0.0.1:0', '--log-dir', logDir]);
  expect(cli.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  const { client, close } = createTaskSchedulerClient(cli.address);
  try {
    expect(await client.submitTask({ method: 'add', args: [toAny(1), toAny(2), toAny(3)] })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: '6' });
    expect((await client.submitTask({ method: 'plugin_example::multiply', args: [toAny(6), toAny(7)] })).result).toBe('42');
  } finally {
    close();
  }
  expect(await cli.stop('SIGTERM')).toBe(0);
  // One timestamped JSON-lines file with the ready line.
  const files = readdirSync(logDir).filter((f) => /^task-scheduler-.*\.log$/.test(f));
  expect(files.length).toBeGreaterThanOrEqual(1);
  const lines = readFileSync(path.join(logDir, files[0]!), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.some((line) => line['message'] === `Task Scheduler listening on ${cli.address}` && line['level'] === 'info' && typeof line['timestamp'] === 'string')).toBe(true);
});

test('SIGINT also stops it with exit code 0; flags come from TASK_SCHEDULER_* env vars', async () => {
  const cli = await start([], { TASK_SCHEDULER_ADDR: '127.0.0.1:0', TASK_SCHEDULER_LOG_DIR: '', TASK_SCHEDULER_LOG_LEVEL: 'debug' });
  expect(cli.address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(await cli.stop('SIGINT')).toBe(0);
});

test('--log-file appends to one file', async () => {
  const file = path.join(logDir, 'fixed.log');
  for (let i = 0; i < 2; i++) {
    const cli = await start(['-a', '127.0.0.1:0', '--log-file', file]);
    await cli.stop('SIGTERM');
  }
  const ready = readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('Task Scheduler listening on'));
  expect(ready).toHaveLength(2);
});

test('--help lists every flag with its default and exits 0', async () => {
  const res = await runCli(['--help']);
  expect(res.status).toBe(0);
  for (const flag of ['--addr', '-a', '--library-dir', '-l', '--dependency-timeout-ms', '--result-ttl-secs', '--log-level', '--log-dir', '--max-arg-depth']) {
    expect(res.stdout).toContain(flag);
  }
  expect(res.stdout).toContain('127.0.0.1:50051');
  expect(res.stdout).toContain('30000');
  // Every flag can be set from the environment, and the help says how.
  expect(res.stdout).toContain('TASK_SCHEDULER_<FLAG>');
  expect(res.stdout).toContain('TASK_SCHEDULER_ADDR=');
});

test('--version prints the package version and exits 0', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const res = await runCli(['--version']);
  expect(res).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
});

test('a bare --addr is an error (not the default, not TASK_SCHEDULER_ADDR); --max-args abc quotes "abc"', async () => {
  for (const args of [['--addr'], ['-a'], ['--addr', '--log-dir', '']]) {
    const res = await runCli(args, { TASK_SCHEDULER_ADDR: '127.0.0.1:0' });
    expect({ args, status: res.status }).toEqual({ args, status: 2 });
    expect(res.stderr).toMatch(/^task-scheduler: (--addr|-a) needs a value/);
    expect(res.stdout).not.toContain('listening');
  }
  const res = await runCli(['-a', '127.0.0.1:0', '--max-args', 'abc']);
  expect(res.status).toBe(2);
  expect(res.stderr).toContain('--max-args must be a whole number ≥ 0, got "abc"');
});

test('a bare port binds 127.0.0.1, for --addr and --metrics-addr alike', async () => {
  const cli = await start(['-a', '0', '--metrics-addr', '0', '--log-dir', '', '-l', '']);
  expect(cli.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  expect(cli.readyLine).toMatch(/"metrics":"http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics"/);
  expect(await cli.stop()).toBe(0);
});

test.each([
  [['--no-such-flag'], /Unknown argument/],
  [['-a', 'localhost'], /invalid address "localhost"/],
  [['-a', '127.0.0.1:70000'], /port 70000 is above 65535/],
  [['--result-ttl-secs', '-5'], /--result-ttl-secs must be a whole number/],
  [['--log-level', 'loud'], /Invalid values/],
])('bad flags %j: a clear message, exit code 2, no stack trace', async (args, message) => {
  const res = await runCli(args);
  expect(res.status).toBe(2);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).toContain('--help');
  expect(res.stderr).not.toMatch(/\n\s+at /);
});

test('an address in use: a clear error and exit code 1', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const res = await runCli(['-a', `127.0.0.1:${port}`, '--log-dir', '', '-l', '']);
    expect(res.status).toBe(1);
    // One line, ours, with the reason; nothing from grpc-js (it used to print "E No address added…" first).
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE: address already in use`))]);
  } finally {
    blocker.close();
  }
});
