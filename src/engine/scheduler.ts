import { setTimeout as delay } from 'node:timers/promises';
import type { ArgValue } from '../args/arg-value';
import {
  DependencyFailedError,
  InvalidArgumentsError,
  MethodNotFoundError,
  MissingDependencyError,
  ShuttingDownError,
  StoreUnavailableError,
  TaskAlreadyExistsError,
  TaskCancelledError,
  TaskExecutionError,
  TaskSchedulerError,
  TaskTimeoutError,
  TooManyTasksError,
  clip,
  describeThrown,
} from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { ResultStore } from '../results/result-store';
import { isSharedResultStore, type SharedResultStore } from '../results/shared-result-store';
import { isFinished, newRecord, withState, type TaskRecord } from '../results/task-record';
import type { TaskContext } from '../tasks/task-context';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { TaskDefinition, TaskRegistry } from '../tasks/task-registry';
import { ConcurrencyLimiter } from './concurrency-limiter';
import type { CancelOutcome, RunningTaskInfo, Scheduler, SchedulerDeps, SchedulerObserver, SchedulerStats, SubmitRequest, TaskOutcome } from './scheduler-types';
import { MAX_WAIT_RESULT_MS } from './scheduler-types';
import { failedWith, outcomeOf, overtime, type Terminal } from './task-outcome';
import { canonicalJson } from '../args/canonical-json';
import { digestOfCanonicalJson, identityMismatch } from './task-identity';
import { newTaskId } from './task-id';
import { raceAbort, TaskAbort } from './task-abort';
import { waitUntil } from './wait-until';

export * from './scheduler-types';

/**
 * The task engine: idempotency, dependencies, in-flight tasks, limits, timeouts and cancellation. It
 * knows nothing of gRPC or protobuf (see {@link Scheduler}).
 */
/** Builds a {@link Scheduler}. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  return new TaskScheduler(deps);
}

/**
 * A task accepted and not yet finished. Aborting it is {@link TaskAbort}'s (no AbortSignal unless one is
 * read); its `done` promise is made on first use: a quick inline task that nobody waits for never needs
 * either (the hot path stays lean).
 */
class InFlightTask extends TaskAbort {
  record: TaskRecord;
  /** Set by the first terminal transition; later ones are ignored. */
  finishing = false;
  /** Holds a concurrency slot (released on finish). */
  holdsSlot = false;
  /** Counted in the scheduler's waiting-for-dependencies total. */
  waitsForDeps = false;
  /** performance.now() when it started running: sub-millisecond run times for metrics. */
  startedHr: number | undefined = undefined;
  #done: Promise<TaskRecord> | undefined = undefined;
  #resolve: ((record: TaskRecord) => void) | undefined = undefined;
  #final: TaskRecord | undefined = undefined;

  constructor(record: TaskRecord) {
    super();
    this.record = record;
  }

  /** Resolves with the final record. */
  get done(): Promise<TaskRecord> {
    if (!this.#done) {
      const final = this.#final;
      this.#done = final ? Promise.resolve(final) : new Promise<TaskRecord>((resolve) => (this.#resolve = resolve));
    }
    return this.#done;
  }

  settle(record: TaskRecord): void {
    this.#final = record;
    this.#resolve?.(record);
  }
}

/** The signal of tasks that run inline and synchronously: nothing can abort them mid-run. */
const NEVER_ABORTED = new AbortController().signal;
const NEVER_UNSUBSCRIBE = (): void => {};
const NEVER_ON_ABORT = (): (() => void) => NEVER_UNSUBSCRIBE;

type DependencyState = TaskRecord | InFlightTask;

const NO_DEPENDENCY_RESULTS: ReadonlyMap<string, string> = new Map();
/** Shared by every record without dependencies (most of them): one array, not one per task. */
const NO_DEPS: readonly string[] = Object.freeze([]);

/** Runs on this thread, synchronously: sync tasks not sent to the worker pool. */
function isInline(definition: TaskDefinition, pool: TaskPool | undefined): boolean {
  return definition.kind === 'sync' && !(definition.worker && pool);
}

