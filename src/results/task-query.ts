import type { TaskRecord, TaskStatus } from './task-record';

/** Where a page of a listing ends: the next page starts after this task (newest first). */
export interface TaskCursor {
  readonly submittedAt: number;
  readonly taskId: string;
}

/** A listing of submitted tasks, newest first (by submission time, then id), one page at a time. */
export interface TaskQuery {
  /** Only these statuses; empty: any. */
  readonly statuses: readonly TaskStatus[];
  /** Only this method; empty: any. */
  readonly method: string;
  /** Only ids starting with this; empty: any. */
  readonly idPrefix: string;
  /** Submitted at or after (epoch ms); 0: no bound. */
  readonly submittedAfter: number;
  /** Submitted before (epoch ms); 0: no bound. */
  readonly submittedBefore: number;
  /** Most records in the page. */
  readonly limit: number;
  /** Continue after this task (from the previous page). */
  readonly cursor: TaskCursor | undefined;
}

/** One page of a listing. */
export interface TaskPage {
  readonly records: readonly TaskRecord[];
  /** Where the next page starts; undefined on the last page. */
  readonly next: TaskCursor | undefined;
}

/** Whether (a, aId) comes before (b, bId) newest first. */
function newer(a: number, aId: string, b: number, bId: string): boolean {
  return a > b || (a === b && aId > bId);
}

/**
 * Collects one page of a listing from records offered in any order — what a store without an index
 * on submission time (the memory store) does: the cheap header fields (status, submission time) are
 * checked first, and a record is only loaded (decoded) when it can still enter the page.
 */
export class PageCollector {
  readonly #query: TaskQuery;
  readonly #statuses: ReadonlySet<TaskStatus> | undefined;
  /** Kept newest first, at most limit + 1 (one more tells whether a next page exists). */
  readonly #best: TaskRecord[] = [];
  readonly #keep: number;

  constructor(query: TaskQuery) {
    this.#query = query;
    this.#statuses = query.statuses.length > 0 ? new Set(query.statuses) : undefined;
    this.#keep = query.limit + 1;
  }

  /** Offers a record, by its header fields and a loader of the whole record. */
  offer(submittedAt: number, status: TaskStatus, load: () => TaskRecord): void {
    const query = this.#query;
    if (this.#statuses && !this.#statuses.has(status)) return;
    if (query.submittedAfter > 0 && submittedAt < query.submittedAfter) return;
    if (query.submittedBefore > 0 && submittedAt >= query.submittedBefore) return;
    const cursor = query.cursor;
    if (cursor && submittedAt > cursor.submittedAt) return;
    const best = this.#best;
    const full = best.length >= this.#keep;
    // Older than the oldest kept: it cannot enter (ties on time need the id, so they are loaded).
    if (full && submittedAt < best[best.length - 1]!.submittedAt) return;
    const record = load();
    if (cursor && !newer(cursor.submittedAt, cursor.taskId, record.submittedAt, record.taskId)) return;
    if (query.method !== '' && record.method !== query.method) return;
    if (query.idPrefix !== '' && !record.taskId.startsWith(query.idPrefix)) return;
    if (full && !newer(record.submittedAt, record.taskId, best[best.length - 1]!.submittedAt, best[best.length - 1]!.taskId)) return;
    let at = best.length;
    while (at > 0 && newer(record.submittedAt, record.taskId, best[at - 1]!.submittedAt, best[at - 1]!.taskId)) at--;
    best.splice(at, 0, record);
    if (best.length > this.#keep) best.pop();
  }

  /** The page: the newest `limit` records offered that match, and where the next page starts. */
  page(): TaskPage {
    const records = this.#best.slice(0, this.#query.limit);
    const last = records[records.length - 1];
    const next = this.#best.length > this.#query.limit && last ? { submittedAt: last.submittedAt, taskId: last.taskId } : undefined;
    return { records, next };
  }
}
