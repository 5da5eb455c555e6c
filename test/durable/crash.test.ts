/**
 * The durability promise under `kill -9`: the real CLI on `--store sqlite:<file>` runs a mixed detached
 * load of the tasks in `test/fixtures/durable-tasks.js` (each appends `<taskId> <attempt>` to an
 * execution log the moment it starts), is killed with SIGKILL at random moments and restarted on the
 * same file, with new work submitted in every life. A last clean run lets everything finish; then every
 * task the server acknowledged is checked against the execution log (`Workload.check` in
 * `crash-harness.ts`, shared with the Redis replica test):
 *
 * - it reached exactly one terminal state, readable, the same one any client saw earlier;
 * - no attempt ran twice, and every attempt that started was recorded (RUNNING is committed before the
 *   task starts): each logged attempt n has n ≤ the record's `attempts`;
 * - without a retry policy it ran at most once; interrupted, it reads FAILED `Interrupted: …`;
 * - with one it ran attempt after attempt up to `max_attempts` (an attempt cut by a crash counts),
 *   and ended in success or with exactly its attempts spent;
 * - nothing stays PENDING or RUNNING.
 *
 * A seed fixes the mix of work and when each life is killed (after how many acknowledgements), not the
 * timing of the machine: two runs of a seed kill at different points of the tasks' execution. The counts
 * of each run are printed.
 *
 * (Needs `npm run build`.)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Long from 'long';
import { Status } from 'nice-grpc';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError } from '../helpers/start-server';
import { connect, isCrashError, isTerminal, MODULE, summarize, Workload, type Totals } from './crash-harness';

jest.setTimeout(240_000);

const INTERRUPTED = (attempt: number, of: number) => `Interrupted: the server stopped while the task was running (attempt ${attempt} of ${of})`;

let tmp: string;
const started: CliProcess[] = [];
beforeAll(() => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-crash-'));
});
afterEach(async () => {
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * One seed: `kills` lives each ended by SIGKILL at a random moment under load, then a clean life that
 * lets everything finish, then a check of every task. Returns its counts.
 */
