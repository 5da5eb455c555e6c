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
  /** Attempts started so far (more than 1: the task was retried). */
  readonly attempts: number;
  /** Acceptance order in this history (a paging cursor: `before`). */
  readonly seq: number;
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
  /** Only tasks accepted before this one (its `seq`): the next page after a page ending there. */
  readonly before?: number | undefined;
}

/** A page of the history. */
export interface TaskQueryPage {
  readonly tasks: TaskSummary[];
  /** Matching tasks in the whole history (all pages). */
  readonly matched: number;
  /** `before` of the next (older) page; undefined on the last page. */
  readonly next: number | undefined;
}

/** Longest args JSON kept per task: history memory stays bounded whatever clients send. */
export const MAX_ARGS_CHARS = 1_000;
/** Longest error message kept per task. */
export const MAX_ERROR_CHARS = 1_000;
/** Most dependents remembered per task (the rest are counted). */
export const MAX_DEPENDENTS = 100;
/** Default of `--dashboard-history-bytes`. */
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;
/**
 * Heap of an entry without its strings and arrays: the Entry object (13 fields), its ring slot and its
 * id-index entry (a Map entry is ~3 words plus table slack). Fitted to heapUsed after gc():
 * `node --expose-gc scripts/dashboard-history-heap.js` (figures in docs/decisions.md).
 */
const ENTRY_BYTES = 250;
/** A V8 string's header (map, hash, length), rounded. */
const STRING_HEADER_BYTES = 16;
/** A JS array: header plus its backing store's header. */
const ARRAY_HEADER_BYTES = 32;
/** One pointer-sized slot of an array (V8 without pointer compression in Node: 8 bytes). */
const SLOT_BYTES = 8;
const NOT_ONE_BYTE = /[^\u0000-\u00ff]/;

/**
 * The heap a string holds: V8 stores it one byte a character when every character is ≤ U+00FF, else
 * two (measured by the regex, which stops at the first wide character). Sliced and cons strings are
 * flattened by what the history keeps (see {@link detachedPrefix}), so this is what they cost.
 */
export function stringBytes(text: string): number {
  return STRING_HEADER_BYTES + (NOT_ONE_BYTE.test(text) ? 2 * text.length : text.length);
}

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
  attempts = 0;
  /** Heap held by this entry (its strings and arrays included), counted against the byte bound. */
  bytes = 0;
  /** Tasks that listed this one in their deps (accepted while this entry was in the history). */
  dependents: string[] | undefined = undefined;
  moreDependents = 0;

  constructor(
    readonly seq: number,
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
      attempts: this.attempts,
      seq: this.seq,
    };
  }
}

/**
 * The dashboard's view of recent tasks: a scheduler observer that keeps the latest accepted tasks in a
 * ring (oldest dropped first) with an id index, their dependents, and totals since start. The ring is
 * bounded twice: at most `capacity` entries (`--dashboard-history`) and at most `maxBytes` of heap
 * (`--dashboard-history-bytes`), counted from each entry's real strings and arrays (its deps, args,
 * error and dependents) when it is stored, so a flood of tasks with 1 000 long deps each cannot grow the
 * heap past the bound. Each event is O(1) plus the length of what it stores, and allocates only at
 * acceptance; reads scan at most the ring and never touch the engine.
 *
 * Dependents are recorded on the dependency's entry, so they live and die with it: the index is bounded
 * by the history and by {@link MAX_DEPENDENTS} per task.
 */
export class TaskHistory implements SchedulerObserver {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #ring: Array<Entry | undefined>;
  readonly #byId = new Map<string, Entry>();
  /** Next slot to write; the oldest entry is at `#head - #count`. */
  #head = 0;
  #count = 0;
  #bytes = 0;
  #accepted = 0;
  #started = 0;
  #succeeded = 0;
  #failed = 0;
  #cancelled = 0;
  /** Bumped by every event: a client refreshes its list when it changed. */
  #version = 0;