class TaskScheduler implements Scheduler {
  readonly #registry: TaskRegistry;
  readonly #results: ResultStore;
  readonly #logger: Logger;
  readonly #debug: boolean;
  readonly #dependencyTimeoutMs: number;
  readonly #executionTimeoutMs: number;
  readonly #pool: TaskPool | undefined;
  readonly #limiter: ConcurrencyLimiter<InFlightTask>;
  readonly #maxQueuedTasks: number;
  readonly #observer: SchedulerObserver | undefined;
  readonly #inFlight = new Map<string, InFlightTask>();
  /** Set when several replicas share the store: tasks may then be unfinished on another replica. */
  readonly #shared: SharedResultStore | undefined;
  #pending = 0;
  /** Tasks blocked on unfinished dependencies: with the slot waiters, what --max-queued-tasks bounds. */
  #waitingForDeps = 0;
  #closing = false;

  constructor(deps: SchedulerDeps) {
    this.#registry = deps.registry;
    this.#results = deps.results;
    this.#logger = (deps.logger ?? silentLogger).child({ component: 'scheduler' });
    this.#debug = this.#logger.isDebugEnabled();
    this.#dependencyTimeoutMs = deps.dependencyTimeoutMs ?? 30_000;
    this.#executionTimeoutMs = deps.executionTimeoutMs ?? 0;
    this.#pool = deps.pool;
    this.#limiter = new ConcurrencyLimiter(deps.maxConcurrentTasks ?? 0);
    this.#maxQueuedTasks = deps.maxQueuedTasks ?? 0;
    this.#observer = deps.observer;
    this.#shared = isSharedResultStore(deps.results) ? deps.results : undefined;
    this.#shared?.onCancelRequest((taskId) => this.#cancelRequested(taskId));
  }

  stats(): SchedulerStats {
    return {
      inFlight: this.#inFlight.size,
      pending: this.#pending,
      running: this.#limiter.running,
      waitingForDeps: this.#waitingForDeps,
      waitingForSlot: this.#limiter.waiting,
    };
  }

  runningTasks(): RunningTaskInfo[] {
    const out: RunningTaskInfo[] = [];
    for (const { record } of this.#inFlight.values()) {
      if (record.status === 'RUNNING') out.push({ taskId: record.taskId, method: record.method, startedAt: record.startedAt ?? 0 });
    }
    return out;
  }

  resolveMethod(method: string): TaskDefinition {
    if (method === '') throw new InvalidArgumentsError('method is empty: name a registered task, e.g. "add"');
    const definition = this.#registry.get(method);
    if (!definition) throw new MethodNotFoundError(method);
    return definition;
  }

