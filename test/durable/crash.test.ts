/**
 * The durability promise under `kill -9`: the real CLI on `--store sqlite:<file>` runs a mixed detached
 * load of the tasks in `test/fixtures/durable-tasks.js` (each appends `<taskId> <attempt>` to an
 * execution log the moment it starts), is killed with SIGKILL at random moments and restarted on the
 * same file, with new work submitted in every life. A last clean run lets everything finish; then every
 * task the server acknowledged is checked against the execution log:
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
import { ClientError, Status } from 'nice-grpc';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status, type TaskRequest, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { prng } from '../args/wire';
import { assertBuilt, killCli, ROOT, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError } from '../helpers/start-server';

jest.setTimeout(240_000);

const MODULE = path.join(ROOT, 'test/fixtures/durable-tasks.js');
const TASK_FAILED = 'Task execution failed: ';
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

type Kind = 'quick' | 'nap' | 'flaky' | 'doomed';

/** One task the test submitted, and all it learnt about it. */
interface Planned {
  readonly id: string;
  readonly kind: Kind;
  readonly request: Partial<TaskRequest>;
  /** max_attempts of its retry policy; undefined: no policy (one attempt). */
  readonly maxAttempts: number | undefined;
  /** durable_flaky: how many first attempts fail. */
  readonly failFirst: number;
  /** durable_nap: how long it sleeps, ms. */
  readonly napMs: number;
  /** A PENDING (or any) answer arrived: the server accepted it. */
  acked: boolean;
  /** Submitted, and the server died before answering: maybe stored, maybe not. */
  unknown: boolean;
  /** Refused at submission (a dependency had failed): never stored. */
  rejected: boolean;
  /** The first terminal state a client was told, if any. */
  seen: { status: TaskResponse_Status; result: string } | undefined;
}

/** What a crash run did, for the summary line. */
interface Totals {
  tasks: number;
  kills: number;
  lives: number;
  executions: number;
  interrupted: number;
  retriedAfterCrash: number;
  resumedPending: number;
  startedWithoutLine: number;
  rejected: number;
  observations: number;
  /** Time spent starting servers (node's start-up, loading, recovery), ms. */
  startMs: number;
  byStatus: Record<string, number>;
}

const isTerminal = (status: TaskResponse_Status) => status === TaskResponse_Status.SUCCESS || status === TaskResponse_Status.FAILED || status === TaskResponse_Status.CANCELLED;

/** A connection error: the server was killed under the call. */
const isCrashError = (err: unknown) => err instanceof ClientError && (err.code === Status.UNAVAILABLE || err.code === Status.CANCELLED || err.code === Status.INTERNAL) && !/^(Result store|Shutting down)/.test(err.details);