  constructor(capacity: number, maxBytes = DEFAULT_HISTORY_BYTES) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`task history capacity must be ≥ 1, got ${capacity}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`task history bytes must be ≥ 1, got ${maxBytes}`);
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#ring = new Array<Entry | undefined>(capacity).fill(undefined);
  }

  taskAccepted(record: TaskRecord, argsJson: string): void {
    let json = argsJson;
    const truncated = json.length > MAX_ARGS_CHARS;
    if (truncated) json = detachedPrefix(json, MAX_ARGS_CHARS);
    const entry = new Entry(this.#accepted, record.taskId, record.method, record.deps, json, truncated, record.submittedAt);
    // The deps array and its strings are the engine's; once the store drops the record, the history
    // alone keeps them alive, so they are counted in full.
    let bytes = ENTRY_BYTES + stringBytes(record.taskId) + stringBytes(json) + ARRAY_HEADER_BYTES + SLOT_BYTES * record.deps.length;
    for (const dep of record.deps) bytes += stringBytes(dep);
    entry.bytes = bytes;
    // Make room: the slot we write, and the oldest entries while over the byte bound.
    if (this.#count === this.capacity) this.#evictOldest();
    while (this.#count > 0 && this.#bytes + bytes > this.maxBytes) this.#evictOldest();
    const superseded = this.#byId.get(entry.taskId);
    if (superseded) this.#byId.delete(entry.taskId); // its slot stays until evicted, skipped by reads
    this.#ring[this.#head] = entry;
    this.#head = (this.#head + 1) % this.capacity;
    this.#count++;
    this.#bytes += bytes;
    this.#byId.set(entry.taskId, entry);
    for (const dep of record.deps) {
      const parent = this.#byId.get(dep);
      if (!parent) continue;
      if (!parent.dependents) {
        parent.dependents = [];
        parent.bytes += ARRAY_HEADER_BYTES;
        this.#bytes += ARRAY_HEADER_BYTES;
      }
      if (parent.dependents.length < MAX_DEPENDENTS) {
        if (!parent.dependents.includes(entry.taskId)) {
          parent.dependents.push(entry.taskId);
          // The id string outlives the dependent's own entry while the parent keeps it.
          const added = SLOT_BYTES + stringBytes(entry.taskId);
          parent.bytes += added;
          this.#bytes += added;
        }
      } else {
        parent.moreDependents++;
      }
    }
    this.#trim();
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
    entry.attempts = record.attempts;
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
    entry.attempts = record.attempts;
    const message = record.failure?.message;
    if (entry.error !== undefined) this.#charge(entry, -stringBytes(entry.error));
    entry.error = message === undefined ? undefined : message.length > MAX_ERROR_CHARS ? `${detachedPrefix(message, MAX_ERROR_CHARS)}…` : message;
    if (entry.error !== undefined) {
      this.#charge(entry, stringBytes(entry.error));
      this.#trim();
    }
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

  /** Heap held by the entries now, as counted against {@link maxBytes}. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The summary of a task still in the history. */
  get(taskId: string): TaskSummary | undefined {
    return this.#byId.get(taskId)?.summary();
  }

  /** Tasks that depend on `taskId` (accepted while it was in the history), and how many more were not kept. */
  dependentsOf(taskId: string): { readonly ids: readonly string[]; readonly more: number } {
    const entry = this.#byId.get(taskId);
    return { ids: entry?.dependents ? [...entry.dependents] : [], more: entry?.moreDependents ?? 0 };
  }

  /**
   * Tasks in the history that name `taskId` in their deps, newest first, at most `max` (a scan of the
   * ring: for a task that left the history, or whose dependents were accepted before it).
   */
  scanDependents(taskId: string, max: number): string[] {
    const found: string[] = [];
    this.#scan((entry) => {
      if (entry.deps.includes(taskId)) found.push(entry.taskId);
      return found.length < max;
    });
    return found;
  }

  /** One page of the matching tasks, newest first, and how many matched in all. */
  query(query: TaskQuery): TaskQueryPage {
    const tasks: TaskSummary[] = [];
    let matched = 0;
    let next: number | undefined;
    const before = query.before;
    this.#scan((entry) => {
      if (query.status !== undefined && entry.status !== query.status) return true;
      if (query.method !== undefined && entry.method !== query.method) return true;
      if (query.idContains !== undefined && !entry.taskId.includes(query.idContains)) return true;
      matched++;
      if (before !== undefined && entry.seq >= before) return true;
      if (tasks.length < query.limit) tasks.push(entry.summary());
      else if (next === undefined) next = tasks[tasks.length - 1]!.seq;
      return true;
    });
    return { tasks, matched, next };
  }

  /** Methods seen in the history, sorted (for the filter's choices). */
  methods(): string[] {
    const seen = new Set<string>();
    for (const entry of this.#byId.values()) seen.add(entry.method);
    return [...seen].sort();
  }

  /** Visits the live entries newest first while `visit` returns true. */
  #scan(visit: (entry: Entry) => boolean): void {
    for (let i = 1; i <= this.#count; i++) {
      const entry = this.#ring[(this.#head - i + this.capacity) % this.capacity]!;
      if (this.#byId.get(entry.taskId) !== entry) continue; // superseded by a newer task with the same id
      if (!visit(entry)) return;
    }
  }

  #evictOldest(): void {
    const slot = (this.#head - this.#count + this.capacity) % this.capacity;
    const evicted = this.#ring[slot]!;
    this.#ring[slot] = undefined;
    this.#count--;
    this.#bytes -= evicted.bytes;
    if (this.#byId.get(evicted.taskId) === evicted) this.#byId.delete(evicted.taskId);
  }

  /** Drops the oldest entries while over the byte bound (the newest always stays). */
  #trim(): void {
    while (this.#count > 1 && this.#bytes > this.maxBytes) this.#evictOldest();
  }

  #charge(entry: Entry, bytes: number): void {
    entry.bytes += bytes;
    this.#bytes += bytes;
  }
}
