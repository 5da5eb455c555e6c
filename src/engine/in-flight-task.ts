import type { ArgValue } from '../args/arg-value';
import type { TaskSchedulerError } from '../errors';
import type { TaskProgress, TaskRecord } from '../results/task-record';
import type { RetryPolicy } from '../tasks/retry-policy';
import type { TaskDefinition } from '../tasks/task-registry';
import type { StartLimits } from './queue/global-limits';
import { TaskAbort } from './task-abort';

/**
 * A dependency the server did not know at acceptance, awaited because the submission asked for it
 * (`await_unknown_deps`): it reads as PENDING until a task of its id appears.
 */
export class UnknownDependency {
  readonly status = 'PENDING' as const;
  readonly trace = undefined;
  constructor(readonly taskId: string) {}
}

/** Takes a task's progress reports (the lifecycle). */
export interface ProgressSink {
  progress(task: InFlightTask, fraction: number, message: string | undefined): void;
}

/** A dependency as the scheduler saw it at acceptance: finished (its record), still unfinished, or not yet submitted. */
export type DependencyState = TaskRecord | InFlightTask | UnknownDependency;

/** What a task needs to run, besides its record: fixed at acceptance (or at recovery). */
export interface TaskRun {
  readonly definition: TaskDefinition;
  readonly args: readonly ArgValue[];
  /** Canonical JSON of `args`, built once at acceptance (identity digest, `ctx.argsJson`, durable spec). */
  readonly argsJson: string;
  readonly deps: readonly string[];
  /** 0: the scheduler's default. */
  readonly dependencyTimeoutMs: number;
  /** 0: the scheduler's default. */
  readonly executionTimeoutMs: number;
  readonly injectDependencyResults: boolean;
  /** Undefined: one attempt. */
  readonly retry: RetryPolicy | undefined;
  /** Among tasks waiting for a slot, higher first (see `queue/fairness.ts`). */
  readonly priority: number;
  /** '' = none. */
  readonly concurrencyKey: string;
  /** A dependency not known yet is waited for (also after a recovery), not "Missing dependency". */
  readonly awaitUnknownDeps: boolean;
}

/**
 * A task accepted and not yet finished. Aborting it is {@link TaskAbort}'s (no AbortSignal unless one is
 * read); its `done` promise is made on first use: a quick inline task that nobody waits for never needs
 * either (the hot path stays lean).
 *
 * Each attempt (and each backoff wait between attempts) has an abort scope of its own, `current`: an
 * execution timeout aborts one attempt, not the task. The first attempt's scope is the task itself, so
 * a task that runs once allocates nothing more.
 */
export class InFlightTask extends TaskAbort {
  record: TaskRecord;
  readonly run: TaskRun;
  /** Dependencies not known to have succeeded at acceptance (awaited before the first attempt). */
  dependencies: Map<string, DependencyState> | undefined = undefined;
  /** Abort scope of the running attempt or of the backoff wait before the next one. */
  current: TaskAbort = this;
  /** Set by the first terminal transition (or a release); later ones are ignored. */
  finishing = false;
  /** Holds a concurrency slot (released on finish or before a retry's wait). */
  holdsSlot = false;
  /** The run queue's bookkeeping while it waits for a slot, and for the slot it holds (see `queue/run-queue.ts`). */
  queueEntry: unknown = undefined;
  slotMethod: unknown = undefined;
  slotKey: unknown = undefined;
  /** The limits its start was counted against across replicas (Redis; see `queue/global-limits.ts`); released with the slot. */
  globalStart: StartLimits | undefined = undefined;
  /** Counted in the scheduler's waiting-for-dependencies total. */
  waitsForDeps = false;
  /** False for a task whose only store write is its final record (see `completesNow` in the scheduler). */
  stored = true;
  /**
   * With a durable store, from submission: settles once its first record is stored (true), or was not
   * (false: the store refused it — see `refused` — or, shared, another replica took the id first).
   */
  accepted: Promise<boolean> | undefined = undefined;
  /** Why the store refused its first record. */
  refused: unknown = undefined;
  /** Bytes charged to the admission bound while unfinished. */
  charge = 0;
  /** performance.now() when its running attempt started (undefined while none runs): sub-millisecond run times for metrics. */
  startedHr: number | undefined = undefined;
  /**
   * Set when the task was let go unfinished (shutdown with a durable store: it stays PENDING there and
   * resumes at the next start): what its blocking callers are answered with.
   */
  released: TaskSchedulerError | undefined = undefined;
  /** Where its progress reports go (the lifecycle that tracks it), and their throttle state. */
  progressSink: ProgressSink | undefined = undefined;
  progressAt = 0;
  progressPending: TaskProgress | undefined = undefined;
  #done: Promise<TaskRecord> | undefined = undefined;
  #resolve: ((record: TaskRecord) => void) | undefined = undefined;
  #final: TaskRecord | undefined = undefined;

  constructor(record: TaskRecord, run: TaskRun) {
    super();
    this.record = record;
    this.run = run;
  }

  /** Resolves with the final record (or, once released, the record as it was left). */
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

  /** A progress report of the running attempt (`ctx.progress`). */
  reportProgress(fraction: number, message?: string): void {
    this.progressSink?.progress(this, fraction, message);
  }

  /** Aborts the current attempt or backoff wait; returns what abort listeners threw. */
  abortCurrent(reason: unknown): unknown[] {
    return this.current.abort(reason);
  }
}
