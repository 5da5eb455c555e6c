import {
  ShuttingDownError,
  TaskAlreadyExistsError,
  TaskCancelledError,
  clip,
} from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { throttledLogger } from '../logging/throttled-logger';
import type { ResultStore } from '../results/result-store';
import { isSharedResultStore } from '../results/shared-result-store';
import type { TaskPage, TaskQuery } from '../results/task-query';
import { isFinished, type TaskIdentity, type TaskRecord } from '../results/task-record';
import { DEFAULT_MAX_ATTEMPTS } from '../tasks/retry-policy';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { TaskDefinition, TaskRegistry } from '../tasks/task-registry';
import { Admission, taskCharge } from './admission';
import { combineObservers } from './combine-observers';
import { DEFAULT_MAX_WATCH_BUFFER, type TaskWatch } from './task-watch';
import { TaskWatches } from './task-watches';
import { BatchAcceptance, DEFAULT_MAX_BATCH_TASKS, type BatchRequest } from './batch-acceptance';
import { anyUnfinished, checkDependencies, type DependencyLookup } from './dependencies';
import { InFlightTask } from './in-flight-task';
import { RunQueue } from './queue/run-queue';
import { DEFAULT_MAX_SCHEDULE_AHEAD_MS } from './queue/start-time';
import { planRecovery } from './recovery';
import { RemoteTasks } from './remote-tasks';
import type { CancelOutcome, QueueStats, RecoverySummary, RunningTaskInfo, Scheduler, SchedulerDeps, SchedulerStats, SubmitRequest, TaskOutcome } from './scheduler-types';
import { MAX_WAIT_RESULT_MS } from './scheduler-types';
import { isInline } from './task-execution';
import { identityMismatch } from './task-identity';
import { acceptedRecord, prepareTask, resolveMethod, traceOfFirst, type AcceptanceSettings } from './task-acceptance';
import { startInSlices } from './start-in-slices';
import { TaskLifecycle } from './task-lifecycle';
import { outcomeOf } from './task-outcome';
import { TaskRunner } from './task-runner';
import { waitUntilGrace } from './wait-until';

export * from './scheduler-types';

/** Builds a {@link Scheduler}. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  return new TaskScheduler(deps);
}

/** Default of `--priority-aging-ms`: a task waiting this long counts as one priority level higher. */
export const DEFAULT_AGING_MS = 1_000;

/**
 * The task engine's front: accepting a submission (idempotency, dependencies, admission) and the
 * queries and commands on accepted tasks. It knows nothing of gRPC or protobuf (see {@link Scheduler}).
 * Each concern lives in a module of its own beside it: the transitions and the tasks in flight
 * (`task-lifecycle.ts`), running a task attempt after attempt (`task-runner.ts`), admission bounds
 * (`admission.ts`), dependency checks (`dependencies.ts`), recovery after a restart (`recovery.ts`),
 * tasks running on other replicas (`remote-tasks.ts`).
 */
class TaskScheduler implements Scheduler {
  readonly #registry: TaskRegistry;
  readonly #results: ResultStore;
  /** Bounds and defaults of every submission (SubmitTask and SubmitTasks alike). */
  readonly #acceptance: AcceptanceSettings;
  readonly #pool: TaskPool | undefined;
  readonly #queue: RunQueue;
  readonly #admission: Admission;
  readonly #lifecycle: TaskLifecycle;
  readonly #runner: TaskRunner;
  readonly #logger: Logger;
  /** Set when several replicas share the store: tasks may then be unfinished on another replica. */
  readonly #remote: RemoteTasks | undefined;
  readonly #lookup: DependencyLookup;
  readonly #traceTasks: boolean;
  readonly #batches: BatchAcceptance;
  readonly #watches: TaskWatches;
  #closing = false;

