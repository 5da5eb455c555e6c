import { InvalidArgumentsError, RecordedFailureError, StatusCode, TaskExecutionError, TaskTimeoutError, clip, type TaskSchedulerError } from '../errors';
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
  return { taskId: record.taskId, status: record.status, result: record.result };
}
