import type { SchedulerObserver } from '../engine/scheduler-types';
import type { TaskRecord, TaskStatus } from '../results/task-record';

/** One task as the dashboard lists it (a copy: safe to serialise, never changes under the caller). */
export interface TaskSummary {
  readonly taskId: string;
  readonly method: string;
  readonly status: TaskStatus;
  readonly deps: readonly string[];
  /** The decoded arguments as canonical JSON, cut at {@link MAX_ARGS_CHARS} (see `argsTruncated`). */
  readonly args: string;
  readonly argsTruncated: boolean;
  /** Epoch milliseconds. */
  readonly submittedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  /** How long it ran (high resolution), when it started and finished. */
  readonly runMs: number | undefined;
  /** The failure's status message (FAILED / CANCELLED), cut at {@link MAX_ERROR_CHARS}. */
  readonly error: string | undefined;
}

/** Task counts since start (not bounded by the history). */
export interface TaskTotals {
  readonly accepted: number;
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
}

/** A filter over the history. */
export interface TaskQuery {
  readonly status?: TaskStatus | undefined;
  /** Exact method name. */
  readonly method?: string | undefined;
  /** Part of the task id (case-sensitive). */
  readonly idContains?: string | undefined;
  /** Most summaries returned, newest first. */
  readonly limit: number;
}

/** Longest args JSON kept per task: history memory stays bounded whatever clients send. */
export const MAX_ARGS_CHARS = 1_000;
/** Longest error message kept per task. */
export const MAX_ERROR_CHARS = 1_000;
/** Most dependents remembered per task (the rest are counted). */
export const MAX_DEPENDENTS = 100;

/**
 * The first `max` characters as a string of their own. V8 represents `slice` as a view that keeps the
 * whole original alive (measured: 5 KB args kept 5.3 KB per entry); a copy through a Buffer holds only
 * the prefix. Used on the rare long values only.
 */
function detachedPrefix(text: string, max: number): string {
  return Buffer.from(text.slice(0, max), 'utf8').toString('utf8');
}

/** A history slot; mutated in place by the lifecycle events (no allocation after acceptance). */
class Entry {
  status: TaskStatus = 'PENDING';
  startedAt: number | undefined = undefined;
  finishedAt: number | undefined = undefined;
  runMs: number | undefined = undefined;
  error: string | undefined = undefined;
  /** Tasks that listed this one in their deps (accepted while this entry was in the history). */
  dependents: string[] | undefined = undefined;
  moreDependents = 0;
  /** The ids of the batch (SubmitTasks) it was accepted in, shared by the batch's entries; undefined for a single task. */
  batch: readonly string[] | undefined = undefined;

  constructor(
    readonly taskId: string,
    readonly method: string,
    readonly deps: readonly string[],
    readonly args: string,
    readonly argsTruncated: boolean,
    readonly submittedAt: number,
  ) {}

  summary(): TaskSummary {
    return {
      taskId: this.taskId,
      method: this.method,
      status: this.status,
      deps: this.deps,
      args: this.args,
      argsTruncated: this.argsTruncated,
      submittedAt: this.submittedAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      runMs: this.runMs,
      error: this.error,
    };
  }
}

/**
 * The dashboard's view of recent tasks: a scheduler observer that keeps the last `capacity` accepted
 * tasks in a ring (oldest overwritten first) with an id index, their dependents, and totals since start.
 * Each event is O(1) and allocates only at acceptance (one entry, plus the args JSON when the engine's
 * digest is a hash); reads scan at most `capacity` entries and never touch the engine.
 *
 * Dependents are recorded on the dependency's entry, so they live and die with it: the index is bounded
 * by the history and by {@link MAX_DEPENDENTS} per task.
 */