async function crashRun(seed: number, kills: number, synchronous: 'normal' | 'full'): Promise<Totals> {
  const work = new Workload(seed);
  const { totals } = work;
  const dir = path.join(tmp, `seed-${seed}-${synchronous}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tasks.db');
  const execLog = path.join(dir, 'executions.log');

  const lifeArgs = ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0', '--task-module', MODULE,
    '--store', `sqlite:${file}`, '--sqlite-synchronous', synchronous, '--shutdown-grace-ms', '30000'];
  const env = { DURABLE_EXEC_LOG: execLog };

  const startLife = async () => {
    const began = Date.now();
    const cli = await startCli(lifeArgs, { env });
    totals.startMs += Date.now() - began;
    started.push(cli);
    totals.lives++;
    const recovered = /recovered unfinished tasks from the store (\{[^}]*\})/.exec(cli.output());
    if (recovered) {
      const summary = JSON.parse(recovered[1]!) as { resumed: number; retried: number; failed: number };
      totals.retriedAfterCrash += summary.retried;
      totals.resumedPending += summary.resumed - summary.retried;
    }
    return cli;
  };

  // Lives ended by SIGKILL.
  for (let life = 0; life < kills; life++) {
    const cli = await startLife();
    const connection = connect(cli.address);
    let killed = false;
    const killer = work.killAfterAcks(() => {
      killed = true;
      cli.child.kill('SIGKILL');
    });
    await Promise.all([killer, work.drive([connection.client], () => killed, () => killed, life)]);
    expect(await cli.exited).toBeNull(); // killed by the signal
    totals.kills++;
    connection.close();
  }

  // The clean life: resubmit what is unknown, wait for every task to finish, read everything.
  const cli = await startLife();
  const connection = connect(cli.address);
  await work.resubmitUnknown(connection.client);
  const finals = await work.awaitAll(connection.client);
  expect(await cli.stop()).toBe(0);
  connection.close();

  // A last restart: what was read is what is stored.
  const reread = await startLife();
  const again = connect(reread.address);
  await work.reread(again.client, finals, 'after the last restart');
  expect(await reread.stop()).toBe(0);
  again.close();

  work.check(finals, execLog, { matches: (result) => result.startsWith('Interrupted: '), expected: INTERRUPTED });
  expect(work.problems).toEqual([]);
  return totals;
}

test('kill -9 under load, 3 seeds × 3 kills (--sqlite-synchronous normal): every acknowledged task ends exactly once, as its policy allows', async () => {
  const runs = [];
  for (const seed of [11, 22, 33]) runs.push(await crashRun(seed, 3, 'normal'));
  const sum = summarize('normal', runs);
  expect(sum.kills).toBe(9);
  expect(sum.tasks).toBeGreaterThan(9 * 50);
  expect(sum.interrupted + sum.retriedAfterCrash).toBeGreaterThan(0); // the kills did land mid-task
});

test('kill -9 under load, 1 seed × 3 kills (--sqlite-synchronous full): the same', async () => {
  const sum = summarize('full', [await crashRun(44, 3, 'full')]);
  expect(sum.kills).toBe(3);
  expect(sum.tasks).toBeGreaterThan(3 * 50);
});

describe('the tightest windows', () => {
  const args = (file: string, execLog: string) => ({
    argv: ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0', '--task-module', MODULE, '--store', `sqlite:${file}`],
    env: { DURABLE_EXEC_LOG: execLog },
  });
  const lines = (execLog: string) => readFileSync(execLog, 'utf8').split('\n').filter((line) => line !== '');

  test('killed after the task returned and before its result was committed: what clients were told still holds after the restart', async () => {
    const dir = path.join(tmp, 'window');
    mkdirSync(dir);
    const { argv, env } = args(path.join(dir, 'tasks.db'), path.join(dir, 'executions.log'));
    const cli = await startCli(argv, { env });
    started.push(cli);
    const connection = connect(cli.address);
    const request = { taskId: 'w', method: 'durable_die_before_commit', args: [toAny(1_500)], detached: true };
    expect(await connection.client.submitTask(request)).toEqual({ taskId: 'w', status: TaskResponse_Status.PENDING, result: '', attempts: 0 });
    while (lines(env.DURABLE_EXEC_LOG).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // These arrive while the task blocks the loop, and are served after it returned, before the commit.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const told = await Promise.allSettled([
      connection.client.getResult({ taskId: 'w' }),
      connection.client.waitResult({ taskId: 'w', timeoutMs: Long.fromNumber(1, true) }),
      connection.client.submitTask(request),
    ]);
    expect(await cli.exited).toBeNull();
    connection.close();

    const again = await startCli(argv, { env });
    started.push(again);
    const after = connect(again.address);
    const stored = await after.client.getResult({ taskId: 'w' });
    expect(stored).toEqual({ status: TaskResponse_Status.FAILED, result: INTERRUPTED(1, 1), attempts: 1 });
    for (const answer of told) {
      // Either the connection dropped, or the answer is not contradicted by the record after the restart.
      if (answer.status === 'rejected') expect(isCrashError(answer.reason)).toBe(true);
      else expect(isTerminal(answer.value.status)).toBe(false);
    }
    expect(lines(env.DURABLE_EXEC_LOG)).toEqual(['w 1']);
    expect(await again.stop()).toBe(0);
    after.close();
  });

  test('a task that kills its server at every attempt ends FAILED after exactly max_attempts runs: no crash loop', async () => {
    const dir = path.join(tmp, 'poison');
    mkdirSync(dir);
    const { argv, env } = args(path.join(dir, 'tasks.db'), path.join(dir, 'executions.log'));
    let cli = await startCli(argv, { env });
    started.push(cli);
    const connection = connect(cli.address);
    await connection.client.submitTask({
      taskId: 'poison',
      method: 'durable_die_before_commit',
      args: [toAny(0)],
      detached: true,
      retryPolicy: { maxAttempts: 3, initialBackoffMs: Long.fromNumber(10, true), maxBackoffMs: Long.fromNumber(10, true), backoffMultiplier: 1 },
    });
    connection.close();
    const recovered: string[] = [];
    for (let restart = 0; restart < 3; restart++) {
      expect(await cli.exited).toBeNull(); // the task killed it
      cli = await startCli(argv, { env });
      started.push(cli);
      recovered.push(/recovered unfinished tasks from the store (\{[^}]*\})/.exec(cli.output())![1]!.replace(/,"ms":\d+/, ''));
    }
    expect(recovered).toEqual(['{"resumed":1,"retried":1,"failed":0}', '{"resumed":1,"retried":1,"failed":0}', '{"resumed":0,"retried":0,"failed":1}']);
    const after = connect(cli.address);
    expect(await after.client.getResult({ taskId: 'poison' })).toEqual({ status: TaskResponse_Status.FAILED, result: INTERRUPTED(3, 3), attempts: 3 });
    expect(lines(env.DURABLE_EXEC_LOG)).toEqual(['poison 1', 'poison 2', 'poison 3']);
    expect(await cli.stop()).toBe(0);
    after.close();
  });
});

test('restarted without the module that defines its tasks: unfinished ones end FAILED NOT_FOUND, finished ones read as they were', async () => {
  const dir = path.join(tmp, 'module-gone');
  mkdirSync(dir);
  const store = ['--store', `sqlite:${path.join(dir, 'tasks.db')}`];
  const base = ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0'];
  const cli = await startCli([...base, '--task-module', MODULE, ...store], { env: { DURABLE_EXEC_LOG: path.join(dir, 'executions.log') } });
  started.push(cli);
  const connection = connect(cli.address);
  expect((await connection.client.submitTask({ taskId: 'done', method: 'durable_quick' })).status).toBe(TaskResponse_Status.SUCCESS);
  await connection.client.submitTask({ taskId: 'running', method: 'durable_nap', args: [toAny(600_000)], detached: true, retryPolicy: { maxAttempts: 2 } });
  await connection.client.submitTask({ taskId: 'waiting', method: 'durable_quick', deps: ['running'], detached: true });
  while ((await connection.client.getResult({ taskId: 'running' })).status !== TaskResponse_Status.RUNNING) await new Promise((resolve) => setTimeout(resolve, 10));
  cli.child.kill('SIGKILL');
  expect(await cli.exited).toBeNull();
  connection.close();

  const again = await startCli([...base, ...store]);
  started.push(again);
  expect(again.output()).toMatch(/recovered unfinished tasks from the store \{"resumed":0,"retried":0,"failed":2,"ms":\d+\}/);
  const after = connect(again.address);
  expect(await after.client.getResult({ taskId: 'done' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'quick done attempt 1', attempts: 1 });
  expect(await after.client.getResult({ taskId: 'running' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'Method not found: durable_nap (not registered since the restart)', attempts: 1 });
  expect(await after.client.getResult({ taskId: 'waiting' })).toEqual({ status: TaskResponse_Status.FAILED, result: 'Method not found: durable_quick (not registered since the restart)', attempts: 0 });
  const replayed = await expectGrpcError(after.client.submitTask({ taskId: 'waiting', method: 'ping', deps: ['running'] }));
  expect(replayed.code).toBe(Status.ALREADY_EXISTS); // another method under the same id
  expect(await again.stop()).toBe(0);
  after.close();
});
