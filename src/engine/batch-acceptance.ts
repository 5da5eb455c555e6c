import {
  DependencyFailedError,
  InvalidArgumentsError,
  MethodNotFoundError,
  MissingDependencyError,
  ShuttingDownError,
  TaskAlreadyExistsError,
  TaskSchedulerError,
  clip,
} from '../errors';
import type { ResultStore } from '../results/result-store';
import type { TaskRecord } from '../results/task-record';
import type { TaskRegistry } from '../tasks/task-registry';
import { taskCharge, type Admission } from './admission';
import type { RunQueue } from './queue/run-queue';
import { UnknownDependency, type DependencyLookup } from './dependencies';
import { InFlightTask, type DependencyState } from './in-flight-task';
import type { SubmitRequest, TaskOutcome } from './scheduler-types';
import { acceptedRecord, prepareTask, traceOfFirst, type AcceptanceSettings, type PreparedTask } from './task-acceptance';
import { startInSlices } from './start-in-slices';
import { identityMismatch } from './task-identity';
import type { TaskLifecycle } from './task-lifecycle';
import type { TaskRunner } from './task-runner';

/** Default `--max-batch-tasks`. */
export const DEFAULT_MAX_BATCH_TASKS = 10_000;

/** What batch acceptance needs, from the scheduler that owns it. */
export interface BatchAcceptanceDeps {
  readonly registry: TaskRegistry;
  readonly results: ResultStore;
  readonly lifecycle: TaskLifecycle;
  readonly runner: TaskRunner;
  readonly lookup: DependencyLookup;
  readonly admission: Admission;
  readonly queue: RunQueue;
  /** Retry, start-time and await-unknown-deps bounds and defaults, as for SubmitTask. */
  readonly acceptance: AcceptanceSettings;
  /** Most tasks in one batch (`--max-batch-tasks`). */
  readonly maxBatchTasks: number;
  readonly traceTasks: boolean;
  readonly closing: () => boolean;
}

/** A batch as the engine takes it: the tasks, and the call's trace context (see {@link SubmitRequest.trace}). */
export interface BatchRequest {
  readonly tasks: readonly SubmitRequest[];
  readonly trace?: string | undefined;
  readonly fromCaller?: boolean;
}

/** How often a batch is accepted again when another replica took one of its ids in between (then those are existing tasks). */
const MAX_RACES = 3;

/** A validation failure of one task of a batch: INVALID_ARGUMENT naming its index and id, whatever the single-task code. */
function atTask(index: number, taskId: string, err: unknown): unknown {
  if (!(err instanceof TaskSchedulerError)) return err;
  const where = `tasks[${index}]${taskId === '' ? '' : ` (task_id '${clip(taskId)}')`}`;
  if (err instanceof TaskAlreadyExistsError) return new TaskAlreadyExistsError(taskId, `${where}: ${err.detail}`);
  if (err instanceof InvalidArgumentsError || err instanceof MethodNotFoundError || err instanceof MissingDependencyError || err instanceof DependencyFailedError) {
    return new InvalidArgumentsError(`${where}: ${err instanceof InvalidArgumentsError ? err.detail : err.message}`);
  }
  return err;
}

/** One task of the batch during acceptance. */
interface Entry {
  readonly prepared: PreparedTask;
  /** The task's record when its id exists already (it is then answered, not accepted again). */
  existing: TaskRecord | undefined;
  task: InFlightTask | undefined;
}

/**
 * `SubmitTasks`: a list of tasks accepted together, all or nothing. Every check of `SubmitTask` runs
 * for each task first (a failure names the task's index and id and records nothing); deps may name
 * tasks of the batch in any order (cycles are refused, naming one) and tasks the server knows; a
 * client id that exists follows SubmitTask's idempotency rules (same task: answered with its state;
 * different: ALREADY_EXISTS). The new tasks are stored with one `insertMany` (one transaction, one
 * Redis script), told to the observers, and started — all detached — in one pass.
 */
export class BatchAcceptance {
  readonly #deps: BatchAcceptanceDeps;

  constructor(deps: BatchAcceptanceDeps) {
    this.#deps = deps;
  }

  async accept(batch: BatchRequest): Promise<TaskOutcome[]> {
    const max = this.#deps.maxBatchTasks;
    if (batch.tasks.length > max) throw new InvalidArgumentsError(`${batch.tasks.length} tasks is over the limit of ${max} (--max-batch-tasks)`);
    for (let race = 0; ; race++) {
      const outcome = await this.#acceptOnce(batch, race >= MAX_RACES);
      if (outcome) return outcome;
    }
  }