function connect(address: string): TaskSchedulerConnection {
  // Own subchannel pool: no reuse of a channel to a server that was killed.
  return createTaskSchedulerClient(address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
}

/**
 * One seed: `kills` lives each ended by SIGKILL at a random moment under load, then a clean life that
 * lets everything finish, then a check of every task. Returns its counts.
 */
async function crashRun(seed: number, kills: number, synchronous: 'normal' | 'full'): Promise<Totals> {
  const random = prng(seed);
  const dir = path.join(tmp, `seed-${seed}-${synchronous}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tasks.db');
  const execLog = path.join(dir, 'executions.log');
  const tasks = new Map<string, Planned>();
  const problems: string[] = [];
  const problem = (what: string) => {
    if (problems.length < 50) problems.push(what);
  };
  const totals: Totals = { tasks: 0, kills: 0, lives: 0, executions: 0, interrupted: 0, retriedAfterCrash: 0, resumedPending: 0, startedWithoutLine: 0, rejected: 0, observations: 0, startMs: 0, byStatus: {} };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

  const observe = (task: Planned, status: TaskResponse_Status, result: string) => {
    if (!isTerminal(status)) return;
    totals.observations++;
    if (!task.seen) task.seen = { status, result };
    else if (task.seen.status !== status || task.seen.result !== result) {
      problem(`${task.id}: told ${TaskResponse_Status[task.seen.status]} ${JSON.stringify(task.seen.result)}, later ${TaskResponse_Status[status]} ${JSON.stringify(result)}`);
    }
  };

  let next = 0;
  /** Ids of acknowledged tasks, in the order they were acknowledged. */
  const ackedIds: string[] = [];
  const acknowledge = (task: Planned) => {
    if (!task.acked) ackedIds.push(task.id);
    task.acked = true;
    task.unknown = false;
  };
  const plan = (life: number): Planned => {
    const id = `s${seed}-l${life}-${next++}`;
    const roll = random();
    // Dependencies on recent tasks, mostly ones that succeed (a failed one makes the submission refused).
    const recent = ackedIds.slice(-200).filter((dep) => tasks.get(dep)!.kind !== 'doomed');
    const deps = recent.length > 0 && random() < 0.2 ? [...new Set(Array.from({ length: int(1, 2) }, () => pick(recent)))] : [];
    let kind: Kind;
    let maxAttempts: number | undefined;
    let failFirst = 0;
    let napMs = 0;
    let args;
    if (roll < 0.35) {
      kind = 'quick';
      args = [toAny(id)];
      if (random() < 0.2) maxAttempts = int(2, 3);
    } else if (roll < 0.6) {
      kind = 'nap';
      napMs = int(1, 60);
      args = [toAny(napMs)];
      if (random() < 0.4) maxAttempts = int(2, 4);
    } else if (roll < 0.85) {
      kind = 'flaky';
      maxAttempts = int(2, 4);
      failFirst = int(0, 4);
      args = [toAny(failFirst), toAny(int(0, 30))];
    } else {
      kind = 'doomed';
      if (random() < 0.7) maxAttempts = int(2, 3);
      args = [toAny(id)];
    }
    const request: Partial<TaskRequest> = {
      taskId: id,
      method: `durable_${kind}`,
      args,
      deps,
      // A few blocking calls (without dependencies: a blocking FAILED_PRECONDITION would be ambiguous).
      detached: deps.length > 0 || random() < 0.95,
      dependencyTimeoutMs: Long.fromNumber(120_000, true),
      ...(maxAttempts === undefined
        ? {}
        : { retryPolicy: { maxAttempts, initialBackoffMs: Long.fromNumber(int(5, 60), true), maxBackoffMs: Long.fromNumber(300, true), backoffMultiplier: 2 } }),
    };
    const task: Planned = { id, kind, request, maxAttempts, failFirst, napMs, acked: false, unknown: false, rejected: false, seen: undefined };
    tasks.set(id, task);
    return task;
  };

  /** Submits `task`'s request (again, for one whose first answer was lost) and records the answer. */
  const submit = async (client: TaskSchedulerClient, task: Planned, crashed: () => boolean, retry = false) => {
    try {
      const answer = await client.submitTask(retry ? { ...task.request, detached: true } : task.request);
      acknowledge(task);
      observe(task, answer.status, answer.result);
    } catch (err) {
      if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION && err.details.startsWith('Dependency failed: ')) {
        // Refused before it was stored (a dependency failed meanwhile); a resubmission of a task that
        // was stored would have been answered with the task instead.
        task.rejected = true;
        task.unknown = false;
      } else if (!task.request.detached && !retry && err instanceof ClientError && err.code === Status.INTERNAL && err.details.startsWith(TASK_FAILED)) {
        // A blocking call answered with the task's own failure: accepted, and finished (the record
        // holds the task's message, without the status prefix).
        acknowledge(task);
        observe(task, TaskResponse_Status.FAILED, err.details.slice(TASK_FAILED.length));
      } else if (crashed() && isCrashError(err)) {
        task.unknown = true;
      } else {
        problem(`${task.id}: submit answered ${err instanceof ClientError ? `${Status[err.code]} ${err.details}` : String(err)}`);
      }
    }
  };

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
    const { client } = connection;
    let killed = false;
    const crashed = () => killed;
    // The moment: after a random number of acknowledgements in this life (so the amount of work does not
    // depend on the machine's speed) and a random few ms more (so it is not aligned with an answer);
    // at the latest after 20 s.
    const killAtAcks = ackedIds.length + int(50, 400);
    const killer = new Promise<void>((resolve) => {
      const kill = () => {
        clearInterval(poll);
        clearTimeout(latest);
        setTimeout(() => {
          killed = true;
          cli.child.kill('SIGKILL');
          resolve();
        }, int(0, 30));
      };
      const poll = setInterval(() => ackedIds.length >= killAtAcks && kill(), 1);
      const latest = setTimeout(kill, 20_000);
    });
    const load = async () => {
      // Answers lost to the last crash: the same request again (idempotent).
      for (const task of [...tasks.values()].filter((t) => t.unknown)) {
        if (killed) return;
        await submit(client, task, crashed, true);
      }
      while (!killed) await submit(client, plan(life), crashed);
    };
    const read = async () => {
      while (!killed) {
        if (ackedIds.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        const task = tasks.get(pick(ackedIds))!;
        try {
          const answer = random() < 0.5 ? await client.getResult({ taskId: task.id }) : await client.waitResult({ taskId: task.id, timeoutMs: Long.fromNumber(int(1, 50), true) });
          if (answer.status === TaskResponse_Status.NOT_FOUND) problem(`${task.id}: acknowledged, then NOT_FOUND`);
          observe(task, answer.status, answer.result);
        } catch (err) {
          if (!(killed && isCrashError(err))) problem(`${task.id}: read answered ${String(err)}`);
        }
      }
    };
    await Promise.all([killer, ...Array.from({ length: 24 }, load), ...Array.from({ length: 4 }, read)]);
    expect(await cli.exited).toBeNull(); // killed by the signal
    totals.kills++;
    connection.close();
  }

  // The clean life: resubmit what is unknown, wait for every task to finish, read everything.
  const cli = await startLife();
  const connection = connect(cli.address);
  const { client } = connection;
  const never = () => false;
  for (const task of [...tasks.values()].filter((t) => t.unknown)) await submit(client, task, never, true);
  const finals = new Map<string, { status: TaskResponse_Status; result: string; attempts: number }>();
  const waitDeadline = Date.now() + 60_000;
  const accepted = [...tasks.values()].filter((task) => task.acked);
  await Promise.all(
    Array.from({ length: 32 }, async (_, worker) => {
      for (let i = worker; i < accepted.length; i += 32) {
        const task = accepted[i]!;
        for (;;) {
          const answer = await client.waitResult({ taskId: task.id, timeoutMs: Long.fromNumber(2_000, true) });
          if (isTerminal(answer.status) || answer.status === TaskResponse_Status.NOT_FOUND || Date.now() > waitDeadline) {
            finals.set(task.id, answer);
            break;
          }
        }
      }
    }),
  );
  expect(await cli.stop()).toBe(0);
  connection.close();

  // A last restart: what was read is what is stored.
  const reread = await startLife();
  const again = connect(reread.address);
  const all = [...tasks.values()].filter((task) => task.acked || task.rejected);
  await Promise.all(
    Array.from({ length: 32 }, async (_, worker) => {
      for (let i = worker; i < all.length; i += 32) {
        const task = all[i]!;
        const answer = await again.client.getResult({ taskId: task.id });
        if (task.rejected) {
          if (answer.status !== TaskResponse_Status.NOT_FOUND) problem(`${task.id}: refused at submission, yet stored`);
          continue;
        }
        const final = finals.get(task.id)!;
        if (answer.status !== final.status || answer.result !== final.result || answer.attempts !== final.attempts) {
          problem(`${task.id}: read ${JSON.stringify(final)} before the last restart, ${JSON.stringify(answer)} after`);
        }
      }
    }),
  );
  expect(await reread.stop()).toBe(0);
  again.close();

  // The execution log: attempt numbers per task.
  const runs = new Map<string, number[]>();
  for (const line of readFileSync(execLog, 'utf8').split('\n')) {
    if (line === '') continue;
    const [id, attempt] = line.split(' ');
    if (!tasks.has(id!)) problem(`execution log: unknown task ${line}`);
    const list = runs.get(id!) ?? [];
    list.push(Number(attempt));
    runs.set(id!, list);
    totals.executions++;
  }
  for (const [id, list] of runs) {
    const task = tasks.get(id);
    if (task && !task.acked) problem(`${id}: ran (${list.join(',')}) but was never acknowledged (${task.rejected ? 'refused' : 'answer lost'})`);
  }

  for (const task of accepted) {
    const final = finals.get(task.id)!;
    const ran = runs.get(task.id) ?? [];
    const of = task.maxAttempts ?? 1;
    const label = `${task.id} (${task.kind}, ${task.maxAttempts ? `max_attempts ${task.maxAttempts}` : 'no policy'}${task.kind === 'flaky' ? `, fails ${task.failFirst}` : ''}; ran attempts [${ran.join(',')}]; reads ${TaskResponse_Status[final.status]} ${JSON.stringify(final.result)} attempts ${final.attempts})`;
    totals.tasks++;
    totals.byStatus[TaskResponse_Status[final.status]!] = (totals.byStatus[TaskResponse_Status[final.status]!] ?? 0) + 1;
    if (final.status !== TaskResponse_Status.SUCCESS && final.status !== TaskResponse_Status.FAILED) {
      problem(`${label}: ${final.status === TaskResponse_Status.NOT_FOUND ? 'acknowledged, and lost' : 'not finished'}`);
      continue;
    }
    if (task.seen && (task.seen.status !== final.status || task.seen.result !== final.result)) {
      problem(`${label}: a client was told ${TaskResponse_Status[task.seen.status]} ${JSON.stringify(task.seen.result)}`);
    }
    // Each attempt at most once, and only attempts the store had recorded as started.
    if (new Set(ran).size !== ran.length) problem(`${label}: an attempt ran twice`);
    if (ran.some((attempt) => attempt < 1 || attempt > final.attempts)) problem(`${label}: an attempt ran that the record does not count`);
    if (final.attempts > of) problem(`${label}: more attempts than its policy allows`);
    if (task.maxAttempts === undefined && ran.length > 1) problem(`${label}: ran more than once without a retry policy`);
    totals.startedWithoutLine += final.attempts - ran.length;
    const result = final.result;
    if (final.status === TaskResponse_Status.SUCCESS) {
      if (!ran.includes(final.attempts)) problem(`${label}: succeeded in an attempt that never started`);
      const expected = {
        quick: `quick ${task.id} attempt ${final.attempts}`,
        nap: `napped ${task.napMs} ms attempt ${final.attempts}`,
        flaky: `ok at attempt ${final.attempts}`,
        doomed: '(never succeeds)',
      }[task.kind];
      if (result !== expected) problem(`${label}: expected ${JSON.stringify(expected)}`);
      if (task.kind === 'flaky' && final.attempts <= task.failFirst) problem(`${label}: succeeded too early`);
    } else if (result.startsWith('Interrupted: ')) {
      totals.interrupted++;
      if (result !== INTERRUPTED(final.attempts, of) || final.attempts !== of) problem(`${label}: expected ${INTERRUPTED(of, of)}`);
    } else if (result.startsWith('Dependency failed: ')) {
      const dep = result.slice('Dependency failed: '.length);
      if (!task.request.deps!.includes(dep) || finals.get(dep)?.status !== TaskResponse_Status.FAILED) problem(`${label}: its dependency ${dep} did not fail`);
      if (final.attempts !== 0 || ran.length !== 0) problem(`${label}: ran although a dependency failed`);
    } else {
      // The task's own failure, with every attempt spent.
      const expected = task.kind === 'flaky' ? `flaky: attempt ${final.attempts} fails (the first ${task.failFirst} do)` : `doomed: attempt ${final.attempts} fails`;
      if ((task.kind !== 'flaky' && task.kind !== 'doomed') || result !== expected) problem(`${label}: expected ${JSON.stringify(expected)}`);
      if (final.attempts !== of) problem(`${label}: failed with attempts left`);
      if (!ran.includes(final.attempts)) problem(`${label}: failed in an attempt that never started`);
    }
  }
  totals.rejected = [...tasks.values()].filter((task) => task.rejected).length;
  expect(problems).toEqual([]);
  return totals;
}

function summarize(label: string, runs: Totals[]): Totals {
  const sum: Totals = { tasks: 0, kills: 0, lives: 0, executions: 0, interrupted: 0, retriedAfterCrash: 0, resumedPending: 0, startedWithoutLine: 0, rejected: 0, observations: 0, startMs: 0, byStatus: {} };
  for (const run of runs) {
    for (const key of Object.keys(sum) as Array<keyof Totals>) {
      if (key === 'byStatus') for (const [status, n] of Object.entries(run.byStatus)) sum.byStatus[status] = (sum.byStatus[status] ?? 0) + n;
      else sum[key] += run[key];
    }
  }
  // eslint-disable-next-line no-console
  console.log(
    `crash test (${label}): ${runs.length} seeds, ${sum.kills} kills (SIGKILL), ${sum.lives} server starts, ${sum.tasks} acknowledged tasks ` +
      `(${Object.entries(sum.byStatus).map(([status, n]) => `${n} ${status}`).join(', ')}), ${sum.executions} executions counted in the log; ` +
      `${sum.interrupted} ended FAILED Interrupted, ${sum.retriedAfterCrash} retried after a crash, ${sum.resumedPending} resumed PENDING, ` +
      `${sum.startedWithoutLine} attempts recorded as started but killed before the task's first line, ${sum.rejected} refused at submission, ` +
      `${sum.observations} terminal answers compared; ${(sum.startMs / 1000).toFixed(1)} s spent starting servers`,
  );
  return sum;
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
