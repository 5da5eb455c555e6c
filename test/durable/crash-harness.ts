/**
 * What the kill -9 crash tests share (`crash.test.ts` on SQLite, `redis-crash.test.ts` on three Redis
 * replicas): a seeded mixed workload of the tasks in `test/fixtures/durable-tasks.js` (each appends
 * `<taskId> <attempt>` to an execution log the moment it starts), the clients that submit it and read
 * it back while servers are killed, the wait for every task to finish, the check of every acknowledged
 * task against the execution log, and the one-line summary.
 *
 * The tests differ in what a kill does to a task that was running: on SQLite the restarted server ends
 * it FAILED `Interrupted: …` (or runs it again if its policy has attempts left); on Redis a surviving
 * replica ends it FAILED `Owner replica lost: <replica>` (or takes it over and runs it again). A test
 * says how such an ending reads through `LostRule`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Long from 'long';
import { ClientError, Status } from 'nice-grpc';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status, type TaskRequest, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { prng } from '../args/wire';
import { ROOT } from '../helpers/cli';

export const MODULE = path.join(ROOT, 'test/fixtures/durable-tasks.js');
const TASK_FAILED = 'Task execution failed: ';

export type Kind = 'quick' | 'nap' | 'flaky' | 'doomed';

/** One task the test submitted, and all it learnt about it. */
export interface Planned {
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
export interface Totals {
  tasks: number;
  kills: number;
  lives: number;
  executions: number;
  /** Ended FAILED because the process running it died (`Interrupted: …` / `Owner replica lost: …`). */
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

/** A task's record as read at the end. */
export interface Final {
  readonly status: TaskResponse_Status;
  readonly result: string;
  readonly attempts: number;
}

/**
 * How a task that was running when its process died ends without attempts left: `matches` says the
 * result is such an ending, `expected` the exact message for a task of `of` attempts that made
 * `attempts` (undefined: any message `matches` accepts).
 */
export interface LostRule {
  readonly matches: (result: string) => boolean;
  readonly expected: (attempts: number, of: number) => string | undefined;
}

export const newTotals = (): Totals => ({ tasks: 0, kills: 0, lives: 0, executions: 0, interrupted: 0, retriedAfterCrash: 0, resumedPending: 0, startedWithoutLine: 0, rejected: 0, observations: 0, startMs: 0, byStatus: {} });

export const isTerminal = (status: TaskResponse_Status) => status === TaskResponse_Status.SUCCESS || status === TaskResponse_Status.FAILED || status === TaskResponse_Status.CANCELLED;

/** A connection error: the server was killed under the call. */
export const isCrashError = (err: unknown) => err instanceof ClientError && (err.code === Status.UNAVAILABLE || err.code === Status.CANCELLED || err.code === Status.INTERNAL) && !/^(Result store|Shutting down)/.test(err.details);

export function connect(address: string): TaskSchedulerConnection {
  // Own subchannel pool: no reuse of a channel to a server that was killed.
  return createTaskSchedulerClient(address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One seed's workload: the tasks it planned, what clients were told, the problems found. */
export class Workload {
  readonly tasks = new Map<string, Planned>();
  /** Ids of acknowledged tasks, in the order they were acknowledged. */
  readonly ackedIds: string[] = [];
  readonly problems: string[] = [];
  readonly totals = newTotals();
  readonly random: () => number;
  #next = 0;

  constructor(readonly seed: number) {
    this.random = prng(seed);
  }

  problem(what: string): void {
    if (this.problems.length < 50) this.problems.push(what);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  observe(task: Planned, status: TaskResponse_Status, result: string): void {
    if (!isTerminal(status)) return;
    this.totals.observations++;
    if (!task.seen) task.seen = { status, result };
    else if (task.seen.status !== status || task.seen.result !== result) {
      this.problem(`${task.id}: told ${TaskResponse_Status[task.seen.status]} ${JSON.stringify(task.seen.result)}, later ${TaskResponse_Status[status]} ${JSON.stringify(result)}`);
    }
  }

  #acknowledge(task: Planned): void {
    if (!task.acked) this.ackedIds.push(task.id);
    task.acked = true;
    task.unknown = false;
  }

  /** A new task for `life`: its kind, retry policy and dependencies drawn from the seed. */
  plan(life: number): Planned {
    const { random } = this;
    const id = `s${this.seed}-l${life}-${this.#next++}`;
    const roll = random();
    // Dependencies on recent tasks, mostly ones that succeed (a failed one makes the submission refused).
    const recent = this.ackedIds.slice(-200).filter((dep) => this.tasks.get(dep)!.kind !== 'doomed');
    const deps = recent.length > 0 && random() < 0.2 ? [...new Set(Array.from({ length: this.int(1, 2) }, () => this.pick(recent)))] : [];
    let kind: Kind;
    let maxAttempts: number | undefined;
    let failFirst = 0;
    let napMs = 0;
    let args;
    if (roll < 0.35) {
      kind = 'quick';
      args = [toAny(id)];
      if (random() < 0.2) maxAttempts = this.int(2, 3);
    } else if (roll < 0.6) {
      kind = 'nap';
      napMs = this.int(1, 60);
      args = [toAny(napMs)];
      if (random() < 0.4) maxAttempts = this.int(2, 4);
    } else if (roll < 0.85) {
      kind = 'flaky';
      maxAttempts = this.int(2, 4);
      failFirst = this.int(0, 4);
      args = [toAny(failFirst), toAny(this.int(0, 30))];
    } else {
      kind = 'doomed';
      if (random() < 0.7) maxAttempts = this.int(2, 3);
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
        : { retryPolicy: { maxAttempts, initialBackoffMs: Long.fromNumber(this.int(5, 60), true), maxBackoffMs: Long.fromNumber(300, true), backoffMultiplier: 2 } }),
    };
    const task: Planned = { id, kind, request, maxAttempts, failFirst, napMs, acked: false, unknown: false, rejected: false, seen: undefined };
    this.tasks.set(id, task);
    return task;
  }

  /** Submits `task`'s request (again, for one whose first answer was lost) and records the answer. */
  async submit(client: TaskSchedulerClient, task: Planned, crashed: () => boolean, retry = false): Promise<void> {
    try {
      const answer = await client.submitTask(retry ? { ...task.request, detached: true } : task.request);
      this.#acknowledge(task);
      this.observe(task, answer.status, answer.result);
    } catch (err) {
      if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION && err.details.startsWith('Dependency failed: ')) {
        // Refused before it was stored (a dependency failed meanwhile); a resubmission of a task that
        // was stored would have been answered with the task instead.
        task.rejected = true;
        task.unknown = false;
      } else if (!task.request.detached && !retry && err instanceof ClientError && err.code === Status.INTERNAL && err.details.startsWith(TASK_FAILED)) {
        // A blocking call answered with the task's own failure: accepted, and finished (the record
        // holds the task's message, without the status prefix).
        this.#acknowledge(task);
        this.observe(task, TaskResponse_Status.FAILED, err.details.slice(TASK_FAILED.length));
      } else if (crashed() && isCrashError(err)) {
        task.unknown = true;
      } else {
        this.problem(`${task.id}: submit answered ${err instanceof ClientError ? `${Status[err.code]} ${err.details}` : String(err)}`);
      }
    }
  }

  /** Submits again, through `client`, every task whose answer was lost to a crash. */
  async resubmitUnknown(client: TaskSchedulerClient, crashed: () => boolean = () => false): Promise<void> {
    for (const task of [...this.tasks.values()].filter((t) => t.unknown)) {
      if (crashed()) return;
      await this.submit(client, task, crashed, true);
    }
  }

  /**
   * Calls `kill` after a random number (`minAcks`–`maxAcks`) of further acknowledgements (so the amount
   * of work does not depend on the machine's speed) and a random few ms more (so it is not aligned with
   * an answer); at the latest after 20 s. Resolves once it was called.
   */
  killAfterAcks(kill: () => void, minAcks = 50, maxAcks = 400): Promise<void> {
    const killAtAcks = this.ackedIds.length + this.int(minAcks, maxAcks);
    const delay = this.int(0, 30);
    return new Promise<void>((resolve) => {
      const go = () => {
        clearInterval(poll);
        clearTimeout(latest);
        setTimeout(() => {
          kill();
          resolve();
        }, delay);
      };
      const poll = setInterval(() => this.ackedIds.length >= killAtAcks && go(), 1);
      const latest = setTimeout(go, 20_000);
    });
  }

  /**
   * Load on `clients` until `stop()`: `loaders` loops submitting new tasks of `life` (spread over the
   * clients), `readers` loops reading random acknowledged tasks. `crashed(i)` says client i's server was
   * killed: its loops end, and connection errors from it are expected.
   */
  async drive(clients: readonly TaskSchedulerClient[], crashed: (i: number) => boolean, stop: () => boolean, life: number, loaders = 24, readers = 4): Promise<void> {
    const load = async (i: number) => {
      const client = clients[i]!;
      const dead = () => crashed(i);
      await this.resubmitUnknown(client, () => dead() || stop());
      while (!stop() && !dead()) await this.submit(client, this.plan(life), dead);
    };
    const read = async (i: number) => {
      const client = clients[i]!;
      while (!stop() && !crashed(i)) {
        if (this.ackedIds.length === 0) {
          await sleep(5);
          continue;
        }
        const task = this.tasks.get(this.pick(this.ackedIds))!;
        try {
          const answer = this.random() < 0.5 ? await client.getResult({ taskId: task.id }) : await client.waitResult({ taskId: task.id, timeoutMs: Long.fromNumber(this.int(1, 50), true) });
          if (answer.status === TaskResponse_Status.NOT_FOUND) this.problem(`${task.id}: acknowledged, then NOT_FOUND`);
          this.observe(task, answer.status, answer.result);
        } catch (err) {
          if (!(crashed(i) && isCrashError(err))) this.problem(`${task.id}: read answered ${String(err)}`);
        }
      }
    };
    await Promise.all([...Array.from({ length: loaders }, (_, k) => load(k % clients.length)), ...Array.from({ length: readers }, (_, k) => read(k % clients.length))]);
  }

  /** Waits (through `client`, up to `timeoutMs`) for every acknowledged task to finish; returns what each reads. */
  async awaitAll(client: TaskSchedulerClient, timeoutMs = 60_000): Promise<Map<string, Final>> {
    const finals = new Map<string, Final>();
    const waitDeadline = Date.now() + timeoutMs;
    const accepted = this.accepted();
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
    return finals;
  }

  /** Reads every acknowledged or refused task through `client` and reports any that differs from `finals`. */
  async reread(client: TaskSchedulerClient, finals: ReadonlyMap<string, Final>, when: string): Promise<void> {
    const all = [...this.tasks.values()].filter((task) => task.acked || task.rejected);
    await Promise.all(
      Array.from({ length: 32 }, async (_, worker) => {
        for (let i = worker; i < all.length; i += 32) {
          const task = all[i]!;
          const answer = await client.getResult({ taskId: task.id });
          if (task.rejected) {
            if (answer.status !== TaskResponse_Status.NOT_FOUND) this.problem(`${task.id}: refused at submission, yet stored`);
            continue;
          }
          const final = finals.get(task.id)!;
          if (answer.status !== final.status || answer.result !== final.result || answer.attempts !== final.attempts) {
            this.problem(`${task.id}: read ${JSON.stringify(final)} first, ${JSON.stringify(answer)} ${when}`);
          }
        }
      }),
    );
  }

  accepted(): Planned[] {
    return [...this.tasks.values()].filter((task) => task.acked);
  }

  /**
   * Checks every acknowledged task's final record (`finals`) against the execution log `execLog`:
   * - it reached exactly one terminal state, readable, the same one any client saw earlier;
   * - no attempt ran twice, and every attempt that started was recorded (RUNNING is stored before the
   *   task starts): each logged attempt n has n ≤ the record's `attempts`;
   * - without a retry policy it ran at most once; cut by a crash, it ends as `lost` says;
   * - with one it ran attempt after attempt up to `max_attempts` (an attempt cut by a crash counts),
   *   and ended in success or with exactly its attempts spent;
   * - nothing stays PENDING or RUNNING.
   */
  check(finals: ReadonlyMap<string, Final>, execLog: string, lost: LostRule): void {
    const { tasks, totals } = this;
    const runs = new Map<string, number[]>();
    for (const line of readFileSync(execLog, 'utf8').split('\n')) {
      if (line === '') continue;
      const [id, attempt] = line.split(' ');
      if (!tasks.has(id!)) this.problem(`execution log: unknown task ${line}`);
      const list = runs.get(id!) ?? [];
      list.push(Number(attempt));
      runs.set(id!, list);
      totals.executions++;
    }
    for (const [id, list] of runs) {
      const task = tasks.get(id);
      if (task && !task.acked) this.problem(`${id}: ran (${list.join(',')}) but was never acknowledged (${task.rejected ? 'refused' : 'answer lost'})`);
    }

    for (const task of this.accepted()) {
      const final = finals.get(task.id)!;
      const ran = runs.get(task.id) ?? [];
      const of = task.maxAttempts ?? 1;
      const label = `${task.id} (${task.kind}, ${task.maxAttempts ? `max_attempts ${task.maxAttempts}` : 'no policy'}${task.kind === 'flaky' ? `, fails ${task.failFirst}` : ''}; ran attempts [${ran.join(',')}]; reads ${TaskResponse_Status[final.status]} ${JSON.stringify(final.result)} attempts ${final.attempts})`;
      totals.tasks++;
      totals.byStatus[TaskResponse_Status[final.status]!] = (totals.byStatus[TaskResponse_Status[final.status]!] ?? 0) + 1;
      if (final.status !== TaskResponse_Status.SUCCESS && final.status !== TaskResponse_Status.FAILED) {
        this.problem(`${label}: ${final.status === TaskResponse_Status.NOT_FOUND ? 'acknowledged, and lost' : 'not finished'}`);
        continue;
      }
      if (task.seen && (task.seen.status !== final.status || task.seen.result !== final.result)) {
        this.problem(`${label}: a client was told ${TaskResponse_Status[task.seen.status]} ${JSON.stringify(task.seen.result)}`);
      }
      // Each attempt at most once, and only attempts the store had recorded as started.
      if (new Set(ran).size !== ran.length) this.problem(`${label}: an attempt ran twice`);
      if (ran.some((attempt) => attempt < 1 || attempt > final.attempts)) this.problem(`${label}: an attempt ran that the record does not count`);
      if (final.attempts > of) this.problem(`${label}: more attempts than its policy allows`);
      if (task.maxAttempts === undefined && ran.length > 1) this.problem(`${label}: ran more than once without a retry policy`);
      totals.startedWithoutLine += final.attempts - ran.length;
      const result = final.result;
      if (final.status === TaskResponse_Status.SUCCESS) {
        if (!ran.includes(final.attempts)) this.problem(`${label}: succeeded in an attempt that never started`);
        const expected = {
          quick: `quick ${task.id} attempt ${final.attempts}`,
          nap: `napped ${task.napMs} ms attempt ${final.attempts}`,
          flaky: `ok at attempt ${final.attempts}`,
          doomed: '(never succeeds)',
        }[task.kind];
        if (result !== expected) this.problem(`${label}: expected ${JSON.stringify(expected)}`);
        if (task.kind === 'flaky' && final.attempts <= task.failFirst) this.problem(`${label}: succeeded too early`);
      } else if (lost.matches(result)) {
        totals.interrupted++;
        const expected = lost.expected(final.attempts, of);
        if ((expected !== undefined && result !== expected) || final.attempts !== of) this.problem(`${label}: expected ${lost.expected(of, of) ?? 'its attempts spent'}`);
      } else if (result.startsWith('Dependency failed: ')) {
        const dep = result.slice('Dependency failed: '.length);
        if (!task.request.deps!.includes(dep) || finals.get(dep)?.status !== TaskResponse_Status.FAILED) this.problem(`${label}: its dependency ${dep} did not fail`);
        if (final.attempts !== 0 || ran.length !== 0) this.problem(`${label}: ran although a dependency failed`);
      } else {
        // The task's own failure, with every attempt spent.
        const expected = task.kind === 'flaky' ? `flaky: attempt ${final.attempts} fails (the first ${task.failFirst} do)` : `doomed: attempt ${final.attempts} fails`;
        if ((task.kind !== 'flaky' && task.kind !== 'doomed') || result !== expected) this.problem(`${label}: expected ${JSON.stringify(expected)}`);
        if (final.attempts !== of) this.problem(`${label}: failed with attempts left`);
        if (!ran.includes(final.attempts)) this.problem(`${label}: failed in an attempt that never started`);
      }
    }
    totals.rejected = [...tasks.values()].filter((task) => task.rejected).length;
  }
}

/** Adds up `runs`, prints the one-line summary and returns the sum. */
export function summarize(label: string, runs: readonly Totals[], words: { interrupted: string; retried: string; resumed: string | undefined; starts: string } = { interrupted: 'ended FAILED Interrupted', retried: 'retried after a crash', resumed: 'resumed PENDING', starts: 'server starts' }): Totals {
  const sum = newTotals();
  for (const run of runs) {
    for (const key of Object.keys(sum) as Array<keyof Totals>) {
      if (key === 'byStatus') for (const [status, n] of Object.entries(run.byStatus)) sum.byStatus[status] = (sum.byStatus[status] ?? 0) + n;
      else sum[key] += run[key];
    }
  }
  // eslint-disable-next-line no-console
  console.log(
    `crash test (${label}): ${runs.length} seeds, ${sum.kills} kills (SIGKILL), ${sum.lives} ${words.starts}, ${sum.tasks} acknowledged tasks ` +
      `(${Object.entries(sum.byStatus).map(([status, n]) => `${n} ${status}`).join(', ')}), ${sum.executions} executions counted in the log; ` +
      `${sum.interrupted} ${words.interrupted}, ${sum.retriedAfterCrash} ${words.retried}, ${words.resumed === undefined ? '' : `${sum.resumedPending} ${words.resumed}, `}` +
      `${sum.startedWithoutLine} attempts recorded as started but killed before the task's first line, ${sum.rejected} refused at submission, ` +
      `${sum.observations} terminal answers compared; ${(sum.startMs / 1000).toFixed(1)} s spent starting servers`,
  );
  return sum;
}
