import type { ArgValue } from '../args/arg-value';
import { canonicalJson } from '../args/canonical-json';
import {
  InvalidArgumentsError,
  MethodNotFoundError,
  ShuttingDownError,
  StoreUnavailableError,
  TaskAlreadyExistsError,
  TaskCancelledError,
  TaskSchedulerError,
  clip,
  describeThrown,
} from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { ResultStore } from '../results/result-store';
import type { TaskPage, TaskQuery } from '../results/task-query';
import { isSharedResultStore, type SharedResultStore } from '../results/shared-result-store';
import { isFinished, newRecord, startedAttempt, withAttemptError, withState, type TaskIdentity, type TaskRecord, type TaskSpec } from '../results/task-record';
import { DEFAULT_MAX_ATTEMPTS, normalizeRetryPolicy, retryDelayMs, retryKeyOf, type RetryPolicy } from '../tasks/retry-policy';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { TaskDefinition, TaskRegistry } from '../tasks/task-registry';
import { Admission, taskCharge } from './admission';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { anyUnfinished, awaitDependencies, checkDependencies, type DependencyLookup } from './dependencies';
import { InFlightTask, type TaskRun } from './in-flight-task';
import { planRecovery } from './recovery';
import type { CancelOutcome, RecoverySummary, RunningTaskInfo, Scheduler, SchedulerDeps, SchedulerObserver, SchedulerStats, SubmitRequest, TaskOutcome } from './scheduler-types';
import { MAX_WAIT_RESULT_MS } from './scheduler-types';
import { TaskAbort } from './task-abort';
import { executeAttempt, isInline } from './task-execution';
import { digestOfCanonicalJson, identityMismatch } from './task-identity';
import { newTaskId } from './task-id';
import { failedWith, isRetryable, outcomeOf, terminalOf, type Terminal } from './task-outcome';
import { waitUntilGrace } from './wait-until';

export * from './scheduler-types';

/** Builds a {@link Scheduler}. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  return new TaskScheduler(deps);
}

const NO_DEPENDENCY_RESULTS: ReadonlyMap<string, string> = new Map();
/** Shared by every record without dependencies (most of them): one array, not one per task. */
const NO_DEPS: readonly string[] = Object.freeze([]);

/**
 * The task engine's request path: accept (idempotency, dependencies, admission), wait (dependencies, a
 * slot, a retry's backoff), run attempts, finish. It knows nothing of gRPC or protobuf (see
 * {@link Scheduler}). Duties of their own live beside it: admission bounds (`admission.ts`),
 * dependency checks (`dependencies.ts`), running one attempt (`task-execution.ts`), the retry rules
 * (`task-outcome.ts`, `tasks/retry-policy.ts`) and recovery after a restart (`recovery.ts`).
 */
class TaskScheduler implements Scheduler {
  readonly #registry: TaskRegistry;
  readonly #results: ResultStore;
  /** Records outlive the process: RUNNING is stored before an attempt runs, specs are kept, shutdown leaves PENDING tasks. */
  readonly #durable: boolean;
  readonly #logger: Logger;
  readonly #debug: boolean;
  readonly #dependencyTimeoutMs: number;
  readonly #executionTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #pool: TaskPool | undefined;
  readonly #limiter: ConcurrencyLimiter<InFlightTask>;
  readonly #admission: Admission;
  readonly #observer: SchedulerObserver | undefined;
  readonly #inFlight = new Map<string, InFlightTask>();
  /** Set when several replicas share the store: tasks may then be unfinished on another replica. */
  readonly #shared: SharedResultStore | undefined;
  readonly #lookup: DependencyLookup;
  /** Accepted and not running (waiting for dependencies, a slot or a backoff). */
  #pending = 0;
  #closing = false;

