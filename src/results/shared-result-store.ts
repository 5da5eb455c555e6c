import type { ResultStore } from './result-store';
import type { TaskRecord } from './task-record';

/**
 * A result store shared by several replicas (Redis). Besides records it carries what replicas need to
 * agree on a task that runs elsewhere: finish notifications, cancel requests and ownership. The
 * in-memory store does not implement it; the engine checks for it once, at construction.
 *
 * Ownership is implicit: a replica owns the unfinished records it `insert`s and stops owning them with
 * their terminal `update`. Only the owner may write a transition of an unfinished record; a terminal
 * record is never overwritten. If the owner stops renewing its lease, another replica ends its
 * unfinished records as FAILED `Owner replica lost: <replica>` (and notifies their waiters).
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
}

/** Whether `store` is shared by several replicas. */
export function isSharedResultStore(store: ResultStore): store is SharedResultStore {
  return typeof (store as Partial<SharedResultStore>).waitForFinish === 'function';
}
