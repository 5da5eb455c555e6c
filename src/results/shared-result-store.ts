import type { ResultStore } from './result-store';
import type { TaskRecord } from './task-record';

/**
 * A result store shared by several replicas (Redis). Besides records it carries what replicas need to
 * agree on a task that runs elsewhere: finish notifications, cancel requests and ownership. The
 * in-memory store does not implement it; the engine checks for it once, at construction.
 *
 * Ownership is implicit: a replica owns the unfinished records it `insert`s and stops owning them with
 * their terminal `update`. Only the owner may write a transition of an unfinished record (a refused
 * unfinished transition throws); a terminal record is never overwritten. If the owner stops renewing
 * its lease, another replica takes over, atomically and alone, its records that can run again —
 * PENDING ones, and RUNNING ones with attempts left in their retry policy — and hands them to its
 * engine (`onTakeover`); it ends the others as FAILED `Owner replica lost: <replica>` (and notifies
 * their waiters).
 */
export interface SharedResultStore extends ResultStore {
  /** This replica's name in the shared store (and in `Owner replica lost` messages). */
  readonly replicaId: string;
  /**
   * The record of `taskId` once it has finished; the current record when `timeoutMs` passes first (or
   * undefined when unknown or evicted). Rejects with the signal's reason when it fires, and with a
   * StoreUnavailableError when the store cannot be reached. `timeoutMs` may be Infinity.
   */
  waitForFinish(taskId: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskRecord | undefined>;
  /** Asks every replica to cancel `taskId`; the one running it does (see `onCancelRequest`). */
  requestCancel(taskId: string): Promise<void>;
  /** Sets the handler of cancel requests (one per store; the engine that uses it). */
  onCancelRequest(handler: (taskId: string) => void): void;
  /**
   * Sets the handler of records taken over from a lost replica (now owned here), to run them again
   * (the engine's `recover`).
   */
  onTakeover(handler: (records: TaskRecord[], replica: string) => void): void;
}

/** Whether `store` is shared by several replicas. */
export function isSharedResultStore(store: ResultStore): store is SharedResultStore {
  return typeof (store as Partial<SharedResultStore>).waitForFinish === 'function';
}
