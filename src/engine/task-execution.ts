import type { ArgValue } from '../args/arg-value';
import { TaskExecutionError } from '../errors';
import type { TaskContext } from '../tasks/task-context';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { TaskDefinition } from '../tasks/task-registry';
import type { InFlightTask } from './in-flight-task';
import type { LongInlineRuns } from './long-inline-runs';
import { raceAbort, type TaskAbort } from './task-abort';
import { overtime } from './task-outcome';

/** The signal of tasks that run inline and synchronously: nothing can abort them mid-run. */
const NEVER_ABORTED = new AbortController().signal;
const NEVER_UNSUBSCRIBE = (): void => {};
const NEVER_ON_ABORT = (): (() => void) => NEVER_UNSUBSCRIBE;

/** Runs on this thread, synchronously: sync tasks not sent to the worker pool. */
export function isInline(definition: TaskDefinition, pool: TaskPool | undefined): boolean {
  return definition.kind === 'sync' && !(definition.worker && pool);
}

/**
 * Runs one attempt of `task`: its result string (at once for an inline task; a promise otherwise).
 * Throws or rejects with what the task threw, or with the abort reason of the attempt's scope
 * (`task.current`: a cancel, shutdown or the execution timeout, which this sets) as soon as it fires.
 * Inline sync tasks cannot be interrupted; one that overran its timeout still fails with
 * DEADLINE_EXCEEDED, after the fact. Not an async function: an inline task (the hot path) costs no
 * promise here.
 */
export function executeAttempt(
  task: InFlightTask,
  args: readonly ArgValue[],
  dependencyResults: ReadonlyMap<string, string>,
  pool: TaskPool | undefined,
  timeoutMs: number,
  onAbortError: (err: unknown) => void,
  longInlineRuns?: LongInlineRuns,
): string | Promise<string> {
  const { definition } = task.run;
  const { taskId, attempts } = task.record;
  const scope = task.current;
  // The JSON of the request's args, not of a list with injected dependency results.
  const argsJson = task.run.injectDependencyResults && task.run.deps.length > 0 ? undefined : task.run.argsJson;
  if (isInline(definition, pool)) {
    const startedAt = Date.now();
    const ctx: TaskContext = { taskId, method: definition.name, attempt: attempts, dependencyResults, signal: NEVER_ABORTED, onAbort: NEVER_ON_ABORT, argsJson };
    let result: unknown;
    try {
      result = (definition.fn as (args: readonly ArgValue[], ctx: TaskContext) => unknown)(args, ctx);
    } finally {
      // The run blocked the loop and is over before the stall watchdog's timer can fire: note it for it.
      longInlineRuns?.note(taskId, definition.name, Date.now() - startedAt);
    }
    if (timeoutMs > 0 && Date.now() - startedAt > timeoutMs) throw overtime(taskId, timeoutMs);
    return checkResult(result, definition.name);
  }
  const ctx = scope.contextFor(taskId, definition.name, attempts, dependencyResults, argsJson);
  const pending = definition.kind === 'async' ? definition.fn(args, ctx) : pool!.run(definition.name, args, ctx);
  return raceTimeout(scope, pending, taskId, timeoutMs, onAbortError).then((result) => checkResult(result, definition.name));
}

function checkResult(result: unknown, name: string): string {
  if (typeof result === 'string') return result;
  throw new TaskExecutionError(`task '${name}' returned ${result === null ? 'null' : typeof result}, expected a string`);
}

/** Awaits an async attempt, giving up as soon as its scope is aborted (cancel, shutdown, or the timeout set here). */
async function raceTimeout(scope: TaskAbort, pending: Promise<string>, taskId: string, timeoutMs: number, onAbortError: (err: unknown) => void): Promise<unknown> {
  const timer = timeoutMs > 0
    ? setTimeout(() => {
        for (const err of scope.abort(overtime(taskId, timeoutMs))) onAbortError(err);
      }, timeoutMs)
    : undefined;
  try {
    return await raceAbort(pending, scope);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
