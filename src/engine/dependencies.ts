import { DependencyFailedError, MissingDependencyError, TaskTimeoutError, clip } from '../errors';
import { isFinished, type TaskRecord } from '../results/task-record';
import { InFlightTask, UnknownDependency, type DependencyState } from './in-flight-task';

export { UnknownDependency } from './in-flight-task';
import { waitUntil, type AbortScope } from './wait-until';

/** Where the scheduler finds a dependency: in flight here, in the store, or unfinished elsewhere. */
export interface DependencyLookup {
  inFlight(taskId: string): InFlightTask | undefined;
  stored(taskId: string): Promise<TaskRecord | undefined>;
  /** The final record of a task unfinished on another replica (or its record at the timeout). */
  finishedElsewhere(record: TaskRecord, timeoutMs: number, signal: AbortSignal): Promise<TaskRecord>;
}

/**
 * Validates deps before acceptance (SPEC §3): all known, none failed. Returns each dependency's state;
 * undefined when all have already succeeded (nothing to wait for). Unfinished ones are awaited later.
 */
export async function checkDependencies(deps: readonly string[], lookup: DependencyLookup, awaitUnknown = false): Promise<Map<string, DependencyState>> {
  const state = new Map<string, DependencyState>();
  for (const dep of deps) {
    if (state.has(dep)) continue;
    const task = lookup.inFlight(dep);
    const record = task?.record ?? (await lookup.stored(dep));
    if (!record) {
      if (!awaitUnknown) throw new MissingDependencyError(dep);
      state.set(dep, new UnknownDependency(dep));
      continue;
    }
    if (record.status === 'FAILED' || record.status === 'CANCELLED') throw new DependencyFailedError(dep);
    if (record.status === 'SUCCESS') state.set(dep, record);
    else state.set(dep, task ?? record);
  }
  return state;
}

/** Whether any dependency is still unfinished (the task will wait). */
export function anyUnfinished(state: ReadonlyMap<string, DependencyState>): boolean {
  for (const entry of state.values()) if (entry instanceof InFlightTask || entry.status !== 'SUCCESS') return true;
  return false;
}

/**
 * Waits for unfinished deps (one deadline for all) and collects their results, in deps order. Throws
 * DEADLINE_EXCEEDED at the deadline and FAILED_PRECONDITION when one fails; the task's abort (cancel,
 * shutdown) ends the wait with its reason.
 */
export async function awaitDependencies(
  task: InFlightTask,
  state: ReadonlyMap<string, DependencyState>,
  timeoutMs: number,
  lookup: DependencyLookup,
): Promise<ReadonlyMap<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const results = new Map<string, string>();
  const timedOut = (dep: string) => new TaskTimeoutError(`dependency '${clip(dep)}' did not finish within ${timeoutMs} ms`);
  for (const dep of task.run.deps) {
    let record: TaskRecord;
    let entry = state.get(dep)!;
    if (entry instanceof UnknownDependency) entry = await appeared(dep, deadline, task, lookup, () => timedOut(dep));
    if (entry instanceof InFlightTask) {
      record = await waitUntil(entry.done, deadline - Date.now(), task, () => timedOut(dep));
      // A dependency let go at shutdown never finished here.
      if (!isFinished(record.status)) throw timedOut(dep);
    } else if (isFinished(entry.status)) {
      record = entry;
    } else {
      record = await lookup.finishedElsewhere(entry, deadline - Date.now(), task.signal);
      if (!isFinished(record.status)) throw timedOut(dep);
    }
    if (record.status !== 'SUCCESS') throw new DependencyFailedError(dep);
    results.set(dep, record.result);
  }
  return results;
}

/** First and longest pause between looks for a dependency that has not been submitted yet, ms. */
const FIRST_LOOK_MS = 10;
const MAX_LOOK_MS = 250;

/**
 * Waits until a task of id `dep` exists (in flight here, or in the store: another replica's) and
 * returns it. Polled with a growing pause (10 → 250 ms): it works the same on every store, and only
 * submissions that opted in (`await_unknown_deps`) wait this way.
 */
async function appeared(
  dep: string,
  deadline: number,
  abort: AbortScope,
  lookup: DependencyLookup,
  timedOut: () => Error,
): Promise<InFlightTask | TaskRecord> {
  for (let pause = FIRST_LOOK_MS; ; pause = Math.min(MAX_LOOK_MS, pause * 2)) {
    const found = lookup.inFlight(dep) ?? (await lookup.stored(dep));
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await waitUntil(new Promise<void>((resolve) => setTimeout(resolve, Math.min(pause, left)).unref()), left, abort, timedOut);
  }
}
