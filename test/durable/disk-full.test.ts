/**
 * The disk under the SQLite store fills up while the server runs (a 2 MiB tmpfs in a private mount
 * namespace, filled by the test): submissions answer UNAVAILABLE naming the file and SQLite's reason,
 * reads go on, the server stays up; once space returns, the results of tasks that finished during the
 * outage are written, and every acknowledged task is there after a crash and a restart.
 * (Needs `npm run build`, and `unshare`/`nsenter` with user namespaces — see private-tmpfs.ts.)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, ROOT, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';
import { mountPrivateTmpfs, type PrivateTmpfs } from './private-tmpfs';

jest.setTimeout(120_000);

let tmp: string;
let disk: PrivateTmpfs | undefined;
const started: CliProcess[] = [];
const connections: TaskSchedulerConnection[] = [];
beforeAll(() => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-disk-full-'));
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  for (const cli of started) await killCli(cli);
  await disk?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const ms = (n: number) => Long.fromNumber(n, true);

test('disk full: UNAVAILABLE for new work, reads and running tasks go on; when space returns everything acknowledged is written and survives kill -9', async () => {
  mkdirSync(path.join(tmp, 'disk'));
  disk = await mountPrivateTmpfs(path.join(tmp, 'disk'), 2048);
  const file = path.join(disk.dir, 'tasks.db');
  const execLog = path.join(tmp, 'executions.log');
  const argv = ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0', '--task-module', path.join(ROOT, 'test/fixtures/durable-tasks.js'), '--store', `sqlite:${file}`];
  const start = async () => {
    const cli = await startCli(argv, { env: { DURABLE_EXEC_LOG: execLog }, prefix: disk!.prefix });
    started.push(cli);
    const connection = createTaskSchedulerClient(cli.address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    connections.push(connection);
    return { cli, client: connection.client };
  };
  const { cli, client } = await start();
  expect(disk.mounts()).toContain(`tmpfs ${disk.dir} tmpfs`);

  // Before: finished tasks, three running for 3 s, one waiting for a running one.
  for (let i = 0; i < 20; i++) await client.submitTask({ taskId: `f${i}`, method: 'durable_quick', detached: true });
  for (const id of ['r1', 'r2', 'r3']) await client.submitTask({ taskId: id, method: 'durable_nap', args: [toAny(3_000)], detached: true });
  await client.submitTask({ taskId: 'w1', method: 'durable_quick', deps: ['r1'], detached: true });
  expect((await client.waitResult({ taskId: 'f19', timeoutMs: ms(5_000) })).status).toBe(TaskResponse_Status.SUCCESS);

  const filled = disk.fill('filler');
  expect(filled).toBeGreaterThan(1024 * 1024);
  const full = `Result store unavailable: SQLite store ${file}: database or disk is full (SQLITE_FULL)`;

  // New work is refused, naming the file and the reason — also when the same id is submitted twice at once.
  const refused = await expectGrpcError(client.submitTask({ taskId: 'n1', method: 'durable_quick', detached: true }));
  expect({ code: Status[refused.code], details: refused.details }).toEqual({ code: 'UNAVAILABLE', details: full });
  const twice = await Promise.allSettled([1, 2].map(() => client.submitTask({ taskId: 'n2', method: 'durable_quick', detached: true })));
  expect(twice.map((answer) => (answer.status === 'fulfilled' ? `answered ${TaskResponse_Status[answer.value.status]}` : (answer.reason as Error).message))).toEqual([
    `/taskscheduler.TaskScheduler/SubmitTask UNAVAILABLE: ${full}`,
    `/taskscheduler.TaskScheduler/SubmitTask UNAVAILABLE: ${full}`,
  ]);
  // Reads go on.
  expect(await client.getResult({ taskId: 'f3' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick f3 attempt 1', attempts: 1 });
  expect(await client.waitResult({ taskId: 'f4', timeoutMs: ms(1_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick f4 attempt 1', attempts: 1 });
  expect((await client.getResult({ taskId: 'r1' })).status).toBe(TaskResponse_Status.RUNNING);
  expect((await client.getResult({ taskId: 'n1' })).status).toBe(TaskResponse_Status.NOT_FOUND);
  // A blocking call that needs nothing stored still runs.
  expect((await client.submitTask({ method: 'ping' })).result).toBe('pong');

  // The running tasks finish during the outage: their results are readable (held in memory).
  for (const id of ['r1', 'r2', 'r3']) {
    expect(await client.waitResult({ taskId: id, timeoutMs: ms(10_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'napped 3000 ms attempt 1', attempts: 1 });
  }
  // The task waiting for r1 could not record its start, so it did not run (the execution log below has
  // no line for it): it ends FAILED with the store's error. Its record counts the attempt it could not
  // start (attempts 1) — as it stands; see the report of this branch.
  const w1 = { status: TaskResponse_Status.FAILED, result: full, attempts: 1 };
  expect(await client.waitResult({ taskId: 'w1', timeoutMs: ms(10_000) })).toEqual(w1);
  expect(cli.child.exitCode).toBeNull();
  expect(cli.output()).toMatch(new RegExp(`error: the SQLite store refuses writes: submissions answer UNAVAILABLE until it takes them again; reads go on \\{"component":"sqlite-store","path":"${file}","err":"database or disk is full \\(SQLITE_FULL\\)"\\}`));

  // Space returns: the held results (r1–r3, w1, the ping's) are written within about a second, and new
  // work is accepted.
  const from = cli.output().length;
  disk.free('filler');
  await cli.waitFor(/warn: the SQLite store takes writes again \{"component":"sqlite-store","path":"[^"]+","resultsWritten":5,"resultsDropped":0\}/, from, 10_000);
  expect(await client.submitTask({ taskId: 'n3', method: 'durable_quick', detached: true })).toEqual({ taskId: 'n3', status: TaskResponse_Status.PENDING, result: '', attempts: 0 });
  expect(await client.waitResult({ taskId: 'n3', timeoutMs: ms(5_000) })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick n3 attempt 1', attempts: 1 });

  // kill -9 (no flush at close): what was written is all there.
  cli.child.kill('SIGKILL');
  expect(await cli.exited).toBeNull();
  const again = await start();
  expect(again.cli.output()).not.toMatch(/recovered unfinished tasks/); // nothing was left unfinished
  for (let i = 0; i < 20; i++) expect(await again.client.getResult({ taskId: `f${i}` })).toEqual({ status: TaskResponse_Status.SUCCESS, result: `quick f${i} attempt 1`, attempts: 1 });
  for (const id of ['r1', 'r2', 'r3']) expect(await again.client.getResult({ taskId: id })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'napped 3000 ms attempt 1', attempts: 1 });
  expect(await again.client.getResult({ taskId: 'w1' })).toEqual(w1);
  expect(await again.client.getResult({ taskId: 'n3' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick n3 attempt 1', attempts: 1 });
  for (const id of ['n1', 'n2']) expect((await again.client.getResult({ taskId: id })).status).toBe(TaskResponse_Status.NOT_FOUND);
  const ran = readFileSync(execLog, 'utf8').split('\n').filter((line) => line !== '').sort();
  expect(ran).toEqual([...Array.from({ length: 20 }, (_, i) => `f${i} 1`), 'n3 1', 'r1 1', 'r2 1', 'r3 1'].sort());
  expect(await again.cli.stop()).toBe(0);
});
