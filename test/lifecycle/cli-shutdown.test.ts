/** The CLI's signal handling and lifecycle flags, run as users run it: `node dist/src/cli/main.js` in a child process. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, ROOT, runCli, startCli as startCliProcess, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';
import { waitFor } from './lifecycle-helpers';

let tmp: string;
const started: CliProcess[] = [];
const connections: TaskSchedulerConnection[] = [];

beforeAll(() => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-lifecycle-'));
});
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts the CLI (no log file) and resolves once its ready line names the address. */
async function startCli(args: string[]): Promise<CliProcess> {
  const cli = await startCliProcess(['--log-dir', '', ...args]);
  started.push(cli);
  return cli;
}

/** The exit code and the time it exited. */
async function exit(cli: CliProcess): Promise<{ code: number | null; at: number }> {
  const code = await cli.exited;
  return { code, at: cli.exitedAt()! };
}

function connect(address: string) {
  // Own subchannel pool: a channel to an earlier process on the same port may be in reconnect backoff.
  const connection = createTaskSchedulerClient(address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  connections.push(connection);
  return connection.client;
}

type Client = ReturnType<typeof connect>;

/** Waits until the task is known to the server (so a signal sent next finds it in flight). */
async function waitUntilRunning(client: Client, taskId: string): Promise<void> {
  await waitFor(`${taskId} runs`, async () => {
    const { status } = await client.getResult({ taskId });
    if (status === TaskResponse_Status.SUCCESS) throw new Error(`${taskId} already finished: the machine is too slow for this test`);
    return status === TaskResponse_Status.RUNNING;
  });
}

/** A fresh CLI on the port `address` used: proves the port was released at exit. */
async function restartsOnSamePort(address: string): Promise<void> {
  const again = await startCli(['-a', address]);
  expect(again.address).toBe(address);
  expect((await connect(address).submitTask({ method: 'ping', args: [toAny('again')] })).result).toBe('pong: again');
  expect(await again.stop()).toBe(0);
}

test('SIGTERM with a blocking sleep 300 in flight: the call still succeeds, then the process exits 0', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0']);
  expect(cli.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  const client = connect(cli.address);
  let answeredAt = 0;
  const call = client.submitTask({ taskId: 'nap', method: 'sleep', args: [toAny(300)] }).finally(() => (answeredAt = Date.now()));
  await waitUntilRunning(client, 'nap');
  cli.child.kill('SIGTERM');

  expect(await call).toEqual({ taskId: 'nap', status: TaskResponse_Status.SUCCESS, result: 'slept 300 ms', attempts: 1 });
  const { code, at } = await exit(cli);
  expect(code).toBe(0);
  expect(answeredAt).toBeLessThanOrEqual(at);
  expect(cli.output()).toMatch(/SIGTERM received: shutting down/);
});

test('--shutdown-grace-ms 100 with a sleep 5000 in flight: UNAVAILABLE "Shutting down…", exit 0 well under 5 s, port free at once', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0', '--shutdown-grace-ms', '100']);
  const client = connect(cli.address);
  const call = expectGrpcError(client.submitTask({ taskId: 'long', method: 'sleep', args: [toAny(5000)] }));
  await waitUntilRunning(client, 'long');
  // A repeat within 250 ms counts as the same signal (npm start delivers Ctrl-C twice).
  await new Promise((resolve) => setTimeout(resolve, 400));
  const signalled = Date.now();
  cli.child.kill('SIGTERM');

  const err = await call;
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toMatch(/^Shutting down/);
  const { code, at } = await exit(cli);
  expect(code).toBe(0);
  expect(at - signalled).toBeLessThan(4000);
  await restartsOnSamePort(cli.address);
});

test('while draining, new calls get UNAVAILABLE "Shutting down"; a second SIGTERM exits at once with code 1', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0', '--shutdown-grace-ms', '60000']);
  const client = connect(cli.address);
  const call = expectGrpcError(client.submitTask({ taskId: 'forever', method: 'sleep', args: [toAny(600_000)] }));
  await waitUntilRunning(client, 'forever');
  cli.child.kill('SIGTERM');
  await waitFor('the first SIGTERM is handled', () => /SIGTERM received/.test(cli.output()));

  const refused = await expectGrpcError(client.submitTask({ method: 'ping' }));
  expect(refused.code).toBe(Status.UNAVAILABLE);
  expect(refused.details).toBe('Shutting down');
  expect(cli.child.exitCode).toBeNull(); // still draining: the sleep holds it

  // A repeat within 250 ms counts as the same signal (npm start delivers Ctrl-C twice).
  await new Promise((resolve) => setTimeout(resolve, 400));
  const signalled = Date.now();
  cli.child.kill('SIGTERM');
  const { code, at } = await exit(cli);
  expect(code).toBe(1);
  expect(at - signalled).toBeLessThan(3000);
  // The abandoned call does not succeed (the connection drops).
  expect((await call).code).not.toBe(Status.OK);
  await restartsOnSamePort(cli.address);
});