export class TaskHistory implements SchedulerObserver {
  readonly capacity: number;
  readonly #ring: Array<Entry | undefined>;
  readonly #byId = new Map<string, Entry>();
  /** Next slot to write. */
  #head = 0;
  #accepted = 0;
  #started = 0;
  #succeeded = 0;
  #failed = 0;
  #cancelled = 0;
  /** Bumped by every event: a client refreshes its list when it changed. */
  #version = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`task history capacity must be ≥ 1, got ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Array<Entry | undefined>(capacity).fill(undefined);
  }

  taskAccepted(record: TaskRecord, argsJson: string): void {
    let json = argsJson;
    const truncated = json.length > MAX_ARGS_CHARS;
    if (truncated) json = detachedPrefix(json, MAX_ARGS_CHARS);
    const entry = new Entry(record.taskId, record.method, record.deps, json, truncated, record.submittedAt);
    const evicted = this.#ring[this.#head];
    if (evicted && this.#byId.get(evicted.taskId) === evicted) this.#byId.delete(evicted.taskId);
    this.#ring[this.#head] = entry;
    this.#head = (this.#head + 1) % this.capacity;
    this.#byId.set(entry.taskId, entry);
    for (const dep of record.deps) {
      const parent = this.#byId.get(dep);
      if (!parent) continue;
      if (!parent.dependents) parent.dependents = [];
      if (parent.dependents.length < MAX_DEPENDENTS) {
        if (!parent.dependents.includes(entry.taskId)) parent.dependents.push(entry.taskId);
      } else {
        parent.moreDependents++;
      }
    }
    this.#accepted++;
    this.#version++;
  }

  taskStarted(record: TaskRecord): void {
    this.#started++;
    this.#version++;
    const entry = this.#byId.get(record.taskId);
    if (!entry) return;
    entry.status = 'RUNNING';
    entry.startedAt = record.startedAt;
  }

  taskFinished(record: TaskRecord, runMs: number | undefined): void {
    if (record.status === 'SUCCESS') this.#succeeded++;
    else if (record.status === 'FAILED') this.#failed++;
    else if (record.status === 'CANCELLED') this.#cancelled++;
    this.#version++;
    const entry = this.#byId.get(record.taskId);
    if (!entry) return;
    entry.status = record.status;
    entry.startedAt = record.startedAt;
    entry.finishedAt = record.finishedAt;
    entry.runMs = runMs;
    const message = record.failure?.message;
    entry.error = message === undefined ? undefined : message.length > MAX_ERROR_CHARS ? `${detachedPrefix(message, MAX_ERROR_CHARS)}…` : message;
  }

  /** Totals since start. */
  totals(): TaskTotals {
    return { accepted: this.#accepted, started: this.#started, succeeded: this.#succeeded, failed: this.#failed, cancelled: this.#cancelled };
  }

  /** Changes whenever a task is accepted, starts or finishes. */
  get version(): number {
    return this.#version;
  }

  /** Tasks held now (≤ capacity). */
  get size(): number {
    return this.#byId.size;
  }

  /** The summary of a task still in the history. */
  get(taskId: string): TaskSummary | undefined {
    return this.#byId.get(taskId)?.summary();
  }

  /** Tasks that depend on `taskId` (accepted while it was in the history), and how many more were not kept. */
  /** A batch's task ids (from any of its tasks still in the history); undefined when it came alone. */
  batchOf(taskId: string): readonly string[] | undefined {
    return this.#byId.get(taskId)?.batch;
  }

  /** One shared, frozen list per batch (at most --max-batch-tasks ids) on each of its entries. */
  batchAccepted(taskIds: readonly string[]): void {
    const ids = Object.freeze([...taskIds]);
    for (const taskId of ids) {
      const entry = this.#byId.get(taskId);
      if (entry) entry.batch = ids;
    }
    this.#version++;
  }

  dependentsOf(taskId: string): { readonly ids: readonly string[]; readonly more: number } {
    const entry = this.#byId.get(taskId);
    return { ids: entry?.dependents ? [...entry.dependents] : [], more: entry?.moreDependents ?? 0 };
  }

  /** Matching tasks, newest first, and how many matched in all. */
  query(query: TaskQuery): { readonly tasks: TaskSummary[]; readonly matched: number } {
    const tasks: TaskSummary[] = [];
    let matched = 0;
    for (let i = 1; i <= this.capacity; i++) {
      const entry = this.#ring[(this.#head - i + this.capacity) % this.capacity];
      if (!entry) break;
      if (this.#byId.get(entry.taskId) !== entry) continue; // superseded by a newer task with the same id
      if (query.status !== undefined && entry.status !== query.status) continue;
      if (query.method !== undefined && entry.method !== query.method) continue;
      if (query.idContains !== undefined && !entry.taskId.includes(query.idContains)) continue;
      matched++;
      if (tasks.length < query.limit) tasks.push(entry.summary());
    }
    return { tasks, matched };
  }

  /** Methods seen in the history, sorted (for the filter's choices). */
  methods(): string[] {
    const seen = new Set<string>();
    for (const entry of this.#byId.values()) seen.add(entry.method);
    return [...seen].sort();
  }
}