  /** Undefined when another replica stored one of the ids meanwhile (the caller tries again). */
  async #acceptOnce(batch: BatchRequest, lastTry: boolean): Promise<TaskOutcome[] | undefined> {
    const d = this.#deps;
    if (d.closing()) throw new ShuttingDownError();
    const entries: Entry[] = [];
    const index = new Map<string, number>();
    batch.tasks.forEach((request, i) => {
      let prepared: PreparedTask;
      try {
        prepared = prepareTask(request, d.registry, d.acceptance);
      } catch (err) {
        throw atTask(i, request.taskId, err);
      }
      const earlier = index.get(prepared.taskId);
      if (earlier !== undefined) throw new InvalidArgumentsError(`tasks[${i}] (task_id '${clip(prepared.taskId)}'): the id of tasks[${earlier}] too; ids in a batch must differ`);
      index.set(prepared.taskId, i);
      entries.push({ prepared, existing: undefined, task: undefined });
    });

    // Ids that exist already: the same task is answered with its state, another is refused.
    const toRead: Entry[] = [];
    for (const entry of entries) {
      if (!entry.prepared.clientId) continue;
      const inFlight = d.lifecycle.inFlight.get(entry.prepared.taskId);
      if (inFlight) entry.existing = inFlight.record;
      else toRead.push(entry);
    }
    if (toRead.length > 0) {
      const found = await d.results.getMany(toRead.map((entry) => entry.prepared.taskId));
      toRead.forEach((entry, k) => (entry.existing = found[k]));
    }
    entries.forEach((entry, i) => {
      if (!entry.existing) return;
      const why = identityMismatch(entry.existing, entry.prepared.identity);
      if (why) throw atTask(i, entry.prepared.taskId, new TaskAlreadyExistsError(entry.prepared.taskId, why));
    });

    // Dependencies outside the batch, each looked up once.
    const outside = new Map<string, DependencyState | undefined>();
    for (const entry of entries) {
      if (entry.existing) continue;
      for (const dep of entry.prepared.run.deps) if (!index.has(dep) && !outside.has(dep)) outside.set(dep, d.lookup.inFlight(dep));
    }
    const unread = [...outside].filter(([, state]) => !state).map(([dep]) => dep);
    if (unread.length > 0) {
      const found = await d.results.getMany(unread);
      unread.forEach((dep, k) => outside.set(dep, found[k]));
    }
    entries.forEach((entry, i) => {
      if (entry.existing) return;
      for (const dep of entry.prepared.run.deps) {
        const inBatch = index.get(dep);
        const record = inBatch === undefined ? recordOf(outside.get(dep)) : entries[inBatch]!.existing;
        if (inBatch !== undefined && !record) continue; // a new task of this batch
        if (!record) {
          if (entry.prepared.run.awaitUnknownDeps) continue;
          throw atTask(i, entry.prepared.taskId, new MissingDependencyError(dep));
        }
        if (record.status === 'FAILED' || record.status === 'CANCELLED') throw atTask(i, entry.prepared.taskId, new DependencyFailedError(dep));
      }
    });
    const cycle = findCycle(entries, index);
    if (cycle) throw new InvalidArgumentsError(`the batch's dependencies form a cycle: ${cycle.map((id) => `'${clip(id)}'`).join(' → ')}`);
    if (d.closing()) throw new ShuttingDownError();
    // A submission of one of the ids may have been accepted here while we awaited the store.
    if (entries.some((entry) => !entry.existing && entry.prepared.clientId && d.lifecycle.inFlight.has(entry.prepared.taskId))) return undefined;

    // Admission for the batch as a whole, then every new task is tracked before any dependency map is
    // built, so that in-batch dependencies are found in flight.
    const fresh = entries.filter((entry) => !entry.existing);
    let charge = 0;
    let dependents = 0;
    let dependentCharge = 0;
    const charges = fresh.map((entry) => {
      const { run, taskId } = entry.prepared;
      const bytes = taskCharge(run.argsJson, run.deps, taskId.length);
      charge += bytes;
      if (run.deps.length > 0) {
        dependents++;
        dependentCharge += bytes;
      }
      return bytes;
    });
    d.admission.checkBatch(charge, dependents, dependentCharge, fresh.length - dependents, d.queue.waiting, d.queue.full);

    const now = Date.now();
    const durable = d.lifecycle.durable;
    const records: TaskRecord[] = [];
    fresh.forEach((entry, k) => {
      const { run } = entry.prepared;
      const state = run.deps.length === 0 ? undefined : dependencyStates(run.deps, index, entries, outside, d.lookup);
      const trace = d.traceTasks ? (batch.fromCaller ? batch.trace : (traceOfFirst(run.deps, state) ?? batch.trace)) : undefined;
      const record = acceptedRecord(entry.prepared, now, durable, trace);
      records.push(record);
      entry.task = d.lifecycle.track(record, run, charges[k]!, false);
    });
    for (const entry of fresh) {
      const task = entry.task!;
      if (task.run.deps.length === 0) continue;
      const state = dependencyStates(task.run.deps, index, entries, outside, d.lookup);
      task.dependencies = state;
      d.lifecycle.waitForDeps(task);
    }

