import { ShuttingDownError, StoreUnavailableError, TaskSchedulerError, clip, describeThrown } from '../errors';
import type { Logger } from '../logging/logger';
import type { ResultStore } from '../results/result-store';
import { isFinished, startedAttempt, withAttemptError, withProgress, withState, type TaskProgress, type TaskRecord } from '../results/task-record';
import { normalizeProgress, PROGRESS_INTERVAL_MS } from '../tasks/task-progress';
import { retryDelayMs, type RetryPolicy } from '../tasks/retry-policy';
import type { Admission } from './admission';
import { InFlightTask, type TaskRun } from './in-flight-task';
import type { RunQueue } from './queue/run-queue';
import type { GlobalLimits } from './queue/global-limits';
import type { SchedulerObserver } from './scheduler-types';
import { TaskAbort } from './task-abort';
import { failedWith, terminalOf, type Terminal } from './task-outcome';

/** What the lifecycle needs, from the scheduler that owns it. */
export interface TaskLifecycleDeps {
  readonly results: ResultStore;
  readonly queue: RunQueue;
  /** Global method/key limits (shared store); absent: per replica only. */
  readonly globalLimits?: GlobalLimits | undefined;
  readonly admission: Admission;
  readonly observer: SchedulerObserver | undefined;
  readonly logger: Logger;
  /** The map of tasks in flight to use (shared with the watches); default a new one. */
  readonly inFlight?: Map<string, InFlightTask>;
}

/**
 * The lifecycle transitions of accepted tasks — PENDING → RUNNING (an attempt) → PENDING (a retry's
 * backoff) → … → SUCCESS | FAILED | CANCELLED, or let go unfinished at shutdown — each done in one
 * place: the record, the store write, the counters (in flight, pending, slots, admission bytes) and
 * the observers (metrics, dashboard) move together. Holds the tasks in flight in this process.
 */
export class TaskLifecycle {
  /** Accepted and not finished, by id. */
  readonly inFlight: Map<string, InFlightTask>;
  readonly #results: ResultStore;
  /** Records outlive the process: RUNNING is stored before an attempt runs, shutdown leaves PENDING tasks. */
  readonly #durable: boolean;
  readonly #queue: RunQueue;
  readonly #globalLimits: GlobalLimits | undefined;
  readonly #admission: Admission;
  readonly #observer: SchedulerObserver | undefined;
  readonly #logger: Logger;
  readonly #debug: boolean;
  /** Accepted and not running (waiting for dependencies, a slot or a backoff). */
  #pending = 0;

  constructor(deps: TaskLifecycleDeps) {
    this.inFlight = deps.inFlight ?? new Map();
    this.#results = deps.results;
    this.#durable = deps.results.durable;
    this.#queue = deps.queue;
    this.#globalLimits = deps.globalLimits;
    this.#admission = deps.admission;
    this.#observer = deps.observer;
    this.#logger = deps.logger;
    this.#debug = deps.logger.isDebugEnabled();
  }

  get pending(): number {
    return this.#pending;
  }

  get durable(): boolean {
    return this.#durable;
  }

  /** A task accepted (or recovered): in flight, PENDING, charged to admission. */
  track(record: TaskRecord, run: TaskRun, charge: number, waitsForDeps: boolean): InFlightTask {
    const task = new InFlightTask(record, run);
    task.charge = charge;
    task.progressSink = this;
    this.#admission.add(charge);
    if (waitsForDeps) this.waitForDeps(task);
    this.inFlight.set(record.taskId, task);
    this.#pending++;
    return task;
  }

  accepted(task: InFlightTask, argsJson: string): void {
    const observer = this.#observer;
    if (!observer) return;
    const record = task.record;
    if (observer.taskAccepted) this.#observe(record, () => observer.taskAccepted!(record, argsJson));
    if (observer.taskWaiting && task.waitsForDeps && task.dependencies) {
      const unfinished = [...task.dependencies].filter(([, entry]) => entry instanceof InFlightTask || !isFinished(entry.status)).map(([id]) => id);
      this.#observe(record, () => observer.taskWaiting!(record, 'dependencies', unfinished));
    }
  }

