import { StoreUnavailableError, clip } from '../errors';
import type { SharedResultStore } from '../results/shared-result-store';
import { isFinished, type TaskRecord } from '../results/task-record';
import type { CancelOutcome } from './scheduler-types';

/** How long CancelTask waits for another replica to end the task it asked to cancel. */
const REMOTE_CANCEL_WAIT_MS = 5_000;

/**
 * Tasks unfinished in a shared store (Redis) but running on another replica: waiting for their
 * outcome, and cancelling them where they run. With a store of one process, every unfinished record
 * is in flight here and none of this is used.
 */
export class RemoteTasks {
  readonly #shared: SharedResultStore;

  constructor(shared: SharedResultStore) {
    this.#shared = shared;
  }

  /**
   * The record of a task unfinished on another replica once it has finished (or its current record
   * when `timeoutMs` passes first). Throws a StoreUnavailableError if the record vanishes meanwhile.
   */
  async finished(record: TaskRecord, timeoutMs: number, signal: AbortSignal | undefined): Promise<TaskRecord> {
    const final = await this.#shared.waitForFinish(record.taskId, timeoutMs, signal);
    if (!final) throw new StoreUnavailableError(`task '${clip(record.taskId)}' vanished from the store while it was awaited (expired, or Redis lost its data)`);
    return final;
  }

  /** WaitResult of a task not in flight here: it may be unfinished on another replica. */
  async wait(taskId: string, ms: number): Promise<TaskRecord | undefined> {
    const record = await this.#shared.get(taskId);
    if (!record || isFinished(record.status)) return record;
    return this.#shared.waitForFinish(taskId, ms);
  }

  /** CancelTask of a task not in flight here: asks its replica to cancel it and waits (briefly) for the outcome. */
  async cancel(taskId: string): Promise<CancelOutcome> {
    const record = await this.#shared.get(taskId);
    if (!record || isFinished(record.status)) return { cancelled: false, record };
    await this.#shared.requestCancel(taskId);
    const final = await this.#shared.waitForFinish(taskId, REMOTE_CANCEL_WAIT_MS);
    return { cancelled: final?.status === 'CANCELLED', record: final };
  }
}
