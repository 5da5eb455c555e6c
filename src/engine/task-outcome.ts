import {
  InvalidArgumentsError,
  PermanentError,
  RecordedFailureError,
  StatusCode,
  TaskCancelledError,
  TaskExecutionError,
  TaskSchedulerError,
  TaskTimeoutError,
  clip,
  describeThrown,
} from '../errors';
import type { TaskFailure, TaskRecord, TaskStatus } from '../results/task-record';
import type { TaskOutcome } from './scheduler-types';

/** The fields a terminal transition sets. */
export type Terminal = { status: TaskStatus; result: string; failure?: TaskFailure };

/** The error of a task that ran past its execution timeout. */
export function overtime(taskId: string, timeoutMs: number): TaskTimeoutError {
  return new TaskTimeoutError(`task '${clip(taskId)}' ran longer than its execution timeout of ${timeoutMs} ms`);
}

/**
 * The terminal state for an error. The stored result is the task's own message for errors the task
 * raised (SPEC §5c: no §4 prefix) and the full message for the engine's own (timeouts, cancellation…).
 */
export function failedWith(error: TaskSchedulerError, status: 'FAILED' | 'CANCELLED'): Terminal {
  const own = error instanceof InvalidArgumentsError || error instanceof TaskExecutionError ? error.detail : error.message;
  return { status, result: own, failure: { code: error.code, message: error.message } };
}

/** SUCCESS (and unfinished states for detached answers) → outcome; FAILED/CANCELLED → the recorded error. */
export function outcomeOf(record: TaskRecord): TaskOutcome {
  if (record.status === 'FAILED' || record.status === 'CANCELLED') {
    const failure = record.failure ?? { code: StatusCode.INTERNAL, message: `Task execution failed: ${record.result}` };
    throw new RecordedFailureError(failure.code, failure.message);
  }
  return { taskId: record.taskId, status: record.status, result: record.result, attempts: record.attempts };
}

/**
 * The terminal state of an attempt that failed with `cause` (what the task threw, or the abort reason
 * of its scope): the engine's own errors as they are, anything else a task threw as INTERNAL `Task
 * execution failed: <message>`.
 */
export function terminalOf(cause: unknown): Terminal {
  if (cause instanceof TaskCancelledError) return failedWith(cause, 'CANCELLED');
  if (cause instanceof TaskSchedulerError) return failedWith(cause, 'FAILED');
  return failedWith(new TaskExecutionError(describeThrown(cause), { cause }), 'FAILED');
}

/**
 * Whether a retry policy may run a task again after an attempt failed with `cause`: anything the task
 * threw, an execution timeout, a worker thread that died — but never invalid arguments, a
 * {@link PermanentError}, a cancellation, a shutdown or a store failure (the engine's own errors).
 */
export function isRetryable(cause: unknown): boolean {
  if (!(cause instanceof TaskSchedulerError)) return true;
  if (cause instanceof PermanentError) return false;
  return cause instanceof TaskExecutionError || cause instanceof TaskTimeoutError;
}