  async submit(request: SubmitRequest): Promise<TaskOutcome> {
    if (this.#closing) throw new ShuttingDownError();
    const definition = this.resolveMethod(request.method);
    const taskId = request.taskId === '' ? newTaskId() : request.taskId;
    if (request.deps.includes(taskId)) {
      throw new InvalidArgumentsError(`task '${clip(taskId)}' lists itself in deps`);
    }
    // Built once per request: the digest is made from it, and the task may use it (TaskContext.argsJson).
    const argsJson = canonicalJson(request.args);
    const identity = {
      method: definition.name, // the registry's string, shared by every record of this method
      deps: request.deps.length === 0 ? NO_DEPS : request.deps,
      argsDigest: digestOfCanonicalJson(argsJson),
      injectDependencyResults: request.injectDependencyResults ?? false,
    };
    const detached = request.detached ?? false;

    if (request.taskId !== '') {
      const existing = this.#inFlight.get(taskId)?.record ?? (await this.#results.get(taskId));
      if (existing) return this.#answerExisting(existing, identity, detached);
    }
    const dependencies = request.deps.length === 0 ? undefined : await this.#checkDependencies(request.deps);
    // Another submission of this id may have been accepted while we awaited the store.
    const raced = this.#inFlight.get(taskId);
    if (raced) return this.#answerExisting(raced.record, identity, detached);
    if (this.#closing) throw new ShuttingDownError();
    const waiting = this.#waitingForDeps + this.#limiter.waiting;
    if (this.#maxQueuedTasks > 0 && waiting >= this.#maxQueuedTasks) {
      throw new TooManyTasksError(`${waiting} tasks are already waiting (limit ${this.#maxQueuedTasks}, --max-queued-tasks); retry later`);
    }

    const record = newRecord(taskId, identity, Date.now());
    const task = this.#track(record);
    if (dependencies && [...dependencies.values()].some((entry) => entry instanceof InFlightTask || entry.status !== 'SUCCESS')) {
      // Counted at once (not when its run starts), so a burst of submissions cannot overshoot the bound.
      task.waitsForDeps = true;
      this.#waitingForDeps++;
    }
    // A server-assigned id cannot be taken, so a task that runs to completion within this call needs
    // no PENDING record: its only store write is the final one. Any other task is recorded at once
    // (the atomic insert is what keeps client-chosen ids idempotent across a shared store).
    const completesNow = request.taskId === '' && !detached && dependencies === undefined && isInline(definition, this.#pool);
    if (!completesNow) {
      let prior: TaskRecord | undefined;
      try {
        prior = await this.#results.insert(record);
      } catch (err) {
        this.#untrack(task, this.#unstored(task, err));
        throw err;
      }
      if (prior) {
        // Only a shared store can get here: another replica took the id first.
        this.#untrack(task, prior);
        return this.#answerExisting(prior, identity, detached);
      }
    }
    if (this.#observer?.taskAccepted) this.#observeAccepted(record, argsJson);
    if (detached) {
      // Let the PENDING answer go out before a synchronous task takes the thread.
      setImmediate(() => void this.#run(task, definition, request, argsJson, dependencies));
      return { taskId, status: 'PENDING', result: '' };
    }
    return outcomeOf(await this.#run(task, definition, request, argsJson, dependencies));
  }

  async getResult(taskId: string): Promise<TaskRecord | undefined> {
    return this.#inFlight.get(taskId)?.record ?? this.#results.get(taskId);
  }

  async waitResult(taskId: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const task = this.#inFlight.get(taskId);
    const ms = timeoutMs <= 0 || timeoutMs > MAX_WAIT_RESULT_MS ? MAX_WAIT_RESULT_MS : timeoutMs;
    if (!task) return this.#shared ? this.#waitElsewhere(taskId, ms) : this.#results.get(taskId);
    // Checked and subscribed in one synchronous step: a finish cannot slip in between. A plain timer,
    // not an AbortController and timers/promises: thousands of waiters may be parked at once (bench c).
    return new Promise<TaskRecord>((resolve) => {
      const timer = setTimeout(() => resolve(task.record), ms);
      void task.done.then((record) => {
        clearTimeout(timer);
        resolve(record);
      });
    });
  }

  async cancel(taskId: string): Promise<CancelOutcome> {
    const task = this.#inFlight.get(taskId);
    if (!task && this.#shared) return this.#cancelElsewhere(this.#shared, taskId);
    if (!task || task.finishing) return { cancelled: false, record: task?.record ?? (await this.#results.get(taskId)) };
    await this.#stop(task, new TaskCancelledError(taskId));
    return { cancelled: true, record: task.record };
  }

  async close(graceMs = 0): Promise<void> {
    this.#closing = true;
    // Nothing starts during the drain: tasks not yet running are cancelled now; running ones get the grace.
    const shuttingDown = (task: InFlightTask) =>
      this.#stop(task, new ShuttingDownError(`: task '${clip(task.record.taskId)}' was cancelled before it finished`));
    await Promise.allSettled([...this.#inFlight.values()].filter((task) => task.record.status === 'PENDING').map(shuttingDown));
    if (graceMs > 0 && this.#inFlight.size > 0) {
      const timer = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.#inFlight.values()].map((task) => task.done)),
        delay(graceMs, undefined, { signal: timer.signal }).catch(() => undefined),
      ]);
      timer.abort();
    }
    await Promise.allSettled([...this.#inFlight.values()].map(shuttingDown));
    await this.#pool?.close();
  }

  /** Ends an unfinished task from outside (cancel, shutdown): aborts its work and records it CANCELLED. */
  async #stop(task: InFlightTask, reason: TaskSchedulerError): Promise<void> {
    this.#limiter.withdraw(task);
    this.#abort(task, reason);
    await this.#finish(task, failedWith(reason, 'CANCELLED'));
  }

  /** Aborts a task's work (its signal and onAbort listeners); a listener that throws is logged, not fatal. */
  #abort(task: InFlightTask, reason: TaskSchedulerError): void {
    for (const err of task.abort(reason)) this.#logger.error('task abort listener threw', { taskId: task.record.taskId, err });
  }

  #track(record: TaskRecord): InFlightTask {
    const task = new InFlightTask(record);
    this.#inFlight.set(record.taskId, task);
    this.#pending++;
    return task;
  }

  async #answerExisting(
    existing: TaskRecord,
    identity: Parameters<typeof identityMismatch>[1],
    detached: boolean,
  ): Promise<TaskOutcome> {
    const why = identityMismatch(existing, identity);
    if (why) throw new TaskAlreadyExistsError(existing.taskId, why);
    if (detached) return { taskId: existing.taskId, status: existing.status, result: existing.result };
    if (isFinished(existing.status)) return outcomeOf(existing);
    const task = this.#inFlight.get(existing.taskId);
    if (!task) return outcomeOf(await this.#finishedElsewhere(existing, Infinity, undefined));
    return outcomeOf(await task.done);
  }

  /** Validates deps before acceptance (SPEC §3): all known, none failed. Unfinished ones are awaited later. */
  async #checkDependencies(deps: readonly string[]): Promise<Map<string, DependencyState>> {
    const state = new Map<string, DependencyState>();
    for (const dep of deps) {
      if (state.has(dep)) continue;
      const task = this.#inFlight.get(dep);
      const record = task?.record ?? (await this.#results.get(dep));
      if (!record) throw new MissingDependencyError(dep);
      if (record.status === 'FAILED' || record.status === 'CANCELLED') throw new DependencyFailedError(dep);
      if (record.status === 'SUCCESS') state.set(dep, record);
      else state.set(dep, task ?? record);
    }
    return state;
  }

  /** Waits for unfinished deps (one deadline for all) and collects their results, in deps order. */
  async #awaitDependencies(task: InFlightTask, request: SubmitRequest, state: Map<string, DependencyState>): Promise<ReadonlyMap<string, string>> {
    const timeoutMs = request.dependencyTimeoutMs || this.#dependencyTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const results = new Map<string, string>();
    for (const dep of request.deps) {
      let record: TaskRecord;
      const entry = state.get(dep)!;
      if (entry instanceof InFlightTask) {
        record = await waitUntil(entry.done, deadline - Date.now(), task.signal, () =>
          new TaskTimeoutError(`dependency '${clip(dep)}' did not finish within ${timeoutMs} ms`),
        );
      } else if (isFinished(entry.status)) {
        record = entry;
      } else {
        record = await this.#finishedElsewhere(entry, deadline - Date.now(), task.signal);
        if (!isFinished(record.status)) throw new TaskTimeoutError(`dependency '${clip(dep)}' did not finish within ${timeoutMs} ms`);
      }
      if (record.status !== 'SUCCESS') throw new DependencyFailedError(dep);
      results.set(dep, record.result);
    }
    return results;
  }

  /** Runs an accepted task to its end; resolves with its final record (never rejects). */
  async #run(
    task: InFlightTask,
    definition: TaskDefinition,
    request: SubmitRequest,
    argsJson: string,
    dependencies: Map<string, DependencyState> | undefined,
  ): Promise<TaskRecord> {
    const taskId = task.record.taskId;
    try {
      const dependencyResults = dependencies ? await this.#awaitDependencies(task, request, dependencies) : NO_DEPENDENCY_RESULTS;
      this.#doneWaitingForDeps(task);
      if (task.finishing) return task.done;
      if (!this.#limiter.tryAcquire() && !(await this.#limiter.wait(task))) return task.done; // withdrawn: cancelled
      task.holdsSlot = true;
      if (task.finishing) {
        this.#releaseSlot(task);
        return task.done;
      }
      const inline = isInline(definition, this.#pool);
      const running = withState(task.record, 'RUNNING', '', undefined, Date.now(), undefined);
      task.startedHr = performance.now();
      task.record = running;
      this.#pending--;
      if (this.#observer?.taskStarted) this.#observeStarted(running);
      // An inline sync task finishes before anything else can look, so RUNNING is not stored for it.
      // Otherwise not awaited: the transition is visible locally at once; the store catches up in order.
      if (!inline) this.#results.update(running).catch((err: unknown) => this.#logger.error('storing RUNNING failed', { taskId, err }));
      const injected = request.injectDependencyResults === true && request.deps.length > 0;
      const taskArgsJson = injected ? undefined : argsJson; // the JSON of request.args, not of the injected list
      const ctx: TaskContext = inline
        ? { taskId, method: definition.name, dependencyResults, signal: NEVER_ABORTED, onAbort: NEVER_ON_ABORT, argsJson: taskArgsJson }
        : task.contextFor(taskId, definition.name, dependencyResults, taskArgsJson);
      const args = injected
        ? [...request.deps.map((dep): ArgValue => ({ kind: 'string', value: dependencyResults.get(dep)! })), ...request.args]
        : request.args;
      const timeoutMs = request.executionTimeoutMs || this.#executionTimeoutMs;
      let result: unknown;
      if (definition.kind === 'async') {
        result = await this.#runAsync(task, definition.fn(args, ctx), timeoutMs);
      } else if (definition.worker && this.#pool) {
        result = await this.#runAsync(task, this.#pool.run(definition.name, args, ctx), timeoutMs);
      } else {
        // Inline sync tasks cannot be interrupted; one that overran still answers DEADLINE_EXCEEDED.
        result = definition.fn(args, ctx);
        if (timeoutMs > 0 && Date.now() - running.startedAt! > timeoutMs) throw overtime(taskId, timeoutMs);
      }
      if (typeof result !== 'string') {
        throw new TaskExecutionError(`task '${definition.name}' returned ${result === null ? 'null' : typeof result}, expected a string`);
      }
      return await this.#finish(task, { status: 'SUCCESS', result });
    } catch (err) {
      return this.#finish(task, this.#failureOf(task, err));
    }
  }

  /** Awaits an async task's promise, giving up as soon as the task is aborted (cancel, timeout, shutdown). */
  async #runAsync(task: InFlightTask, pending: Promise<string>, timeoutMs: number): Promise<unknown> {
    const timer = timeoutMs > 0
      ? setTimeout(() => this.#abort(task, overtime(task.record.taskId, timeoutMs)), timeoutMs)
      : undefined;
    try {
      return await raceAbort(pending, task);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  #failureOf(task: InFlightTask, err: unknown): Terminal {
    // An aborted task failed because of why it was aborted, whatever it threw on the way out.
    const cause = task.aborted ? task.reason : err;
    if (cause instanceof TaskCancelledError) return failedWith(cause, 'CANCELLED');
    if (cause instanceof TaskSchedulerError) return failedWith(cause, 'FAILED');
    const message = describeThrown(cause);
    if (this.#debug) this.#logger.debug('task threw', { taskId: task.record.taskId, err: cause });
    return failedWith(new TaskExecutionError(message, { cause }), 'FAILED');
  }

  /** The first terminal transition wins; resolves with the final record either way. */
  async #finish(task: InFlightTask, terminal: Terminal): Promise<TaskRecord> {
    if (task.finishing) return task.done;
    task.finishing = true;
    if (task.record.status === 'PENDING') this.#pending--;
    this.#doneWaitingForDeps(task);
    this.#releaseSlot(task);
    const record = withState(task.record, terminal.status, terminal.result, terminal.failure, task.record.startedAt, Date.now());
    task.record = record;
    try {
      await this.#results.update(record);
    } catch (err) {
      this.#logger.error('storing a task result failed', { taskId: record.taskId, err });
    }
    this.#inFlight.delete(record.taskId);
    task.settle(record);
    if (this.#observer) {
      try {
        this.#observer.taskFinished(record, task.startedHr === undefined ? undefined : performance.now() - task.startedHr);
      } catch (err) {
        this.#logger.error('task observer threw', { taskId: record.taskId, err });
      }
    }
    if (this.#debug) {
      this.#logger.debug('task finished', {
        taskId: record.taskId,
        method: record.method,
        status: record.status,
        ms: record.finishedAt! - (record.startedAt ?? record.submittedAt),
      });
    }
    return record;
  }

  // Lifecycle events for observers that ask for them (the dashboard); a throw must not fail the task.
  #observeAccepted(record: TaskRecord, argsJson: string): void {
    try {
      this.#observer!.taskAccepted!(record, argsJson);
    } catch (err) {
      this.#logger.error('task observer threw', { taskId: record.taskId, err });
    }
  }

  #observeStarted(record: TaskRecord): void {
    try {
      this.#observer!.taskStarted!(record);
    } catch (err) {
      this.#logger.error('task observer threw', { taskId: record.taskId, err });
    }
  }

  #doneWaitingForDeps(task: InFlightTask): void {
    if (!task.waitsForDeps) return;
    task.waitsForDeps = false;
    this.#waitingForDeps--;
  }

  #releaseSlot(task: InFlightTask): void {
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    this.#limiter.release();
  }

  // --- Shared store (several replicas): tasks unfinished in the store but running on another replica.
  // With the in-memory store every unfinished record is in flight here and none of this runs.

  /**
   * The record of a task unfinished on another replica once it has finished (or its current record
   * when `timeoutMs` passes first). Throws a StoreUnavailableError if the record vanishes meanwhile.
   */
  async #finishedElsewhere(record: TaskRecord, timeoutMs: number, signal: AbortSignal | undefined): Promise<TaskRecord> {
    if (!this.#shared) throw new Error(`internal: task '${record.taskId}' is ${record.status} in the store but not in flight here`);
    const final = await this.#shared.waitForFinish(record.taskId, timeoutMs, signal);
    if (!final) throw new StoreUnavailableError(`task '${clip(record.taskId)}' vanished from the store while it was awaited (expired, or Redis lost its data)`);
    return final;
  }

  /** waitResult of a task not in flight here: it may be unfinished on another replica. */
  async #waitElsewhere(taskId: string, ms: number): Promise<TaskRecord | undefined> {
    const record = await this.#results.get(taskId);
    if (!record || isFinished(record.status)) return record;
    return this.#shared!.waitForFinish(taskId, ms);
  }

  /** CancelTask of a task not in flight here: asks its replica to cancel it and waits (briefly) for the outcome. */
  async #cancelElsewhere(shared: SharedResultStore, taskId: string): Promise<CancelOutcome> {
    const record = await this.#results.get(taskId);
    if (!record || isFinished(record.status)) return { cancelled: false, record };
    await shared.requestCancel(taskId);
    const final = await shared.waitForFinish(taskId, REMOTE_CANCEL_WAIT_MS);
    return { cancelled: final?.status === 'CANCELLED', record: final };
  }

  /** Another replica asked to cancel `taskId`: stop it if it runs here. */
  #cancelRequested(taskId: string): void {
    const task = this.#inFlight.get(taskId);
    if (!task || task.finishing) return;
    this.#stop(task, new TaskCancelledError(taskId)).catch((err: unknown) => this.#logger.error('cancelling a task failed', { taskId, err }));
  }

  /**
   * Forgets an accepted task that will not run here: another replica took its id first (`final` is
   * that task's record), or its PENDING record could not be stored.
   */
  #untrack(task: InFlightTask, final: TaskRecord): void {
    this.#inFlight.delete(task.record.taskId);
    this.#pending--;
    this.#doneWaitingForDeps(task);
    task.finishing = true;
    task.settle(final);
  }

  /** The record a local waiter on `task` gets when its PENDING record could not be stored. */
  #unstored(task: InFlightTask, err: unknown): TaskRecord {
    const error = err instanceof TaskSchedulerError ? err : new StoreUnavailableError(describeThrown(err));
    return withState(task.record, 'FAILED', error.message, { code: error.code, message: error.message }, undefined, Date.now());
  }
}

/** How long CancelTask waits for another replica to end the task it asked to cancel. */
const REMOTE_CANCEL_WAIT_MS = 5_000;
