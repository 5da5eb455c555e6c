/** The command line (SPEC §6), run as users run it: `node dist/src/cli/main.js` in a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/cli/main.js');
let logDir: string;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  logDir = mkdtempSync(path.join(os.tmpdir(), 'ts-cli-logs-'));
});
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

interface Started {
  readonly child: ChildProcess;
  readonly address: string;
  output(): string;
  exit(): Promise<number | null>;
}

/** Starts the CLI and resolves once its ready line names the address. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Task Scheduler listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, address: match[1]!, output: () => output, exit: () => exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`exited ${code} before ready:\n${output}`)));
  });
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
}

test('serves on port 0, names the real address, answers calls, and exits 0 on SIGTERM', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', logDir]);
  expect(cli.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  const { client, close } = createTaskSchedulerClient(cli.address);
  try {
    expect(await client.submitTask({ method: 'add', args: [toAny(1), toAny(2), toAny(3)] })).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: '6' });
    expect((await client.submitTask({ method: 'plugin_example::multiply', args: [toAny(6), toAny(7)] })).result).toBe('42');
  } finally {
    close();
  }
  cli.child.kill('SIGTERM');
  expect(await cli.exit()).toBe(0);
  // One timestamped JSON-lines file with the ready line.
  const files = readdirSync(logDir).filter((f) => /^task-scheduler-.*\.log$/.test(f));
  expect(files.length).toBeGreaterThanOrEqual(1);
  const lines = readFileSync(path.join(logDir, files[0]!), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.some((line) => line['message'] === `Task Scheduler listening on ${cli.address}` && line['level'] === 'info' && typeof line['timestamp'] === 'string')).toBe(true);
});

test('SIGINT also stops it with exit code 0; flags come from TASK_SCHEDULER_* env vars', async () => {
  const cli = await startCli([], { TASK_SCHEDULER_ADDR: '127.0.0.1:0', TASK_SCHEDULER_LOG_DIR: '', TASK_SCHEDULER_LOG_LEVEL: 'debug' });
  expect(cli.address).toMatch(/^127\.0\.0\.1:\d+$/);
  cli.child.kill('SIGINT');
  expect(await cli.exit()).toBe(0);
});

test('--log-file appends to one file', async () => {
  const file = path.join(logDir, 'fixed.log');
  for (let i = 0; i < 2; i++) {
    const cli = await startCli(['-a', '127.0.0.1:0', '--log-file', file]);
    cli.child.kill('SIGTERM');
    await cli.exit();
  }
  const ready = readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('Task Scheduler listening on'));
  expect(ready).toHaveLength(2);
});

test('--help lists every flag with its default and exits 0', () => {
  const res = runCli(['--help']);
  expect(res.status).toBe(0);
  for (const flag of ['--addr', '-a', '--library-dir', '-l', '--dependency-timeout-ms', '--result-ttl-secs', '--log-level', '--log-dir', '--max-arg-depth']) {
    expect(res.stdout).toContain(flag);
  }
  expect(res.stdout).toContain('127.0.0.1:50051');
  expect(res.stdout).toContain('30000');
  expect(res.stdout).toContain('TASK_SCHEDULER_');
});

test.each([
  [['--no-such-flag'], /Unknown argument/],
  [['-a', 'localhost'], /invalid address "localhost"/],
  [['-a', '127.0.0.1:70000'], /port 70000 is above 65535/],
  [['--result-ttl-secs', '-5'], /--result-ttl-secs must be a whole number/],
  [['--log-level', 'loud'], /Invalid values/],
])('bad flags %j: a clear message, exit code 2, no stack trace', (args, message) => {
  const res = runCli(args);
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
    const res = runCli(['-a', `127.0.0.1:${port}`, '--log-dir', '']);
    expect(res.status).toBe(1);
    expect(res.stdout + res.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    blocker.close();
  }
});
