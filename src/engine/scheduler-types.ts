import type { ArgValue } from '../args/arg-value';
import type { BatchRequest } from './batch-acceptance';
import type { TaskWatch } from './task-watch';
import type { Logger } from '../logging/logger';
import type { ResultStore } from '../results/result-store';
import type { TaskPage, TaskQuery } from '../results/task-query';
import type { TaskRecord, TaskStatus } from '../results/task-record';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { RetryPolicyInput } from '../tasks/retry-policy';
import type { TaskDefinition, TaskRegistry } from '../tasks/task-registry';
import type { RunQueueStats } from './queue/run-queue';
import type { RateLimit } from './queue/rate-limit';
import type { GlobalLimits } from './queue/global-limits';
import type { LongInlineRuns } from './long-inline-runs';

/** What the scheduler needs, built once by `main` (or a test) and passed in. */
export interface SchedulerDeps {
  readonly registry: TaskRegistry;
  readonly results: ResultStore;
  readonly logger?: Logger;
  /** Default max wait for unfinished dependencies (SPEC default 30 000 ms). */
  readonly dependencyTimeoutMs?: number;
  /** Default max run time of a task; 0 = none. */
  readonly executionTimeoutMs?: number;
  /** Worker threads for sync tasks registered with `worker: true`; without it they run inline. */
  readonly pool?: TaskPool;
  /** Most tasks running at once; 0 = unlimited. Tasks waiting for dependencies hold no slot. */
  readonly maxConcurrentTasks?: number;
  /** Most tasks waiting for a slot; beyond: RESOURCE_EXHAUSTED. 0 = unlimited. */
  readonly maxQueuedTasks?: number;
  /** Most tasks waiting for unfinished dependencies; beyond: RESOURCE_EXHAUSTED. 0 = unlimited. */
  readonly maxDependentTasks?: number;
  /** Most bytes held by accepted unfinished tasks (see `taskCharge`); dependents at most half. 0 = unlimited. */
  readonly maxUnfinishedBytes?: number;
  /** Largest `maxAttempts` a request's retry policy may ask for (default 100). */
  readonly maxAttempts?: number;
  /** Told about task lifecycle events (metrics, dashboard, tracing). Must be quick and must not throw. */
  readonly observer?: SchedulerObserver;
  /** Most tasks in one `submitBatch` (`--max-batch-tasks`, default 10 000). */
  readonly maxBatchTasks?: number;
  /** Most events a watch holds for a slow reader (`--max-watch-buffer`, default 100 000). */
  readonly maxWatchBuffer?: number;
  /** Default of a submission's `awaitUnknownDeps` (`--await-unknown-deps`, default off). */
  readonly awaitUnknownDeps?: boolean;
  /**
   * Keep trace contexts on records (tracing is on): a submission's own, else its first dependency's,
   * so a workflow's tasks join one trace. Off: records carry none.
   */
  readonly traceTasks?: boolean;
  /** Where inline sync runs that blocked the loop are noted for the stall watchdog (absent: no watchdog). */
  readonly longInlineRuns?: LongInlineRuns;
  /** Priorities, limits and start times (README "Scheduling"); absent: none beyond `maxConcurrentTasks`. */
  readonly scheduling?: SchedulingOptions;
}

/** The run queue's flags (`--priority-aging-ms`, `--method-concurrency`, …). */
export interface SchedulingOptions {
  /** Waiting this long counts as one priority level (default 1000). */
  readonly agingMs?: number;
  readonly methodConcurrency?: ReadonlyMap<string, number>;
  /** Most running tasks per concurrency key on this replica; 0 = unlimited. */
  readonly keyConcurrency?: number;
  readonly methodRateLimits?: ReadonlyMap<string, RateLimit>;
  readonly keyRateLimit?: RateLimit | undefined;
  /** With a shared store: the global counts that make the method and key limits hold across replicas. */
  readonly globalLimits?: GlobalLimits | undefined;
  /** Furthest start time a request may ask for, ms ahead (default a year). */
  readonly maxScheduleAheadMs?: number;
}

/** Queue depth and running counts, per method and per concurrency key. */
export interface QueueStats extends RunQueueStats {
  readonly runningByMethod: ReadonlyMap<string, number>;
}

