/**
 * SIGTERM with a durable store, through the real CLI: tasks that have not started (waiting for a
 * dependency, for a slot, in a retry's backoff) stay PENDING in the file and their blocking callers are
 * told so; running tasks get the grace (and are cancelled after it); a restart on the same file runs
 * every PENDING one to its end. (Needs `npm run build`.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Long from 'long';
import BetterSqlite3 from 'better-sqlite3';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, ROOT, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';

jest.setTimeout(90_000);

let tmp: string;
const started: CliProcess[] = [];
const connections: TaskSchedulerConnection[] = [];
beforeAll(() => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-durable-shutdown-'));
});
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ms = (n: number) => Long.fromNumber(n, true);

async function start(args: string[], execLog: string): Promise<{ cli: CliProcess; client: TaskSchedulerConnection['client'] }> {
  const cli = await startCli(['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0', '--task-module', path.join(ROOT, 'test/fixtures/durable-tasks.js'), ...args], {
    env: { DURABLE_EXEC_LOG: execLog },
  });
  started.push(cli);
  const connection = createTaskSchedulerClient(cli.address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  connections.push(connection);
  return { cli, client: connection.client };
}

/** Status, attempts and runAfter of each row, read from the file itself. */
function rows(file: string): Record<string, { status: string; attempts: number; waitsForBackoff: boolean }> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const out: Record<string, { status: string; attempts: number; waitsForBackoff: boolean }> = {};
    for (const { id, record } of db.prepare('SELECT id, record FROM tasks').all() as Array<{ id: string; record: string }>) {
      const parsed = JSON.parse(record) as { status: string; attempts: number; runAfter?: number };
      out[id] = { status: parsed.status, attempts: parsed.attempts, waitsForBackoff: parsed.runAfter !== undefined };
    }
    return out;
  } finally {
    db.close();
  }
}

const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

test('SIGTERM: unstarted tasks stay PENDING (callers told so), running ones get the grace; a restart on the same file finishes every one', async () => {
  const file = path.join(tmp, 'tasks.db');
  const execLog = path.join(tmp, 'executions.log');
  const ran = () => readFileSync(execLog, 'utf8').split('\n').filter((line) => line !== '').sort();
  const args = ['--store', `sqlite:${file}`, '--max-concurrent-tasks', '2', '--shutdown-grace-ms', '3000'];
  const { cli, client } = await start(args, execLog);

  // A retry in its backoff: the first attempt fails, the second is 4–8 s away.
  const retry = { taskId: 'retry', method: 'durable_flaky', args: [toAny(1)], retryPolicy: { maxAttempts: 3, initialBackoffMs: ms(8_000), maxBackoffMs: ms(8_000), backoffMultiplier: 1 } };
  const retryCall = expectGrpcError(client.submitTask(retry));
  await until('retry waits for its second attempt', async () => (await client.getResult({ taskId: 'retry' })).attempts === 1 && (await client.getResult({ taskId: 'retry' })).status === TaskResponse_Status.PENDING);
  // Both slots taken: one task finishes within the grace, one does not.
  const holdCall = client.submitTask({ taskId: 'hold', method: 'durable_nap', args: [toAny(1_500)] });
  await client.submitTask({ taskId: 'long', method: 'durable_nap', args: [toAny(600_000)], detached: true });
  // Waiting for a slot (blocking and detached), and for a dependency.
  const slotCall = expectGrpcError(client.submitTask({ taskId: 'slot', method: 'durable_quick' }));
  await client.submitTask({ taskId: 'slot-detached', method: 'durable_quick', detached: true });
  const depCall = expectGrpcError(client.submitTask({ taskId: 'dep', method: 'durable_quick', deps: ['hold'] }));
  await until('every task is in', async () => (await client.getResult({ taskId: 'dep' })).status === TaskResponse_Status.PENDING && (await client.getResult({ taskId: 'slot' })).status === TaskResponse_Status.PENDING);
  expect((await client.getResult({ taskId: 'hold' })).status).toBe(TaskResponse_Status.RUNNING);
  expect((await client.getResult({ taskId: 'long' })).status).toBe(TaskResponse_Status.RUNNING);

  cli.child.kill('SIGTERM');
  const staysPending = (id: string) => `Shutting down: task '${id}' stays PENDING and resumes when the server restarts`;
  for (const [call, id] of [[slotCall, 'slot'], [depCall, 'dep'], [retryCall, 'retry']] as const) {
    const err = await call;
    expect({ code: Status[err.code], details: err.details }).toEqual({ code: 'UNAVAILABLE', details: staysPending(id) });
  }
  // The running task within the grace finishes and is answered.
  expect(await holdCall).toEqual({ taskId: 'hold', status: TaskResponse_Status.SUCCESS, result: 'napped 1500 ms attempt 1', attempts: 1 });
  expect(await cli.exited).toBe(0);

  // In the file: the unstarted ones PENDING as they were, the finished ones final.
  expect(rows(file)).toEqual({
    retry: { status: 'PENDING', attempts: 1, waitsForBackoff: true },
    hold: { status: 'SUCCESS', attempts: 1, waitsForBackoff: false },
    long: { status: 'CANCELLED', attempts: 1, waitsForBackoff: false },
    slot: { status: 'PENDING', attempts: 0, waitsForBackoff: false },
    'slot-detached': { status: 'PENDING', attempts: 0, waitsForBackoff: false },
    dep: { status: 'PENDING', attempts: 0, waitsForBackoff: false },
  });
  expect(ran()).toEqual(['hold 1', 'long 1', 'retry 1']);

  const again = await start(args, execLog);
  expect(again.cli.output()).toMatch(/recovered unfinished tasks from the store \{"resumed":4,"retried":0,"failed":0,"ms":\d+\}/);
  const wait = (taskId: string) => again.client.waitResult({ taskId, timeoutMs: ms(20_000) });
  // A blocking resubmission after the restart waits for the task and gets its result.
  expect(await again.client.submitTask({ taskId: 'slot', method: 'durable_quick' })).toEqual({ taskId: 'slot', status: TaskResponse_Status.SUCCESS, result: 'quick slot attempt 1', attempts: 1 });
  expect(await wait('slot-detached')).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick slot-detached attempt 1', attempts: 1 });
  expect(await wait('dep')).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick dep attempt 1', attempts: 1 });
  expect(await wait('retry')).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'ok at attempt 2', attempts: 2 });
  expect(await wait('hold')).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'napped 1500 ms attempt 1', attempts: 1 });
  // Cut at the end of the grace: cancelled, and not run again.
  expect(await wait('long')).toEqual({ status: TaskResponse_Status.CANCELLED, result: "Shutting down: task 'long' was cancelled before it finished", attempts: 1 });
  expect(ran()).toEqual(['dep 1', 'hold 1', 'long 1', 'retry 1', 'retry 2', 'slot 1', 'slot-detached 1']);
  expect(await again.cli.stop()).toBe(0);
  expect(Object.values(rows(file)).map((row) => row.status)).toEqual(['SUCCESS', 'SUCCESS', 'CANCELLED', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
});