  constructor(deps: SchedulerDeps) {
    this.#registry = deps.registry;
    this.#results = deps.results;
    this.#durable = deps.results.durable;
    this.#logger = (deps.logger ?? silentLogger).child({ component: 'scheduler' });
    this.#debug = this.#logger.isDebugEnabled();
    this.#dependencyTimeoutMs = deps.dependencyTimeoutMs ?? 30_000;
    this.#executionTimeoutMs = deps.executionTimeoutMs ?? 0;
    this.#maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.#pool = deps.pool;
    this.#limiter = new ConcurrencyLimiter(deps.maxConcurrentTasks ?? 0);
    this.#admission = new Admission({
      maxQueuedTasks: deps.maxQueuedTasks ?? 0,
      maxDependentTasks: deps.maxDependentTasks ?? 0,
      maxUnfinishedBytes: deps.maxUnfinishedBytes ?? 0,
    });
    this.#observer = deps.observer;
    this.#shared = isSharedResultStore(deps.results) ? deps.results : undefined;
    this.#shared?.onCancelRequest((taskId) => this.#cancelRequested(taskId));
    this.#shared?.onTakeover((records, replica) => {
      this.recover(records, `replica '${clip(replica)}' was lost`).catch((err: unknown) => this.#logger.error('running tasks taken over from a lost replica failed', { replica, err }));
    });
    this.#lookup = {
      inFlight: (taskId) => this.#inFlight.get(taskId),
      stored: (taskId) => this.#results.get(taskId),
      finishedElsewhere: (record, timeoutMs, signal) => this.#finishedElsewhere(record, timeoutMs, signal),
    };
  }

  stats(): SchedulerStats {
    return {
      inFlight: this.#inFlight.size,
      pending: this.#pending,
      running: this.#limiter.running,
      waitingForDeps: this.#admission.dependents,
      waitingForSlot: this.#limiter.waiting,
      unfinishedBytes: this.#admission.bytes,
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
    const requested = request.retryPolicy ? normalizeRetryPolicy(request.retryPolicy, this.#maxAttempts) : undefined;
    const taskId = request.taskId === '' ? newTaskId() : request.taskId;
    if (request.deps.includes(taskId)) {
      throw new InvalidArgumentsError(`task '${clip(taskId)}' lists itself in deps`);
    }
    // Built once per request: the digest is made from it, and the task may use it (TaskContext.argsJson).
    const argsJson = canonicalJson(request.args);
    const deps = request.deps.length === 0 ? NO_DEPS : request.deps;
    const identity: TaskIdentity = {
      method: definition.name, // the registry's string, shared by every record of this method
      deps,
      argsDigest: digestOfCanonicalJson(argsJson),
      injectDependencyResults: request.injectDependencyResults ?? false,
      retryKey: retryKeyOf(requested),
    };
    const detached = request.detached ?? false;

    if (request.taskId !== '') {
      const existing = this.#inFlight.get(taskId)?.record ?? (await this.#results.get(taskId));
      if (existing) return this.#answerExisting(existing, identity, detached);
    }
    const dependencies = deps.length === 0 ? undefined : await checkDependencies(deps, this.#lookup);
    // Another submission of this id may have been accepted while we awaited the store.
    const raced = this.#inFlight.get(taskId);
    if (raced) return this.#answerExisting(raced.record, identity, detached);
    if (this.#closing) throw new ShuttingDownError();
    const waitsForDeps = dependencies !== undefined && anyUnfinished(dependencies);
    const charge = taskCharge(argsJson, deps, taskId.length);
    // Counted at once (not when its run starts), so a burst of submissions cannot overshoot the bounds.
    this.#admission.check(charge, waitsForDeps, this.#limiter.waiting, this.#limiter.full);

    const run: TaskRun = {
      definition,
      args: request.args,
      argsJson,
      deps,
      dependencyTimeoutMs: request.dependencyTimeoutMs ?? 0,
      executionTimeoutMs: request.executionTimeoutMs ?? 0,
      injectDependencyResults: identity.injectDependencyResults,
      retry: requested ?? definition.retry,
    };
    const record = newRecord(taskId, identity, Date.now(), this.#durable ? specOf(run) : undefined);
    const task = this.#track(record, run, charge, waitsForDeps);
    task.dependencies = dependencies;
    // A server-assigned id cannot be taken, so a task that runs to completion within this call needs
    // no PENDING record: its only store write is the final one. Any other task is recorded at once
    // (the atomic insert is what keeps client-chosen ids idempotent across a shared store).
    const completesNow = request.taskId === '' && !detached && dependencies === undefined && run.retry === undefined && isInline(definition, this.#pool);
    if (completesNow) {
      task.stored = false;
    } else {
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
    if (this.#observer?.taskAccepted) this.#observe(record, () => this.#observer!.taskAccepted!(record, argsJson));
    if (detached) {
      // Let the PENDING answer go out before a synchronous task takes the thread.
      setImmediate(() => void this.#run(task));
      return { taskId, status: 'PENDING', result: '', attempts: 0 };
    }
    return this.#answer(task, await this.#run(task));
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

  listSubmitted(query: TaskQuery): Promise<TaskPage> {
    return this.#results.list(query);
  }

  async recover(records: readonly TaskRecord[], why: string): Promise<RecoverySummary> {
    const now = Date.now();
    let resumed = 0;
    let retried = 0;
    let failed = 0;
    const writes: Promise<void>[] = [];
    const tasks: InFlightTask[] = [];
    // Every resumed task is tracked before any starts, so dependencies among them are found in flight.
    for (const stored of records) {
      if (this.#inFlight.has(stored.taskId)) continue;
      const plan = planRecovery(stored, this.#registry, why, now);
      if (plan.kind === 'fail') {
        failed++;
        writes.push(this.#results.update(plan.record));
        if (this.#observer) this.#observe(plan.record, () => this.#observer!.taskFinished(plan.record, undefined));
        continue;
      }
      resumed++;
      if (plan.changed) {
        retried++;
        writes.push(this.#results.update(plan.record));
      }
      tasks.push(this.#track(plan.record, plan.run, taskCharge(plan.run.argsJson, plan.run.deps, stored.taskId.length), false));
    }
    await Promise.all(writes);
    for (const task of tasks) void this.#resume(task);
    return { resumed, retried, failed };
  }

  async close(graceMs = 0): Promise<void> {
    this.#closing = true;
    // Nothing starts during the drain: tasks not yet running are cancelled now — or, with a durable
    // store, left PENDING there for the next start — and running ones get the grace.
    const unstarted = [...this.#inFlight.values()].filter((task) => task.record.status === 'PENDING');
    await Promise.allSettled(unstarted.map((task) => this.#leaveAtShutdown(task)));
    if (graceMs > 0 && this.#inFlight.size > 0) await waitUntilGrace([...this.#inFlight.values()].map((task) => task.done), graceMs);
    await Promise.allSettled([...this.#inFlight.values()].map((task) => this.#leaveAtShutdown(task)));
    await this.#pool?.close();
  }

  /** At shutdown: a durable store keeps a task that has not started for the next start; any other is cancelled. */
  #leaveAtShutdown(task: InFlightTask): Promise<void> {
    const id = clip(task.record.taskId);
    if (this.#durable && task.record.status === 'PENDING') {
      this.#release(task, new ShuttingDownError(`: task '${id}' stays PENDING and resumes when the server restarts`));
      return Promise.resolve();
    }
    return this.#stop(task, new ShuttingDownError(`: task '${id}' was cancelled before it finished`));
  }

  /** Ends an unfinished task from outside (cancel, shutdown): aborts its work and records it CANCELLED. */
  async #stop(task: InFlightTask, reason: TaskSchedulerError): Promise<void> {
    this.#limiter.withdraw(task);
    this.#abort(task, reason);
    await this.#finish(task, failedWith(reason, 'CANCELLED'));
  }

  /**
   * Lets an unfinished task go without a terminal record (shutdown with a durable store): its record
   * stays as stored, its local waiters get it as it is, its blocking callers get `reason`.
   */
  #release(task: InFlightTask, reason: TaskSchedulerError): void {
    if (task.finishing) return;
    task.released = reason;
    this.#limiter.withdraw(task);
    this.#abort(task, reason);
    this.#untrack(task, task.record);
  }

  /** Aborts a task's current attempt or wait; a listener that throws is logged, not fatal. */
  #abort(task: InFlightTask, reason: TaskSchedulerError): void {
    for (const err of task.abortCurrent(reason)) this.#logAbortError(task.record.taskId, err);
  }

  #logAbortError(taskId: string, err: unknown): void {
    this.#logger.error('task abort listener threw', { taskId, err });
  }

  #track(record: TaskRecord, run: TaskRun, charge: number, waitsForDeps: boolean): InFlightTask {
    const task = new InFlightTask(record, run);
    task.charge = charge;
    this.#admission.add(charge);
    if (waitsForDeps) this.#waitForDeps(task);
    this.#inFlight.set(record.taskId, task);
    this.#pending++;
    return task;
  }

  /** A blocking caller's answer: the outcome of the final record, or why the task was let go unfinished. */
  #answer(task: InFlightTask, record: TaskRecord): TaskOutcome {
    if (task.released) throw task.released;
    return outcomeOf(record);
  }

  async #answerExisting(existing: TaskRecord, identity: TaskIdentity, detached: boolean): Promise<TaskOutcome> {
    const why = identityMismatch(existing, identity);
    if (why) throw new TaskAlreadyExistsError(existing.taskId, why);
    if (detached) return { taskId: existing.taskId, status: existing.status, result: existing.result, attempts: existing.attempts };
    if (isFinished(existing.status)) return outcomeOf(existing);
    const task = this.#inFlight.get(existing.taskId);
    if (!task) return outcomeOf(await this.#finishedElsewhere(existing, Infinity, undefined));
    return this.#answer(task, await task.done);
  }

  /** A recovered task: its dependencies are checked again (they may have ended meanwhile), then it runs. */
  async #resume(task: InFlightTask): Promise<TaskRecord> {
    if (task.run.deps.length > 0) {
      try {
        const dependencies = await checkDependencies(task.run.deps, this.#lookup);
        task.dependencies = dependencies;
        if (anyUnfinished(dependencies) && !task.finishing) this.#waitForDeps(task);
      } catch (err) {
        return this.#finish(task, terminalOf(err));
      }
    }
    return this.#run(task);
  }

  /** Runs an accepted task to its end, attempt after attempt; resolves with its final record (never rejects). */
  async #run(task: InFlightTask): Promise<TaskRecord> {
    const { run } = task;
    try {
      const dependencyResults = task.dependencies
        ? await awaitDependencies(task, task.dependencies, run.dependencyTimeoutMs || this.#dependencyTimeoutMs, this.#lookup)
        : NO_DEPENDENCY_RESULTS;
      task.dependencies = undefined;
      this.#doneWaitingForDeps(task);
      const args: readonly ArgValue[] = run.injectDependencyResults && run.deps.length > 0
        ? [...run.deps.map((dep): ArgValue => ({ kind: 'string', value: dependencyResults.get(dep)! })), ...run.args]
        : run.args;
      for (;;) {
        if (task.finishing) return task.done;
        if (task.record.runAfter !== undefined && !(await this.#backoff(task))) return task.done;
        if (this.#closing) {
          await this.#leaveAtShutdown(task);
          return task.done;
        }
        if (!this.#limiter.tryAcquire() && !(await this.#limiter.wait(task))) return task.done; // withdrawn: cancelled
        task.holdsSlot = true;
        if (task.finishing) {
          this.#releaseSlot(task);
          return task.done;
        }
        try {
          const pending = this.#attempt(task, args, dependencyResults);
          const result = typeof pending === 'string' ? pending : await pending;
          return await this.#finish(task, { status: 'SUCCESS', result });
        } catch (err) {
          // An aborted attempt failed because of why it was aborted, whatever it threw on the way out.
          const cause = task.current.aborted ? task.current.reason : err;
          if (!this.#mayRetry(task, cause)) throw cause;
          await this.#awaitRetry(task, cause);
        }
      }
    } catch (err) {
      if (this.#debug && !(err instanceof TaskSchedulerError)) this.#logger.debug('task threw', { taskId: task.record.taskId, err });
      return this.#finish(task, terminalOf(err));
    }
  }

  /**
   * Starts an attempt: RUNNING (stored first with a durable store, so that a crash can never make a
   * task without attempts left run twice), then the task. A string at once for an inline task on a
   * store that need not be waited for (the hot path), else a promise.
   */
  #attempt(task: InFlightTask, args: readonly ArgValue[], dependencyResults: ReadonlyMap<string, string>): string | Promise<string> {
    const running = startedAttempt(task.record, Date.now());
    task.startedHr = performance.now();
    task.record = running;
    this.#pending--;
    if (this.#observer?.taskStarted) this.#observe(running, () => this.#observer!.taskStarted!(running));
    const timeoutMs = task.run.executionTimeoutMs || this.#executionTimeoutMs;
    const execute = () => executeAttempt(task, args, dependencyResults, this.#pool, timeoutMs, (err) => this.#logAbortError(running.taskId, err));
    if (this.#durable && task.stored) {
      return this.#results.update(running).then(() => {
        if (task.current.aborted) throw task.current.reason;
        return execute();
      }, (err: unknown) => {
        throw err instanceof TaskSchedulerError ? err : new StoreUnavailableError(`could not record the start of task '${clip(running.taskId)}': ${describeThrown(err)}`);
      });
    }
    // An inline sync task finishes before anything else can look, so RUNNING is not stored for it.
    // Otherwise not awaited: the transition is visible locally at once; the store catches up in order.
    if (!isInline(task.run.definition, this.#pool)) {
      this.#results.update(running).catch((err: unknown) => this.#logger.error('storing RUNNING failed', { taskId: running.taskId, err }));
    }
    return execute();
  }

  #mayRetry(task: InFlightTask, cause: unknown): boolean {
    const policy = task.run.retry;
    return policy !== undefined && !task.finishing && !this.#closing && task.record.attempts < policy.maxAttempts && isRetryable(cause);
  }

  /** After a failed attempt that may be retried: PENDING until the backoff passes, holding no slot. */
  async #awaitRetry(task: InFlightTask, cause: unknown): Promise<void> {
    const policy = task.run.retry as RetryPolicy;
    const at = Date.now();
    const record = task.record;
    const errors = withAttemptError(record, terminalOf(cause).result, at);
    const waiting = withState(record, 'PENDING', '', undefined, record.startedAt, undefined, record.attempts, errors, at + retryDelayMs(policy, record.attempts));
    task.record = waiting;
    task.current = new TaskAbort();
    this.#releaseSlot(task);
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

  /** Waits for the record's `runAfter`; false when the task was stopped meanwhile. */
  #backoff(task: InFlightTask): Promise<boolean> {
    const wait = task.record.runAfter! - Date.now();
    if (wait <= 0) return Promise.resolve(!task.current.aborted);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(true);
      }, wait);
      const unsubscribe = task.current.onAbort(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** The first terminal transition wins; resolves with the final record either way. */
  async #finish(task: InFlightTask, terminal: Terminal): Promise<TaskRecord> {
    if (task.finishing) return task.done;
    task.finishing = true;
    if (task.record.status === 'PENDING') this.#pending--;
    this.#doneWaitingForDeps(task);
    this.#releaseSlot(task);
    this.#admission.remove(task.charge);
    const now = Date.now();
    const before = task.record;
    // After retries, the last attempt's error joins the others (the dashboard lists them all).
    const errors = before.attemptErrors && terminal.status === 'FAILED' && before.status === 'RUNNING' ? withAttemptError(before, terminal.result, now) : before.attemptErrors;
    const record = withState(before, terminal.status, terminal.result, terminal.failure, before.startedAt, now, before.attempts, errors);
    task.record = record;
    try {
      await this.#results.update(record);
    } catch (err) {
      this.#logger.error('storing a task result failed', { taskId: record.taskId, err });
    }
    this.#inFlight.delete(record.taskId);
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

  /** Calls an observer; a throw must not fail the task. */
  #observe(record: TaskRecord, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#logger.error('task observer threw', { taskId: record.taskId, err });
    }
  }

  #waitForDeps(task: InFlightTask): void {
    task.waitsForDeps = true;
    this.#admission.waitingForDeps(task.charge);
  }

  #doneWaitingForDeps(task: InFlightTask): void {
    if (!task.waitsForDeps) return;
    task.waitsForDeps = false;
    this.#admission.dependenciesDone(task.charge);
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
   * Forgets an unfinished task that will not run (further) here: another replica took its id first
   * (`final` is that task's record), its PENDING record could not be stored, or it was released at
   * shutdown (`final` is its record as stored).
   */
  #untrack(task: InFlightTask, final: TaskRecord): void {
    this.#inFlight.delete(task.record.taskId);
    if (task.record.status === 'PENDING') this.#pending--;
    this.#doneWaitingForDeps(task);
    this.#releaseSlot(task);
    this.#admission.remove(task.charge);
    task.finishing = true;
    task.settle(final);
  }

  /** The record a local waiter on `task` gets when its PENDING record could not be stored. */
  #unstored(task: InFlightTask, err: unknown): TaskRecord {
    const error = err instanceof TaskSchedulerError ? err : new StoreUnavailableError(describeThrown(err));
    return withState(task.record, 'FAILED', error.message, { code: error.code, message: error.message }, undefined, Date.now());
  }
}

/** What a durable store keeps to run the task again in another process. */
function specOf(run: TaskRun): TaskSpec {
  return { argsJson: run.argsJson, dependencyTimeoutMs: run.dependencyTimeoutMs, executionTimeoutMs: run.executionTimeoutMs, retry: run.retry };
}

/** How long CancelTask waits for another replica to end the task it asked to cancel. */
const REMOTE_CANCEL_WAIT_MS = 5_000;
