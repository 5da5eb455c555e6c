import type { ScheduleStore } from '../scheduling/schedule-store';
import type { TaskPage, TaskQuery } from './task-query';
import type { TaskRecord } from './task-record';

/** Counts a store reports for metrics and dashboards. */
export interface ResultStoreStats {
  /** Records held. */
  readonly count: number;
  /** Approximate bytes held (0 when the store cannot tell). */
  readonly bytes: number;
}

/**
 * Where task records live. Async throughout so that a networked store (Redis) slots in behind it
 * without touching the engine. Implementations evict by their own bounds (count, bytes, TTL); an
 * evicted record simply reads as absent.
 */
export interface ResultStore {
  /**
   * Whether records outlive this process (SQLite, Redis). The engine then stores what it takes to run
   * a task again (`TaskRecord.spec`), stores RUNNING before an attempt runs (so a crash cannot make a
   * task without attempts left run twice) and leaves unstarted tasks PENDING at shutdown.
   */
  readonly durable: boolean;
  /**
   * Every unfinished (PENDING or RUNNING) record, for recovery at start. Present on durable stores of
   * one process (SQLite); a shared store (Redis) hands over a lost replica's tasks instead.
   */
  unfinished?(): Promise<TaskRecord[]>;
  /** The record of `taskId`, or undefined when unknown or evicted. */
  get(taskId: string): Promise<TaskRecord | undefined>;
  /**
   * About how many bytes `get(taskId)` would return, when the store can tell at once without reading
   * the record (the memory store's record log); undefined otherwise. Lets the server refuse a response
   * it could not send before it pays for reading it (`server/response-buffers.ts`).
   */
  recordBytes?(taskId: string): number | undefined;
  /** The records of `taskIds`, in order (undefined where unknown): one read for a batch (Redis: MGET). */
  getMany(taskIds: readonly string[]): Promise<Array<TaskRecord | undefined>>;
  /**
   * Stores `record` unless a record with its id exists — atomically — and returns the existing record
   * in that case (undefined when `record` was stored). This is what makes task ids idempotent.
   */
  insert(record: TaskRecord): Promise<TaskRecord | undefined>;
  /**
   * A batch's {@link insert}, all or nothing, atomically (one transaction, one script): stores every
   * record when none of their ids exists, else stores none and returns the records that exist.
   */
  insertMany(records: readonly TaskRecord[]): Promise<TaskRecord[]>;
  /** Stores `record` over any existing record with its id (a lifecycle transition). */
  update(record: TaskRecord): Promise<void>;
  /** One page of the records submitted (newest first), filtered as `query` says. */
  list(query: TaskQuery): Promise<TaskPage>;
  /** Removes a record; returns whether it was there. */
  delete(taskId: string): Promise<boolean>;
  /** Current counts. */
  stats(): Promise<ResultStoreStats>;
  /** Where recurring schedules persist beside the records (SQLite, Redis); absent: in memory until restart. */
  readonly schedules?: ScheduleStore;
  /** Releases timers and connections. */
  close(): Promise<void>;
}