/**
 * Receives lifecycle events; called synchronously on the hot path, so implementations must be cheap
 * and must not throw (a throw is logged and ignored). The accepted/started events are optional: an
 * observer without them (metrics) costs nothing extra per task.
 */
export interface SchedulerObserver {
  /**
   * A task was accepted (its PENDING record; not called for rejected submissions). `argsJson` is the
   * canonical JSON of its decoded arguments, which the engine builds once per submission anyway.
   */
  taskAccepted?(record: TaskRecord, argsJson: string): void;
  /**
   * A task must wait before it can run: for unfinished dependencies (`ids`: which ones) — told at
   * acceptance — or for a concurrency slot.
   */
  taskWaiting?(record: TaskRecord, on: 'dependencies' | 'slot', ids?: readonly string[]): void;
  /** A running task reported progress (its RUNNING record with `progress`; throttled per task). */
  taskProgress?(record: TaskRecord): void;
  /** A batch was accepted (after each new task's taskAccepted): the ids of all its tasks, in request order; once per batch. */
  batchAccepted?(taskIds: readonly string[]): void;
  /** A task took its slot and starts running (its RUNNING record). */
  taskStarted?(record: TaskRecord): void;
  /**
   * An attempt failed and the task will run again after a backoff (its PENDING record, with
   * `runAfter` and the attempt's error in `attemptErrors`).
   */
  taskRetrying?(record: TaskRecord): void;
  /**
   * A task reached SUCCESS, FAILED or CANCELLED (its final record); `runMs` is how long its last
   * attempt ran (high resolution), undefined when no attempt was running at the end: it never
   * started, or it was cancelled while it waited for a retry.
   */
  taskFinished(record: TaskRecord, runMs: number | undefined): void;
}

/** A task running now, as the event-loop watchdog reports it. */
export interface RunningTaskInfo {
  readonly taskId: string;
  readonly method: string;
  /** `Date.now()` when it started. */
  readonly startedAt: number;
}

/** Counts for metrics and dashboards. */
export interface SchedulerStats {
  /** Accepted and not finished. */
  readonly inFlight: number;
  /** Accepted, not yet running (waiting for dependencies or a slot). */
  readonly pending: number;
  /** Holding a slot. */
  readonly running: number;
  /** Waiting for unfinished dependencies. */
  readonly waitingForDeps: number;
  /** Waiting for a slot. */
  readonly waitingForSlot: number;
  /** Bytes held by unfinished tasks, as admission counts them (`--max-unfinished-bytes`). */
  readonly unfinishedBytes: number;
}

/** What {@link Scheduler.recover} did. */
export interface RecoverySummary {
  /** Tasks that carry on (waiting, or running again after an interrupted attempt). */
  readonly resumed: number;
  /** Of those, tasks whose interrupted attempt will be retried. */
  readonly retried: number;
  /** Tasks ended FAILED (interrupted without attempts left, unknown method, unreadable record). */
  readonly failed: number;
}

/** A decoded submission (the domain form of `TaskRequest`). */
export interface SubmitRequest {
  /** Empty: the scheduler assigns a UUID. */
  readonly taskId: string;
  readonly method: string;
  readonly args: readonly ArgValue[];
  readonly deps: readonly string[];
  /** Answer PENDING at once and run in the background. */
  readonly detached?: boolean;
  /** 0 or absent: the scheduler's default. */
  readonly dependencyTimeoutMs?: number;
  /** 0 or absent: the scheduler's default. */
  readonly executionTimeoutMs?: number;
  /** Prepend the dependencies' results as string args, in deps order. */
  readonly injectDependencyResults?: boolean;
  /**
   * Wait for a dependency the server does not know yet (within the dependency timeout) instead of
   * refusing it; absent: the scheduler's `awaitUnknownDeps`.
   */
  readonly awaitUnknownDeps?: boolean | undefined;
  /** Overrides the method's registered retry policy; checked against `maxAttempts`. */
  readonly retryPolicy?: RetryPolicyInput | undefined;
  /** The W3C trace context of the submission (`traceparent`, `\n`, `tracestate`); kept when tracing is on. */
  readonly trace?: string | undefined;
  /**
   * Whether `trace` is the caller's own. When it is not (the call's own new trace), a task with
   * dependencies joins the trace of the first of them that has one: its workflow's.
   */
  readonly fromCaller?: boolean;
  /** Start no earlier than this epoch ms; 0 or absent: at once. */
  readonly startAtMs?: number;
  /** Start no earlier than this many ms after acceptance; negative is refused. */
  readonly delayMs?: number;
  /** -1000..1000; default 0. */
  readonly priority?: number;
  /** '' or absent: none. */
  readonly concurrencyKey?: string;
}