test('SIGTERM under load from 8 clients: every call answers (result, UNAVAILABLE or CANCELLED), none hangs, exit 0, restart at once', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0', '--shutdown-grace-ms', '400']);
  const outcomes = new Map<string, number>();
  const wrong: string[] = [];
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  let stop = false;
  const clientLoop = async (index: number) => {
    const client = connect(cli.address);
    for (let seq = 0; !stop; seq++) {
      const id = `load-${index}-${seq}`;
      const kind = seq % 4;
      // A client deadline far beyond the grace period: reaching it would be a hang.
      const options = { signal: AbortSignal.timeout(20_000) };
      try {
        if (kind === 0) {
          const res = await client.submitTask({ taskId: id, method: 'concat', args: [toAny(id), toAny('!')] }, options);
          if (res.result !== `${id}!`) wrong.push(`${id}: ${res.result}`);
        } else if (kind === 1) {
          const res = await client.submitTask({ taskId: id, method: 'sleep', args: [toAny(50 + ((index * 97 + seq * 31) % 1500))] }, options);
          if (!/^slept \d+ ms$/.test(res.result)) wrong.push(`${id}: ${res.result}`);
        } else if (kind === 2) {
          await client.submitTask({ taskId: id, method: 'sleep', args: [toAny(200)], detached: true }, options);
          const res = await client.waitResult({ taskId: id, timeoutMs: 10_000 }, options);
          if (![TaskResponse_Status.SUCCESS, TaskResponse_Status.CANCELLED].includes(res.status)) wrong.push(`${id}: ${TaskResponse_Status[res.status]}`);
        } else {
          const res = await client.submitTask({ method: 'add', args: [toAny(index), toAny(seq)] }, options);
          if (res.result !== String(index + seq)) wrong.push(`${id}: ${res.result}`);
        }
        count('OK');
      } catch (err) {
        const code = err instanceof Error && 'code' in err ? Status[(err as { code: Status }).code] : String(err);
        count(code ?? 'unknown');
        // Once the server is gone, a client stops (it would only see UNAVAILABLE from here on).
        if (code === 'UNAVAILABLE' && cli.exitedAt() !== undefined) break;
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, i) => clientLoop(i));
  await waitFor('some calls answered', () => (outcomes.get('OK') ?? 0) > 40);
  cli.child.kill('SIGTERM');
  const { code } = await exit(cli);
  stop = true;
  await Promise.all(clients);
  expect(wrong).toEqual([]);
  expect(code).toBe(0);
  // Only results, UNAVAILABLE and CANCELLED: no DEADLINE_EXCEEDED (a hang), no INTERNAL, nothing else.
  expect([...outcomes.keys()].filter((key) => !['OK', 'UNAVAILABLE', 'CANCELLED'].includes(key))).toEqual([]);
  expect(outcomes.get('OK')).toBeGreaterThan(40);
  expect(outcomes.get('UNAVAILABLE') ?? 0).toBeGreaterThan(0);
  expect(cli.output()).toMatch(/SIGTERM received: shutting down/);
  await restartsOnSamePort(cli.address);
});

test('--max-concurrent-tasks and --max-queued-tasks reach the scheduler', async () => {
  const cli = await startCli(['-a', '127.0.0.1:0', '--max-concurrent-tasks', '1', '--max-queued-tasks', '1', '--shutdown-grace-ms', '0']);
  const client = connect(cli.address);
  await client.submitTask({ taskId: 'a', method: 'sleep', args: [toAny(600_000)], detached: true });
  await waitUntilRunning(client, 'a');
  await client.submitTask({ taskId: 'b', method: 'ping', detached: true });
  expect((await client.getResult({ taskId: 'b' })).status).toBe(TaskResponse_Status.PENDING);
  const err = await expectGrpcError(client.submitTask({ taskId: 'c', method: 'ping' }));
  expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
  expect(err.details).toMatch(/^Too many tasks: /);
  expect((await client.getResult({ taskId: 'c' })).status).toBe(TaskResponse_Status.NOT_FOUND);

  // Cancelling the running task hands its slot to b.
  expect((await client.cancelTask({ taskId: 'a' })).cancelled).toBe(true);
  expect(await client.waitResult({ taskId: 'b' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
  expect(await cli.stop()).toBe(0);
});

test('--task-module loads user tasks in the main thread and the workers; --worker-threads 0 runs them inline', async () => {
  const module = path.join(tmp, 'where-tasks.js');
  writeFileSync(module, [
    `const { syncTask } = require(${JSON.stringify(path.join(ROOT, 'dist/src/index.js'))});`,
    `const { threadId } = require('node:worker_threads');`,
    `syncTask(function where_am_i() { return 'thread ' + threadId; }, { worker: true });`,
    `syncTask(function main_only() { return 'main ' + threadId; });`,
  ].join('\n'));
  for (const [threads, where] of [['2', /^thread [1-9]\d*$/], ['0', /^thread 0$/]] as const) {
    const cli = await startCli(['-a', '127.0.0.1:0', '--task-module', module, '--worker-threads', threads, '--worker-max-memory-mb', '128']);
    const client = connect(cli.address);
    expect((await client.submitTask({ method: 'where_am_i' })).result).toMatch(where);
    expect((await client.submitTask({ method: 'main_only' })).result).toBe('main 0');
    expect(await cli.stop()).toBe(0);
  }
});

test('--help lists the lifecycle flags; bad values are exit code 2', async () => {
  const help = await runCli(['--help']);
  expect(help.status).toBe(0);
  for (const flag of ['--max-concurrent-tasks', '--max-queued-tasks', '--worker-threads', '--worker-max-memory-mb', '--task-module', '--shutdown-grace-ms']) {
    expect(help.stdout).toContain(flag);
  }
  for (const [flag, value] of [['--max-queued-tasks', '-1'], ['--shutdown-grace-ms', 'soon'], ['--max-concurrent-tasks', '1.5']]) {
    const res = await runCli(['-a', '127.0.0.1:0', '--log-dir', '', flag!, value!]);
    expect({ flag, status: res.status }).toEqual({ flag, status: 2 });
    expect(res.stderr).toContain(flag!);
  }
});
