import type { StatusCode } from '../errors';
import type { RetryPolicy } from '../tasks/retry-policy';

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

/** A failed attempt of a task that was retried (or whose last attempt failed after retries). */
export interface AttemptError {
  /** 1-based. */
  readonly attempt: number;
  /** Epoch ms when the attempt ended. */
  readonly at: number;
  /** Its failure message (clipped to {@link MAX_ATTEMPT_ERROR_CHARS}). */
  readonly error: string;
  /** The gRPC status code the failure maps to (INTERNAL for what a task threw, DEADLINE_EXCEEDED…). */
  readonly code?: StatusCode | undefined;
}

/** Longest attempt error kept; and how many of the latest attempts keep theirs. */
export const MAX_ATTEMPT_ERROR_CHARS = 1_000;
export const MAX_ATTEMPT_ERRORS = 10;

/**
 * What it takes to run a task again in another process (after a restart, or on another replica):
 * kept on unfinished records by stores that outlive the process (`ResultStore.durable`), dropped
 * once the task has finished.
 */
export interface TaskSpec {
  /** Canonical JSON of the decoded arguments (`parseCanonicalJson` reads it back). */
  readonly argsJson: string;
  /** As requested; 0 = the server's default. */
  readonly dependencyTimeoutMs: number;
  /** As requested; 0 = the server's default. */
  readonly executionTimeoutMs: number;
  /** The policy in force (the request's, else the registration's); undefined: run once. */
  readonly retry: RetryPolicy | undefined;
  /** As requested; absent = 0. */
  readonly priority?: number | undefined;
  /** As requested; absent = none. */
  readonly concurrencyKey?: string | undefined;
  /** Dependencies not known yet are waited for (the request's, else the server's default); absent = false. */
  readonly awaitUnknownDeps?: boolean | undefined;
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
  /** When the latest attempt started. */
  readonly startedAt?: number | undefined;
  readonly finishedAt?: number | undefined;
  /** The request's retry policy as identity (`retryKeyOf`); '' when the request named none. */
  readonly retryKey: string;
  /** Attempts started so far. */
  readonly attempts: number;
  /** Errors of the latest failed attempts (at most {@link MAX_ATTEMPT_ERRORS}); undefined when none failed. */
  readonly attemptErrors: readonly AttemptError[] | undefined;
  /** Epoch ms before which the next attempt does not start (a retry's backoff); undefined: no wait. */
  readonly runAfter: number | undefined;
  /** Present on unfinished records of durable stores; see {@link TaskSpec}. */
  readonly spec: TaskSpec | undefined;
  /**
   * The W3C trace context the task's spans join (`traceparent`, then `\n` and `tracestate` when there
   * is one): its submitter's, kept so that a retry, a recovery after a restart, a replica that takes
   * it over and its dependents join the same trace. Undefined without tracing.
   */
  readonly trace: string | undefined;
  /**
   * The latest progress the task reported while unfinished (kept in this process's record, not
   * written to the store at each report); dropped when it finishes.
   */
  readonly progress: TaskProgress | undefined;
}

/** The latest progress a running task reported (`ctx.progress`). */
export interface TaskProgress {
  /** 0…1. */
  readonly fraction: number;
  readonly message: string;
}

/** The identity fields of a record (what idempotency compares). */
export type TaskIdentity = Pick<TaskRecord, 'method' | 'deps' | 'argsDigest' | 'injectDependencyResults' | 'retryKey'>;

// Records are built by these two functions only, with every field present in one order, so all records
// share one hidden class: compact (no dictionary-mode objects) and fast to read. Up to a million of
// them may sit in the store.

/** A new PENDING record; `spec` for durable stores. */
export function newRecord(taskId: string, identity: TaskIdentity, submittedAt: number, spec?: TaskSpec, trace?: string): TaskRecord {
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
    retryKey: identity.retryKey,
    attempts: 0,
    attemptErrors: undefined,
    runAfter: undefined,
    spec,
    trace,
    progress: undefined,
  };
}

/**
 * The next state of `record` (records are immutable). A finished record drops its spec and backoff;
 * attempts and their errors carry over (see {@link withAttempts} to change them).
 */
export function withState(
  record: TaskRecord,
  status: TaskStatus,
  result: string,
  failure: TaskFailure | undefined,
  startedAt: number | undefined,
  finishedAt: number | undefined,
  attempts = record.attempts,
  attemptErrors = record.attemptErrors,
  runAfter: number | undefined = undefined,
): TaskRecord {
  const finished = isFinished(status);
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
    retryKey: record.retryKey,
    attempts,
    attemptErrors,
    runAfter: finished ? undefined : runAfter,
    spec: finished ? undefined : record.spec,
    trace: record.trace,
    progress: finished ? undefined : record.progress,
  };
}

/** `record` with its latest progress report. */
export function withProgress(record: TaskRecord, progress: TaskProgress): TaskRecord {
  return { ...withState(record, record.status, record.result, record.failure, record.startedAt, record.finishedAt, record.attempts, record.attemptErrors, record.runAfter), progress };
}

/** `record` RUNNING its next attempt, started at `startedAt`. */
export function startedAttempt(record: TaskRecord, startedAt: number): TaskRecord {
  return withState(record, 'RUNNING', '', undefined, startedAt, undefined, record.attempts + 1);
}

/** `text` cut to at most `max` characters, `…` included, never inside a surrogate pair. */
function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return `${text.slice(0, end)}…`;
}

/** `record`'s errors with `error` of its latest attempt added (the oldest dropped beyond the bound). */
export function withAttemptError(record: TaskRecord, error: string, at: number, code?: StatusCode): readonly AttemptError[] {
  const entry: AttemptError = code === undefined
    ? { attempt: record.attempts, at, error: clipText(error, MAX_ATTEMPT_ERROR_CHARS) }
    : { attempt: record.attempts, at, error: clipText(error, MAX_ATTEMPT_ERROR_CHARS), code };
  const before = record.attemptErrors ?? [];
  return [...(before.length >= MAX_ATTEMPT_ERRORS ? before.slice(before.length - MAX_ATTEMPT_ERRORS + 1) : before), entry];
}

/** Rough in-memory size of a record in bytes, for byte-bounded stores. */
export function estimateRecordBytes(record: TaskRecord): number {
  let chars = record.taskId.length + record.method.length + record.argsDigest.length + record.result.length + record.retryKey.length;
  for (const dep of record.deps) chars += dep.length + 8;
  if (record.failure) chars += record.failure.message.length;
  if (record.attemptErrors) for (const entry of record.attemptErrors) chars += entry.error.length + 40;
  if (record.spec) chars += record.spec.argsJson.length + 40;
  // Measured (heap snapshots, bench scenario f): ~500 B per small record with its strings and the
  // LRU's bookkeeping; strings are counted at 2 bytes a character to stay on the safe side.
  return 2 * chars + 400;
}