  constructor(deps: SchedulerDeps) {
    this.#registry = deps.registry;
    this.#results = deps.results;
    // Its warn/error lines come per task or per request (a failing store, a task's throwing listener): throttled.
    this.#logger = throttledLogger((deps.logger ?? silentLogger).child({ component: 'scheduler' }));
    this.#traceTasks = deps.traceTasks ?? false;
    this.#pool = deps.pool;
    const scheduling = deps.scheduling;
    this.#queue = new RunQueue({ ...scheduling, maxConcurrent: deps.maxConcurrentTasks ?? 0, agingMs: scheduling?.agingMs ?? DEFAULT_AGING_MS });
    this.#acceptance = Object.freeze({
      maxAttempts: deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      maxAheadMs: scheduling?.maxScheduleAheadMs ?? DEFAULT_MAX_SCHEDULE_AHEAD_MS,
      awaitUnknownDeps: deps.awaitUnknownDeps ?? false,
    });
    this.#admission = new Admission({
      maxQueuedTasks: deps.maxQueuedTasks ?? 0,
      maxDependentTasks: deps.maxDependentTasks ?? 0,
      maxUnfinishedBytes: deps.maxUnfinishedBytes ?? 0,
    });
    const globalLimits = scheduling?.globalLimits;
    const shared = isSharedResultStore(deps.results) ? deps.results : undefined;
    this.#remote = shared ? new RemoteTasks(shared) : undefined;
    const inFlight = new Map<string, InFlightTask>();
    this.#watches = new TaskWatches({
      inFlight,
      results: deps.results,
      remote: this.#remote,
      maxBuffer: deps.maxWatchBuffer ?? DEFAULT_MAX_WATCH_BUFFER,
      maxTasks: deps.maxBatchTasks ?? DEFAULT_MAX_BATCH_TASKS,
    });
    const observer = combineObservers([deps.observer, this.#watches]);
    this.#lifecycle = new TaskLifecycle({ results: deps.results, queue: this.#queue, globalLimits, admission: this.#admission, observer, logger: this.#logger, inFlight });
    this.#lookup = {
      inFlight: (taskId) => this.#lifecycle.inFlight.get(taskId),
      stored: (taskId) => this.#results.get(taskId),
      finishedElsewhere: (record, timeoutMs, signal) => this.#finishedElsewhere(record, timeoutMs, signal),
    };
    this.#runner = new TaskRunner({
      lifecycle: this.#lifecycle,
      queue: this.#queue,
      globalLimits,
      lookup: this.#lookup,
      pool: deps.pool,
      logger: this.#logger,
      dependencyTimeoutMs: deps.dependencyTimeoutMs ?? 30_000,
      executionTimeoutMs: deps.executionTimeoutMs ?? 0,
      closing: () => this.#closing,
      ...(deps.longInlineRuns ? { longInlineRuns: deps.longInlineRuns } : {}),
    });
    this.#batches = new BatchAcceptance({
      registry: this.#registry,
      results: this.#results,
      lifecycle: this.#lifecycle,
      runner: this.#runner,
      lookup: this.#lookup,
      admission: this.#admission,
      queue: this.#queue,
      acceptance: this.#acceptance,
      maxBatchTasks: deps.maxBatchTasks ?? DEFAULT_MAX_BATCH_TASKS,
      traceTasks: this.#traceTasks,
      closing: () => this.#closing,
    });
    shared?.onCancelRequest((taskId) => this.#cancelRequested(taskId));
    shared?.onTakeover((records, replica) => {
      this.recover(records, `replica '${clip(replica)}' was lost`).catch((err: unknown) => this.#logger.error('running tasks taken over from a lost replica failed', { replica, err }));
    });
  }

  stats(): SchedulerStats {
    return {
      inFlight: this.#lifecycle.inFlight.size,
      pending: this.#lifecycle.pending,
      running: this.#queue.running,
      waitingForDeps: this.#admission.dependents,
      waitingForSlot: this.#queue.waiting,
      unfinishedBytes: this.#admission.bytes,
    };
  }

  runningTasks(limit = Number.POSITIVE_INFINITY): RunningTaskInfo[] {
    const out: RunningTaskInfo[] = [];
    // Bounded: with 200k tasks in flight a full walk (and the line listing them all) stalled the loop
    // itself, which the watchdog then reported again.
    let visits = limit === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : 10_000;
    for (const { record } of this.#lifecycle.inFlight.values()) {
      if (out.length >= limit || visits-- <= 0) break;
      if (record.status === 'RUNNING') out.push({ taskId: record.taskId, method: record.method, startedAt: record.startedAt ?? 0 });
    }
    return out;
  }

  resolveMethod(method: string): TaskDefinition {
    return resolveMethod(this.#registry, method);
  }

  async submit(request: SubmitRequest): Promise<TaskOutcome> {
    if (this.#closing) throw new ShuttingDownError();
    const prepared = prepareTask(request, this.#registry, this.#acceptance);
    const { taskId, definition, identity, run, runAfter } = prepared;
    const deps = run.deps;
    const argsJson = run.argsJson;
    const detached = request.detached ?? false;
    const inFlight = this.#lifecycle.inFlight;

    if (request.taskId !== '') {
      const existing = inFlight.get(taskId)?.record ?? (await this.#results.get(taskId));
      if (existing) return this.#answerExisting(existing, identity, detached);
    }
    const dependencies = deps.length === 0 ? undefined : await checkDependencies(deps, this.#lookup, run.awaitUnknownDeps);
    // Another submission of this id may have been accepted while we awaited the store.
    const raced = inFlight.get(taskId);
    if (raced) return this.#answerExisting(raced.record, identity, detached);
    if (this.#closing) throw new ShuttingDownError();
    const waitsForDeps = dependencies !== undefined && anyUnfinished(dependencies);
    const charge = taskCharge(argsJson, deps, taskId.length);
    // A server-assigned id cannot be taken, so a task that runs to completion within this call needs
    // no PENDING record: its only store write is the final one. Any other task is recorded at once
    // (the atomic insert is what keeps client-chosen ids idempotent across a shared store).
    const completesNow = request.taskId === '' && !detached && dependencies === undefined && run.retry === undefined && runAfter === undefined && isInline(definition, this.#pool);
    // Counted at once (not when its run starts), so a burst of submissions cannot overshoot the bounds.
    // A task that runs to its end in this call, now, holds its bytes only while the call runs: the byte
    // bound does not refuse it, so long-running detached work cannot lock out a blocking `add`.
    this.#admission.check(charge, waitsForDeps, this.#queue.waiting, this.#queue.full, completesNow && this.#queue.waiting === 0 && !this.#queue.full);

    const trace = this.#traceTasks ? (request.fromCaller ? request.trace : (traceOfFirst(deps, dependencies) ?? request.trace)) : undefined;
    const record = acceptedRecord(prepared, Date.now(), this.#lifecycle.durable, trace);
    const task = this.#lifecycle.track(record, run, charge, waitsForDeps);
    task.dependencies = dependencies;
    if (completesNow) {
      task.stored = false;
    } else {
      let prior: TaskRecord | undefined;
      const inserting = this.#results.insert(record);
      // Until its record is stored, a second submission of this id is not told the task was accepted.
      if (this.#lifecycle.durable) {
        task.accepted = inserting.then((existing) => existing === undefined, (err: unknown) => {
          task.refused = err;
          return false;
        });
      }
      try {
        prior = await inserting;
      } catch (err) {
        this.#lifecycle.untrack(task, this.#lifecycle.unstored(task, err));
        throw err;
      }
      if (prior) {
        // Only a shared store can get here: another replica took the id first.
        this.#lifecycle.untrack(task, prior);
        return this.#answerExisting(prior, identity, detached);
      }
    }
    this.#lifecycle.accepted(task, argsJson);
    if (detached) {
      // Let the PENDING answer go out before a synchronous task takes the thread.
      setImmediate(() => void this.#runner.run(task));
      return { taskId, status: 'PENDING', result: '', attempts: 0 };
    }
    return answer(task, await this.#runner.run(task));
  }

  submitBatch(batch: BatchRequest): Promise<TaskOutcome[]> {
    return this.#batches.accept(batch);
  }

  watch(taskIds: readonly string[]): TaskWatch {
    return this.#watches.open(taskIds);
  }

  recordBytes(taskId: string): number | undefined {
    return this.#lifecycle.inFlight.has(taskId) ? undefined : this.#results.recordBytes?.(taskId);
  }

  async getResult(taskId: string): Promise<TaskRecord | undefined> {
    return this.#lifecycle.inFlight.get(taskId)?.record ?? this.#results.get(taskId);
  }

  async waitResult(taskId: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const task = this.#lifecycle.inFlight.get(taskId);
    const ms = timeoutMs <= 0 || timeoutMs > MAX_WAIT_RESULT_MS ? MAX_WAIT_RESULT_MS : timeoutMs;
    if (!task) return this.#remote ? this.#remote.wait(taskId, ms) : this.#results.get(taskId);
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

  async cancel(taskId: string, dependents = false): Promise<CancelOutcome> {
    if (dependents) await this.#cancelDependents(taskId);
    const task = this.#lifecycle.inFlight.get(taskId);
    if (!task && this.#remote) return this.#remote.cancel(taskId);
    if (!task || task.finishing) return { cancelled: false, record: task?.record ?? (await this.#results.get(taskId)) };
    await this.#lifecycle.stop(task, new TaskCancelledError(taskId));
    return { cancelled: true, record: task.record };
  }

  pauseMethod(method: string): readonly string[] {
    this.resolveMethod(method);
    this.#queue.pause(method);
    return this.#queue.paused.list();
  }

  resumeMethod(method: string): readonly string[] {
    this.resolveMethod(method);
    this.#queue.resume(method);
    return this.#queue.paused.list();
  }

  queueStats(): QueueStats {
    const running = new Map<string, number>();
    for (const { record } of this.#lifecycle.inFlight.values()) {
      if (record.status === 'RUNNING') running.set(record.method, (running.get(record.method) ?? 0) + 1);
    }
    return { ...this.#queue.stats(), runningByMethod: running };
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
      if (this.#lifecycle.inFlight.has(stored.taskId)) continue;
      const plan = planRecovery(stored, this.#registry, why, now);
      if (plan.kind === 'fail') {
        failed++;
        writes.push(this.#lifecycle.ended(plan.record));
        continue;
      }
      resumed++;
      if (plan.changed) {
        retried++;
        writes.push(this.#results.update(plan.record));
      }
      tasks.push(this.#lifecycle.track(plan.record, plan.run, taskCharge(plan.run.argsJson, plan.run.deps, stored.taskId.length), false));
    }
    await Promise.all(writes);
    // Tracked at once (lookups, cancels and dependents find them), started a slice per turn: 100,000
    // recovered tasks started in one turn would hold the first calls behind them.
    startInSlices(tasks, (task) => void this.#runner.resume(task));
    return { resumed, retried, failed };
  }

  async close(graceMs = 0): Promise<void> {
    this.#closing = true;
    const lifecycle = this.#lifecycle;
    // Nothing starts during the drain: tasks not yet running are cancelled now — or, with a durable
    // store, left PENDING there for the next start — and running ones get the grace.
    const unstarted = [...lifecycle.inFlight.values()].filter((task) => task.record.status === 'PENDING');
    await Promise.allSettled(unstarted.map((task) => lifecycle.leaveAtShutdown(task)));
    if (graceMs > 0 && lifecycle.inFlight.size > 0) await waitUntilGrace([...lifecycle.inFlight.values()].map((task) => task.done), graceMs);
    await Promise.allSettled([...lifecycle.inFlight.values()].map((task) => lifecycle.leaveAtShutdown(task)));
    this.#queue.close();
    await this.#pool?.close();
  }

  async #answerExisting(existing: TaskRecord, identity: TaskIdentity, detached: boolean): Promise<TaskOutcome> {
    const why = identityMismatch(existing, identity);
    if (why) throw new TaskAlreadyExistsError(existing.taskId, why);
    const task = this.#lifecycle.inFlight.get(existing.taskId);
    if (detached) {
      if (task?.accepted && !(await task.accepted)) {
        // Its record was not stored: this submission fails as the first did, or gets the task of the
        // replica that took the id first.
        if (task.refused !== undefined) throw task.refused;
        return this.#answerExisting(await task.done, identity, detached);
      }
      return { taskId: existing.taskId, status: existing.status, result: existing.result, attempts: existing.attempts };
    }
    if (isFinished(existing.status)) return outcomeOf(existing);
    if (!task) return outcomeOf(await this.#finishedElsewhere(existing, Infinity, undefined));
    return answer(task, await task.done);
  }

  /** The final record of a task unfinished in a shared store but not in flight here. */
  #finishedElsewhere(record: TaskRecord, timeoutMs: number, signal: AbortSignal | undefined): Promise<TaskRecord> {
    if (!this.#remote) throw new Error(`internal: task '${record.taskId}' is ${record.status} in the store but not in flight here`);
    return this.#remote.finished(record, timeoutMs, signal);
  }

  /**
   * Cancels the unfinished tasks in flight here that depend on `taskId`, directly or not, before the
   * task itself: they end CANCELLED rather than failing for their dependency. One walk over the tasks
   * in flight builds the dependents' index (cancelling is rare; no index is kept per task).
   */
  async #cancelDependents(taskId: string): Promise<void> {
    const dependentsOf = new Map<string, InFlightTask[]>();
    for (const task of this.#lifecycle.inFlight.values()) {
      for (const dep of task.run.deps) {
        const list = dependentsOf.get(dep);
        if (list) list.push(task);
        else dependentsOf.set(dep, [task]);
      }
    }
    const seen = new Set<string>([taskId]);
    const queue = [taskId];
    const found: InFlightTask[] = [];
    while (queue.length > 0) {
      for (const task of dependentsOf.get(queue.pop()!) ?? []) {
        if (seen.has(task.record.taskId)) continue;
        seen.add(task.record.taskId);
        found.push(task);
        queue.push(task.record.taskId);
      }
    }
    await Promise.all(found.filter((task) => !task.finishing).map((task) => this.#lifecycle.stop(task, new TaskCancelledError(task.record.taskId))));
  }

  /** Another replica asked to cancel `taskId`: stop it if it runs here. */
  #cancelRequested(taskId: string): void {
    const task = this.#lifecycle.inFlight.get(taskId);
    if (!task || task.finishing) return;
    this.#lifecycle.stop(task, new TaskCancelledError(taskId)).catch((err: unknown) => this.#logger.error('cancelling a task failed', { taskId, err }));
  }
}

/** A blocking caller's answer: the outcome of the final record, or why the task was let go unfinished. */
function answer(task: InFlightTask, record: TaskRecord): TaskOutcome {
  if (task.released) throw task.released;
  return outcomeOf(record);
}