/** The answer to a submission that did not fail. */
export interface TaskOutcome {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly result: string;
  /** Attempts started so far (0 before the first). */
  readonly attempts: number;
}

/** The answer to a cancellation. */
export interface CancelOutcome {
  readonly cancelled: boolean;
  /** The task's record after the call; undefined when the id is unknown. */
  readonly record: TaskRecord | undefined;
}

/** Longest `waitResult` (SPEC §1: 0 or > 30 000 → 30 000). */
export const MAX_WAIT_RESULT_MS = 30_000;

/**
 * The task engine: idempotency, dependencies, in-flight tasks, timeouts and cancellation. It knows
 * nothing of gRPC or protobuf — it takes decoded requests and answers with outcomes, or throws
 * {@link TaskSchedulerError}s that carry their status codes.
 */
export interface Scheduler {
  /** The task registered as `method`; throws INVALID_ARGUMENT for an empty name, NOT_FOUND if unknown. */
  resolveMethod(method: string): TaskDefinition;
  /** Runs a task (blocking) or accepts it (detached). Failures throw, as SPEC §4 lists. */
  submit(request: SubmitRequest): Promise<TaskOutcome>;
  /**
   * Accepts tasks together, all or nothing, each detached (see BatchAcceptance); answers one outcome
   * per task in request order.
   */
  submitBatch(batch: BatchRequest): Promise<TaskOutcome[]>;
  /** The current record of a task; undefined when unknown or evicted. */
  getResult(taskId: string): Promise<TaskRecord | undefined>;
  /** About the bytes of a finished task's stored record, when the store tells at once (see `ResultStore.recordBytes`). */
  recordBytes(taskId: string): number | undefined;
  /** The record as soon as the task has finished, or its current record after `timeoutMs`. */
  waitResult(taskId: string, timeoutMs: number): Promise<TaskRecord | undefined>;
  /** Cancels an unfinished task; with `dependents`, first its unfinished dependents in flight here (transitively). */
  cancel(taskId: string, dependents?: boolean): Promise<CancelOutcome>;
  /** Opens a watch on tasks: their current state, then their transitions (see TaskWatches.open). */
  watch(taskIds: readonly string[]): TaskWatch;
  /** One page of the submitted tasks the store holds, newest first (see {@link TaskQuery}). */
  listSubmitted(query: TaskQuery): Promise<TaskPage>;
  /** Current counts. */
  stats(): SchedulerStats;
  /** Pauses a registered method on this replica (its tasks are accepted, none starts); returns the paused methods. */
  pauseMethod(method: string): readonly string[];
  resumeMethod(method: string): readonly string[];
  /** Queue depth and running counts per method and key (walks the tasks in flight: for rare callers). */
  queueStats(): QueueStats;
  /**
   * Up to `limit` tasks in state RUNNING now, oldest submissions first (default: all). Walks the
   * in-flight tasks — at most `limit` found or 10 000 visited — so for rare callers (the stall
   * watchdog), not per task; `stats().running` says how many run in all.
   */
  runningTasks(limit?: number): RunningTaskInfo[];
  /**
   * Carries on unfinished tasks of a durable store after a restart (or taken over from a lost replica;
   * `why` names what stopped them, e.g. `the server stopped`): PENDING ones continue; RUNNING ones run
   * again if their retry policy has attempts left, else end FAILED `Interrupted: …` (see
   * `planRecovery`). Not bounded by the admission limits: these tasks were accepted already.
   */
  recover(records: readonly TaskRecord[], why: string): Promise<RecoverySummary>;
  /**
   * Graceful stop: rejects new submissions (UNAVAILABLE); tasks that have not started are cancelled —
   * or, with a durable store, left PENDING there for the next start — running tasks may finish for up to
   * `graceMs`, then the rest are cancelled (their callers get UNAVAILABLE `Shutting down…`); then the
   * worker pool stops. The result store stays open (its owner closes it), so
   * results can still be read while the server winds down.
   */
  close(graceMs?: number): Promise<void>;
}