  /**
   * A running task reported progress: kept on its record (GetResult) and told to the observers
   * (WatchTasks) at most every PROGRESS_INTERVAL_MS — the first at once, the latest of a burst when
   * the interval has passed. Reports of a task that is not running (any more) are dropped.
   */
  progress(task: InFlightTask, fraction: number, message: string | undefined): void {
    if (task.record.status !== 'RUNNING' || task.finishing) return;
    const report = normalizeProgress(fraction, message);
    const wait = task.progressAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      this.#applyProgress(task, report);
      return;
    }
    const scheduled = task.progressPending !== undefined;
    task.progressPending = report;
    if (scheduled) return;
    setTimeout(() => {
      const latest = task.progressPending;
      task.progressPending = undefined;
      if (latest && task.record.status === 'RUNNING' && !task.finishing) this.#applyProgress(task, latest);
    }, wait).unref();
  }

  #applyProgress(task: InFlightTask, report: TaskProgress): void {
    task.progressAt = performance.now();
    const record = withProgress(task.record, report);
    task.record = record;
    if (this.#observer?.taskProgress) this.#observe(record, () => this.#observer!.taskProgress!(record));
  }

  /** Tells the observers which tasks were accepted together (the dashboard shows them as one batch). */
  batchAccepted(taskIds: readonly string[]): void {
    const observer = this.#observer;
    if (!observer?.batchAccepted || taskIds.length === 0) return;
    try {
      observer.batchAccepted(taskIds);
    } catch (err) {
      this.#logger.error('task observer threw', { taskId: taskIds[0], err });
    }
  }

  /** A task that could not take a slot at once and waits for one. */
  waitingForSlot(task: InFlightTask): void {
    const record = task.record;
    if (this.#observer?.taskWaiting) this.#observe(record, () => this.#observer!.taskWaiting!(record, 'slot'));
  }

  waitForDeps(task: InFlightTask): void {
    task.waitsForDeps = true;
    this.#admission.waitingForDeps(task.charge);
  }

  doneWaitingForDeps(task: InFlightTask): void {
    if (!task.waitsForDeps) return;
    task.waitsForDeps = false;
    this.#admission.dependenciesDone(task.charge);
  }

  /**
   * PENDING → RUNNING: the task's next attempt starts (it holds a slot). Resolves once RUNNING is
   * stored when the store is durable (so a crash can never make a task without attempts left run
   * twice); otherwise returns undefined at once — the hot path of an inline task — and the store
   * catches up (an inline task finishes before anyone can look, so its RUNNING is not stored at all).
   */
  start(task: InFlightTask, inline: boolean): Promise<void> | undefined {
    const running = startedAttempt(task.record, Date.now());
    task.startedHr = performance.now();
    task.record = running;
    this.#pending--;
    if (this.#observer?.taskStarted) this.#observe(running, () => this.#observer!.taskStarted!(running));
    if (this.#durable && task.stored) {
      return this.#results.update(running).then(undefined, (err: unknown) => {
        throw err instanceof TaskSchedulerError ? err : new StoreUnavailableError(`could not record the start of task '${clip(running.taskId)}': ${describeThrown(err)}`);
      });
    }
    if (!inline) this.#results.update(running).catch((err: unknown) => this.#logger.error('storing RUNNING failed', { taskId: running.taskId, err }));
    return undefined;
  }

  /** RUNNING → PENDING after a failed attempt its policy retries: until the backoff passes, holding no slot. */
  async retryWait(task: InFlightTask, cause: unknown, policy: RetryPolicy): Promise<void> {
    const at = Date.now();
    const record = task.record;
    const failed = terminalOf(cause);
    const errors = withAttemptError(record, failed.result, at, failed.failure?.code);
    const waiting = withState(record, 'PENDING', '', undefined, record.startedAt, undefined, record.attempts, errors, at + retryDelayMs(policy, record.attempts));
    task.record = waiting;
    task.current = new TaskAbort();
    // No attempt runs while it waits: a task cancelled now reports no run time (the failed attempt
    // has been reported as a retry already).
    task.startedHr = undefined;
    this.releaseSlot(task);
    this.#pending++;
    if (this.#observer?.taskRetrying) this.#observe(waiting, () => this.#observer!.taskRetrying!(waiting));
    if (this.#debug) this.#logger.debug('task attempt failed; retrying', { taskId: record.taskId, attempt: record.attempts, retryAt: waiting.runAfter });
    try {
      await this.#results.update(waiting);
    } catch (err) {
      // The stored record still says RUNNING: after a crash that attempt counts as interrupted, which
      // the policy retries the same way.
      this.#logger.error('storing a retry failed', { taskId: record.taskId, err });
    }
  }

  /** The first terminal transition wins; resolves with the final record either way. */
  async finish(task: InFlightTask, terminal: Terminal): Promise<TaskRecord> {
    if (task.finishing) return task.done;
    task.finishing = true;
    if (task.record.status === 'PENDING') this.#pending--;
    this.doneWaitingForDeps(task);
    this.releaseSlot(task);
    this.#admission.remove(task.charge);
    const now = Date.now();
    const before = task.record;
    // After retries, the last attempt's error joins the others (the dashboard lists them all).
    const errors = before.attemptErrors && terminal.status === 'FAILED' && before.status === 'RUNNING' ? withAttemptError(before, terminal.result, now, terminal.failure?.code) : before.attemptErrors;
    const record = withState(before, terminal.status, terminal.result, terminal.failure, before.startedAt, now, before.attempts, errors);
    task.record = record;
    try {
      await this.#results.update(record);
    } catch (err) {
      this.#logger.error('storing a task result failed', { taskId: record.taskId, err });
    }
    this.inFlight.delete(record.taskId);
    task.settle(record);
    if (this.#observer) {
      const runMs = task.startedHr === undefined ? undefined : performance.now() - task.startedHr;
      this.#observe(record, () => this.#observer!.taskFinished(record, runMs));
    }
    if (this.#debug) {
      this.#logger.debug('task finished', {
        taskId: record.taskId,
        method: record.method,
        status: record.status,
        attempts: record.attempts,
        ms: record.finishedAt! - (record.startedAt ?? record.submittedAt),
      });
    }
    return record;
  }

  /** A record ended without running here (recovery found it cannot run again): stored and observed. */
  async ended(record: TaskRecord): Promise<void> {
    await this.#results.update(record);
    if (this.#observer) this.#observe(record, () => this.#observer!.taskFinished(record, undefined));
  }

  /** Ends an unfinished task from outside (cancel, shutdown): aborts its work and records it CANCELLED. */
  async stop(task: InFlightTask, reason: TaskSchedulerError): Promise<void> {
    this.#queue.withdraw(task);
    this.abort(task, reason);
    await this.finish(task, failedWith(reason, 'CANCELLED'));
  }

  /** At shutdown: a durable store keeps a task that has not started for the next start; any other is cancelled. */
  leaveAtShutdown(task: InFlightTask): Promise<void> {
    const id = clip(task.record.taskId);
    if (this.#durable && task.record.status === 'PENDING') {
      this.#release(task, new ShuttingDownError(`: task '${id}' stays PENDING and resumes when the server restarts`));
      return Promise.resolve();
    }
    return this.stop(task, new ShuttingDownError(`: task '${id}' was cancelled before it finished`));
  }

  /**
   * Lets an unfinished task go without a terminal record (shutdown with a durable store): its record
   * stays as stored, its local waiters get it as it is, its blocking callers get `reason`.
   */
  #release(task: InFlightTask, reason: TaskSchedulerError): void {
    if (task.finishing) return;
    task.released = reason;
    this.#queue.withdraw(task);
    this.abort(task, reason);
    this.untrack(task, task.record);
  }

  /**
   * Forgets an unfinished task that will not run (further) here: another replica took its id first
   * (`final` is that task's record), its PENDING record could not be stored, or it was released at
   * shutdown (`final` is its record as stored).
   */
  untrack(task: InFlightTask, final: TaskRecord): void {
    this.inFlight.delete(task.record.taskId);
    if (task.record.status === 'PENDING') this.#pending--;
    this.doneWaitingForDeps(task);
    this.releaseSlot(task);
    this.#admission.remove(task.charge);
    task.finishing = true;
    task.settle(final);
  }

  /** The record a local waiter on `task` gets when its PENDING record could not be stored. */
  unstored(task: InFlightTask, err: unknown): TaskRecord {
    const error = err instanceof TaskSchedulerError ? err : new StoreUnavailableError(describeThrown(err));
    return withState(task.record, 'FAILED', error.message, { code: error.code, message: error.message }, undefined, Date.now());
  }

  releaseSlot(task: InFlightTask): void {
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    this.#queue.release(task);
    const held = task.globalStart;
    if (held) {
      task.globalStart = undefined;
      // A failed release is taken back with this replica's lease if the replica is lost; while it
      // lives, the slot stays counted (logged so it is seen).
      this.#globalLimits!.release(held).catch((err: unknown) => this.#logger.error('releasing a global slot failed', { method: held.method, key: held.key, err }));
    }
  }

  /** Aborts a task's current attempt or wait; a listener that throws is logged, not fatal. */
  abort(task: InFlightTask, reason: TaskSchedulerError): void {
    for (const err of task.abortCurrent(reason)) this.logAbortError(task.record.taskId, err);
  }

  logAbortError(taskId: string, err: unknown): void {
    this.#logger.error('task abort listener threw', { taskId, err });
  }

  /** Calls an observer; a throw must not fail the task. */
  #observe(record: TaskRecord, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#logger.error('task observer threw', { taskId: record.taskId, err });
    }
  }
}
