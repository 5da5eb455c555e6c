import type { ArgValue } from '../args/arg-value';
import { TaskSchedulerError } from '../errors';
import type { Logger } from '../logging/logger';
import type { TaskRecord } from '../results/task-record';
import type { TaskPool } from '../tasks/pool/task-pool';
import { anyUnfinished, awaitDependencies, checkDependencies, type DependencyLookup } from './dependencies';
import type { InFlightTask } from './in-flight-task';
import type { RunQueue } from './queue/run-queue';
import { GLOBAL_SLOT_RETRY_MS, type GlobalLimits, type StartLimits } from './queue/global-limits';
import { sleepUntil } from './queue/start-time';
import type { LongInlineRuns } from './long-inline-runs';
import { executeAttempt, isInline } from './task-execution';
import type { TaskLifecycle } from './task-lifecycle';
import { isRetryable, terminalOf } from './task-outcome';

/** What the runner needs, from the scheduler that owns it. */
export interface TaskRunnerDeps {
  readonly lifecycle: TaskLifecycle;
  readonly queue: RunQueue;
  /** With a shared store: the method and key limits counted across replicas. */
  readonly globalLimits?: GlobalLimits | undefined;
  readonly lookup: DependencyLookup;
  readonly pool: TaskPool | undefined;
  readonly logger: Logger;
  /** Default max wait for unfinished dependencies, ms. */
  readonly dependencyTimeoutMs: number;
  /** Default max run time of an attempt, ms; 0 = none. */
  readonly executionTimeoutMs: number;
  /** Whether the scheduler is shutting down (nothing new starts). */
  readonly closing: () => boolean;
  /** Where long inline runs are noted for the stall watchdog (absent: no watchdog). */
  readonly longInlineRuns?: LongInlineRuns;
}

const NO_DEPENDENCY_RESULTS: ReadonlyMap<string, string> = new Map();

/**
 * Takes an accepted task to its end: waits for its dependencies, then — attempt after attempt, as its
 * retry policy allows — for a retry's backoff and a slot, runs it, and finishes it. The transitions
 * themselves are the lifecycle's.
 */
export class TaskRunner {
  readonly #lifecycle: TaskLifecycle;
  readonly #queue: RunQueue;
  readonly #globalLimits: GlobalLimits | undefined;
  readonly #lookup: DependencyLookup;
  readonly #pool: TaskPool | undefined;
  readonly #logger: Logger;
  readonly #debug: boolean;
  readonly #dependencyTimeoutMs: number;
  readonly #executionTimeoutMs: number;
  readonly #closing: () => boolean;
  readonly #longInlineRuns: LongInlineRuns | undefined;

  constructor(deps: TaskRunnerDeps) {
    this.#lifecycle = deps.lifecycle;
    this.#queue = deps.queue;
    this.#globalLimits = deps.globalLimits;
    this.#lookup = deps.lookup;
    this.#pool = deps.pool;
    this.#logger = deps.logger;
    this.#debug = deps.logger.isDebugEnabled();
    this.#dependencyTimeoutMs = deps.dependencyTimeoutMs;
    this.#executionTimeoutMs = deps.executionTimeoutMs;
    this.#closing = deps.closing;
    this.#longInlineRuns = deps.longInlineRuns;
  }

