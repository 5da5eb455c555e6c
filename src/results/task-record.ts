import type { StatusCode } from '../errors';

/** Lifecycle states of a task (SPEC §3). `NOT_FOUND` is not a state: it is the answer for unknown ids. */
export type TaskStatus = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLED';

/** True for SUCCESS, FAILED and CANCELLED. */
export function isFinished(status: TaskStatus): boolean {
  return status === 'SUCCESS' || status === 'FAILED' || status === 'CANCELLED';
}

/** How a failed or cancelled task answers a blocking caller: the gRPC status it replays. */
export interface TaskFailure {
  readonly code: StatusCode;
  /** The full client-visible status message (SPEC §4 prefix included). */
  readonly message: string;
}

/**
 * One task as the result store keeps it. Records are immutable: each transition stores a new one.
 * The fields are plain data (strings, numbers, arrays) so a networked store can serialise them as is.
 */
export interface TaskRecord {
  readonly taskId: string;
  readonly method: string;
  readonly deps: readonly string[];
  /** Identity of the decoded arguments (canonical JSON, or its digest when long): idempotency checks. */
  readonly argsDigest: string;
  readonly injectDependencyResults: boolean;
  readonly status: TaskStatus;
  /** The return value (SUCCESS) or the task's own failure message (FAILED/CANCELLED); else empty. */
  readonly result: string;
  /** Present when FAILED or CANCELLED. */
  readonly failure?: TaskFailure | undefined;
  /** Epoch milliseconds. */
  readonly submittedAt: number;
  readonly startedAt?: number | undefined;
  readonly finishedAt?: number | undefined;
}

/** The identity fields of a record (what idempotency compares). */
export type TaskIdentity = Pick<TaskRecord, 'method' | 'deps' | 'argsDigest' | 'injectDependencyResults'>;

// Records are built by these two functions only, with every field present in one order, so all records
// share one hidden class: compact (no dictionary-mode objects) and fast to read. Up to a million of
// them may sit in the store.

/** A new PENDING record. */
export function newRecord(taskId: string, identity: TaskIdentity, submittedAt: number): TaskRecord {
  return {
    taskId,
    method: identity.method,
    deps: identity.deps,
    argsDigest: identity.argsDigest,
    injectDependencyResults: identity.injectDependencyResults,
    status: 'PENDING',
    result: '',
    failure: undefined,
    submittedAt,
    startedAt: undefined,
    finishedAt: undefined,
  };
}

/** The next state of `record` (records are immutable). */
export function withState(
  record: TaskRecord,
  status: TaskStatus,
  result: string,
  failure: TaskFailure | undefined,
  startedAt: number | undefined,
  finishedAt: number | undefined,
): TaskRecord {
  return {
    taskId: record.taskId,
    method: record.method,
    deps: record.deps,
    argsDigest: record.argsDigest,
    injectDependencyResults: record.injectDependencyResults,
    status,
    result,
    failure,
    submittedAt: record.submittedAt,
    startedAt,
    finishedAt,
  };
}

/** Rough in-memory size of a record in bytes, for byte-bounded stores. */
export function estimateRecordBytes(record: TaskRecord): number {
  let chars = record.taskId.length + record.method.length + record.argsDigest.length + record.result.length;
  for (const dep of record.deps) chars += dep.length + 8;
  if (record.failure) chars += record.failure.message.length;
  // Measured (heap snapshots, bench scenario f): ~500 B per small record with its strings and the
  // LRU's bookkeeping; strings are counted at 2 bytes a character to stay on the safe side.
  return 2 * chars + 400;
}
