import Long from 'long';
import {
  TaskResponse_Status,
  type ListSubmittedTasksRequest,
  type ListSubmittedTasksResponse,
  type SubmittedTask,
} from '../../generated/taskscheduler/task_scheduler';
import { InvalidArgumentsError, clip } from '../errors';
import type { TaskCursor, TaskPage, TaskQuery } from '../results/task-query';
import type { TaskRecord, TaskStatus } from '../results/task-record';

/** Page size of a ListSubmittedTasks request that names none, and the largest accepted. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;
/** Characters of a result a listing shows (GetResult has it whole). */
export const LISTED_RESULT_CHARS = 1_024;

const FROM_PROTO: Partial<Record<TaskResponse_Status, TaskStatus>> = {
  [TaskResponse_Status.PENDING]: 'PENDING',
  [TaskResponse_Status.RUNNING]: 'RUNNING',
  [TaskResponse_Status.SUCCESS]: 'SUCCESS',
  [TaskResponse_Status.FAILED]: 'FAILED',
  [TaskResponse_Status.CANCELLED]: 'CANCELLED',
};

const TO_PROTO: Record<TaskStatus, TaskResponse_Status> = {
  PENDING: TaskResponse_Status.PENDING,
  RUNNING: TaskResponse_Status.RUNNING,
  SUCCESS: TaskResponse_Status.SUCCESS,
  FAILED: TaskResponse_Status.FAILED,
  CANCELLED: TaskResponse_Status.CANCELLED,
};

/** A uint64 epoch-ms field as a number (values beyond 2^53 ms are far past any submission). */
function epochMs(value: Long): number {
  return value.high === 0 ? value.low >>> 0 : Math.min(Number.MAX_SAFE_INTEGER, value.toNumber());
}

/** The domain query of a request; throws INVALID_ARGUMENT naming a bad field. */
export function queryOf(request: ListSubmittedTasksRequest): TaskQuery {
  const statuses = request.statuses.map((status, i) => {
    const known = FROM_PROTO[status];
    if (!known) throw new InvalidArgumentsError(`statuses[${i}]: ${TaskResponse_Status[status] ?? status} is not a task state (PENDING, RUNNING, SUCCESS, FAILED or CANCELLED)`);
    return known;
  });
  if (request.pageSize > MAX_PAGE_SIZE) throw new InvalidArgumentsError(`page_size ${request.pageSize} is over the limit of ${MAX_PAGE_SIZE}`);
  const submittedAfter = epochMs(request.submittedAfterMs);
  const submittedBefore = epochMs(request.submittedBeforeMs);
  if (submittedAfter > 0 && submittedBefore > 0 && submittedBefore <= submittedAfter) {
    throw new InvalidArgumentsError(`submitted_before_ms ${submittedBefore} is not after submitted_after_ms ${submittedAfter}`);
  }
  return {
    statuses,
    method: request.method,
    idPrefix: request.taskIdPrefix,
    submittedAfter,
    submittedBefore,
    limit: request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize,
    cursor: request.pageToken === '' ? undefined : cursorOf(request.pageToken),
  };
}

/** The answer for a page. */
export function responseOf(page: TaskPage): ListSubmittedTasksResponse {
  return { tasks: page.records.map(submittedTaskOf), nextPageToken: page.next ? tokenOf(page.next) : '' };
}

function submittedTaskOf(record: TaskRecord): SubmittedTask {
  const truncated = record.result.length > LISTED_RESULT_CHARS;
  return {
    taskId: record.taskId,
    method: record.method,
    status: TO_PROTO[record.status],
    result: truncated ? record.result.slice(0, LISTED_RESULT_CHARS) : record.result,
    resultTruncated: truncated,
    attempts: record.attempts,
    deps: [...record.deps],
    submittedAtMs: Long.fromNumber(record.submittedAt, true),
    startedAtMs: Long.fromNumber(record.startedAt ?? 0, true),
    finishedAtMs: Long.fromNumber(record.finishedAt ?? 0, true),
  };
}

/** A page token: where the page ended, as base64url JSON (opaque to clients). */
function tokenOf(cursor: TaskCursor): string {
  return Buffer.from(JSON.stringify([cursor.submittedAt, cursor.taskId])).toString('base64url');
}

function cursorOf(token: string): TaskCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) && typeof parsed[1] === 'string') {
      return { submittedAt: parsed[0] as number, taskId: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw new InvalidArgumentsError(`page_token '${clip(token)}' is not one this server gave out (pass next_page_token of the previous answer)`);
}
