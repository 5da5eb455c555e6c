import type { TaskProgress, TaskRecord, TaskStatus } from '../results/task-record';

/** Why a watch event was sent: the state when the watch began, a status change, or a progress report. */
export type TaskEventKind = 'INITIAL' | 'TRANSITION' | 'PROGRESS';

/** What `WatchTasks` streams: one task's state at one moment (the domain form of `TaskEvent`). */
export interface TaskEvent {
  readonly kind: TaskEventKind;
  readonly taskId: string;
  /** NOT_FOUND: the id is unknown (or evicted); the task counts as finished for the watch. */
  readonly status: TaskStatus | 'NOT_FOUND';
  /** The result (SUCCESS) or failure message (FAILED, CANCELLED); else empty. */
  readonly result: string;
  readonly attempts: number;
  /** Latest progress reported while running; undefined when none. */
  readonly progress: TaskProgress | undefined;
}

/** The event of `record` in its current state. */
export function eventOf(kind: TaskEventKind, record: TaskRecord): TaskEvent {
  return {
    kind,
    taskId: record.taskId,
    status: record.status,
    result: record.result,
    attempts: record.attempts,
    progress: record.progress,
  };
}

/** The INITIAL event of an id the server does not know. */
export function notFoundEvent(taskId: string): TaskEvent {
  return { kind: 'INITIAL', taskId, status: 'NOT_FOUND', result: '', attempts: 0, progress: undefined };
}
