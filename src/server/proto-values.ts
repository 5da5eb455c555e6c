import type Long from 'long';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import type { TaskStatus } from '../results/task-record';

/** A task state as the wire says it. */
export const STATUS_TO_PROTO: Readonly<Record<TaskStatus, TaskResponse_Status>> = Object.freeze({
  PENDING: TaskResponse_Status.PENDING,
  RUNNING: TaskResponse_Status.RUNNING,
  SUCCESS: TaskResponse_Status.SUCCESS,
  FAILED: TaskResponse_Status.FAILED,
  CANCELLED: TaskResponse_Status.CANCELLED,
});

/** The task state of a wire status; undefined for NOT_FOUND (not a state) and unknown values. */
export const STATUS_FROM_PROTO: Readonly<Partial<Record<TaskResponse_Status, TaskStatus>>> = Object.freeze({
  [TaskResponse_Status.PENDING]: 'PENDING',
  [TaskResponse_Status.RUNNING]: 'RUNNING',
  [TaskResponse_Status.SUCCESS]: 'SUCCESS',
  [TaskResponse_Status.FAILED]: 'FAILED',
  [TaskResponse_Status.CANCELLED]: 'CANCELLED',
});

/**
 * A uint64 field as a number, for validation and bounds: exact up to 2^53; larger values clamp to
 * `Number.MAX_SAFE_INTEGER` (they are over any limit or time this server knows).
 */
export function uint64Number(value: Long): number {
  return value.high === 0 ? value.low >>> 0 : Math.min(Number.MAX_SAFE_INTEGER, value.toNumber());
}