    const inserting = d.results.insertMany(records);
    if (durable) {
      const accepted = inserting.then((existing) => existing.length === 0);
      for (const entry of fresh) {
        const task = entry.task!;
        task.accepted = accepted.catch((err: unknown) => {
          task.refused = err;
          return false;
        });
      }
    }
    let taken: TaskRecord[];
    try {
      taken = await inserting;
    } catch (err) {
      for (const entry of fresh) d.lifecycle.untrack(entry.task!, d.lifecycle.unstored(entry.task!, err));
      throw err;
    }
    if (taken.length > 0) {
      // Only a shared store can get here: another replica took an id first. Nothing was stored; the
      // next pass finds those ids as existing tasks.
      const byId = new Map(taken.map((record) => [record.taskId, record]));
      for (const entry of fresh) d.lifecycle.untrack(entry.task!, byId.get(entry.prepared.taskId) ?? entry.task!.record);
      if (lastTry) throw new TaskAlreadyExistsError(taken[0]!.taskId, 'taken by another replica while this batch was accepted; submit it again');
      return undefined;
    }
    for (const entry of fresh) d.lifecycle.accepted(entry.task!, entry.task!.run.argsJson);
    d.lifecycle.batchAccepted(entries.map((entry) => entry.prepared.taskId));
    // Started a slice per turn of the event loop, after the answer has gone out: 10,000 tasks started
    // in one turn would hold the answer (and every other call) behind them.
    startInSlices(fresh.map((entry) => entry.task!), (task) => void d.runner.run(task));
    return entries.map((entry): TaskOutcome => {
      if (!entry.existing) return { taskId: entry.prepared.taskId, status: 'PENDING', result: '', attempts: 0 };
      const current = d.lifecycle.inFlight.get(entry.prepared.taskId)?.record ?? entry.existing;
      return { taskId: current.taskId, status: current.status, result: current.result, attempts: current.attempts };
    });
  }
}

function recordOf(state: DependencyState | undefined): TaskRecord | undefined {
  if (!state) return undefined;
  return state instanceof InFlightTask ? state.record : state instanceof UnknownDependency ? undefined : state;
}

/** A new task's dependency map: in-batch tasks as tracked (or as they exist), others as looked up, unknown ones awaited. */
function dependencyStates(
  deps: readonly string[],
  index: ReadonlyMap<string, number>,
  entries: readonly Entry[],
  outside: ReadonlyMap<string, DependencyState | undefined>,
  lookup: DependencyLookup,
): Map<string, DependencyState> {
  const state = new Map<string, DependencyState>();
  for (const dep of deps) {
    const inBatch = index.get(dep);
    let entry: DependencyState | undefined;
    if (inBatch !== undefined) {
      const other = entries[inBatch]!;
      entry = other.task ?? lookup.inFlight(dep) ?? other.existing;
    } else {
      entry = lookup.inFlight(dep) ?? outside.get(dep);
    }
    state.set(dep, entry ?? new UnknownDependency(dep));
  }
  return state;
}

/** A cycle among the batch's tasks (ids, the first repeated at the end), or undefined. Iterative: batches may be long chains. */
function findCycle(entries: readonly Entry[], index: ReadonlyMap<string, number>): string[] | undefined {
  const depsOf = (i: number): readonly string[] => entries[i]!.existing?.deps ?? entries[i]!.prepared.run.deps;
  // 0: unvisited, 1: on the current path, 2: done.
  const color = new Uint8Array(entries.length);
  const path: number[] = [];
  const next: number[] = [];
  for (let start = 0; start < entries.length; start++) {
    if (color[start] !== 0) continue;
    path.push(start);
    next.push(0);
    color[start] = 1;
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const deps = depsOf(top);
      const k = next[next.length - 1]!;
      if (k >= deps.length) {
        color[top] = 2;
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = k + 1;
      const to = index.get(deps[k]!);
      if (to === undefined || color[to] === 2) continue;
      if (color[to] === 1) {
        const cycle = path.slice(path.indexOf(to)).map((i) => entries[i]!.prepared.taskId);
        return [...cycle, entries[to]!.prepared.taskId];
      }
      color[to] = 1;
      path.push(to);
      next.push(0);
    }
  }
  return undefined;
}