  /** A recovered task: its dependencies are checked again (they may have ended meanwhile), then it runs. */
  async resume(task: InFlightTask): Promise<TaskRecord> {
    if (task.finishing) return task.done; // cancelled or let go before its turn came
    if (task.run.deps.length > 0) {
      try {
        const dependencies = await checkDependencies(task.run.deps, this.#lookup, task.run.awaitUnknownDeps);
        task.dependencies = dependencies;
        if (anyUnfinished(dependencies) && !task.finishing) this.#lifecycle.waitForDeps(task);
      } catch (err) {
        return this.#lifecycle.finish(task, terminalOf(err));
      }
    }
    return this.run(task);
  }

  /** Runs an accepted task to its end; resolves with its final record (never rejects). */
  async run(task: InFlightTask): Promise<TaskRecord> {
    const { run } = task;
    const lifecycle = this.#lifecycle;
    try {
      const dependencyResults = task.dependencies
        ? await awaitDependencies(task, task.dependencies, run.dependencyTimeoutMs || this.#dependencyTimeoutMs, this.#lookup)
        : NO_DEPENDENCY_RESULTS;
      task.dependencies = undefined;
      lifecycle.doneWaitingForDeps(task);
      const args: readonly ArgValue[] = run.injectDependencyResults && run.deps.length > 0
        ? [...run.deps.map((dep): ArgValue => ({ kind: 'string', value: dependencyResults.get(dep)! })), ...run.args]
        : run.args;
      for (;;) {
        if (task.finishing) return task.done;
        if (task.record.runAfter !== undefined && !(await this.#backoff(task))) return task.done;
        if (this.#closing()) {
          await lifecycle.leaveAtShutdown(task);
          return task.done;
        }
        if (!this.#queue.tryAcquire(task)) {
          lifecycle.waitingForSlot(task);
          if (!(await this.#queue.wait(task))) return task.done; // withdrawn: cancelled
        }
        task.holdsSlot = true;
        if (task.finishing) {
          lifecycle.releaseSlot(task);
          return task.done;
        }
        const limits = this.#globalLimits && this.#queue.limitsOf(task);
        if (limits) {
          const waitMs = await this.#globalStart(task, limits);
          if (waitMs !== 0) {
            // A limit is reached across replicas (or Redis did not answer): give the local slot back
            // to other tasks, wait until the limit may allow a start, and queue again.
            lifecycle.releaseSlot(task);
            if (!(await sleepUntil(Date.now() + waitMs, task.current))) return task.done;
            continue;
          }
        }
        try {
          const pending = this.#attempt(task, args, dependencyResults);
          const result = typeof pending === 'string' ? pending : await pending;
          return await lifecycle.finish(task, { status: 'SUCCESS', result });
        } catch (err) {
          // An aborted attempt failed because of why it was aborted, whatever it threw on the way out.
          const cause = task.current.aborted ? task.current.reason : err;
          const policy = run.retry;
          if (!policy || task.finishing || this.#closing() || task.record.attempts >= policy.maxAttempts || !isRetryable(cause)) throw cause;
          await lifecycle.retryWait(task, cause, policy);
        }
      }
    } catch (err) {
      if (this.#debug && !(err instanceof TaskSchedulerError)) this.#logger.debug('task threw', { taskId: task.record.taskId, err });
      return lifecycle.finish(task, terminalOf(err));
    }
  }

  /** Waits for the record's `runAfter` (a start time, or a retry's backoff); false when the task was stopped meanwhile. */
  async #backoff(task: InFlightTask): Promise<boolean> {
    if (task.record.runAfter! <= Date.now()) return !task.current.aborted;
    this.#queue.delayed++;
    try {
      return await sleepUntil(task.record.runAfter!, task.current);
    } finally {
      this.#queue.delayed--;
    }
  }

  /** Counts the start against the global limits: 0 when it may start, else ms to wait (Redis did not answer: retried). */
  async #globalStart(task: InFlightTask, limits: StartLimits): Promise<number> {
    let waitMs: number;
    try {
      waitMs = await this.#globalLimits!.tryStart(limits);
    } catch (err) {
      this.#logger.warn('counting a start against the global limits failed; retrying', { taskId: task.record.taskId, err });
      return GLOBAL_SLOT_RETRY_MS;
    }
    if (waitMs !== 0) return waitMs;
    task.globalStart = limits;
    // Cancelled meanwhile: give everything back (the caller then sees the task finishing).
    if (task.finishing) this.#lifecycle.releaseSlot(task);
    return task.finishing ? GLOBAL_SLOT_RETRY_MS : 0;
  }

  /** Starts an attempt: a string at once for an inline task on a store that need not be waited for (the hot path), else a promise. */
  #attempt(task: InFlightTask, args: readonly ArgValue[], dependencyResults: ReadonlyMap<string, string>): string | Promise<string> {
    const inline = isInline(task.run.definition, this.#pool);
    const stored = this.#lifecycle.start(task, inline);
    const timeoutMs = task.run.executionTimeoutMs || this.#executionTimeoutMs;
    const execute = () => executeAttempt(task, args, dependencyResults, this.#pool, timeoutMs, (err) => this.#lifecycle.logAbortError(task.record.taskId, err), this.#longInlineRuns);
    if (!stored) return execute();
    return stored.then(() => {
      if (task.current.aborted) throw task.current.reason;
      return execute();
    });
  }
}
