import type { DeepPartial, TaskRequest, TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { TaskEvent_Kind, TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';

/** A task's status as the helpers report it. */
export type WorkflowStatus = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLED' | 'NOT_FOUND';

/** One task of a `submitTasks` answer. */
export interface SubmittedWorkflowTask {
  readonly taskId: string;
  readonly status: WorkflowStatus;
}

/** One event of `watchTasks`: the task's state when the watch began, a transition, or a progress report. */
export interface WorkflowEvent {
  readonly kind: 'initial' | 'transition' | 'progress';
  readonly taskId: string;
  readonly status: WorkflowStatus;
  /** The result (SUCCESS) or failure message (FAILED, CANCELLED). */
  readonly result: string;
  readonly attempts: number;
  /** Latest progress reported (0…1) and its message. */
  readonly progress: number;
  readonly progressMessage: string;
  /** SUCCESS, FAILED, CANCELLED or NOT_FOUND: nothing more comes for this task. */
  readonly finished: boolean;
}

const STATUS: Readonly<Record<number, WorkflowStatus>> = {
  [TaskResponse_Status.PENDING]: 'PENDING',
  [TaskResponse_Status.RUNNING]: 'RUNNING',
  [TaskResponse_Status.SUCCESS]: 'SUCCESS',
  [TaskResponse_Status.FAILED]: 'FAILED',
  [TaskResponse_Status.CANCELLED]: 'CANCELLED',
  [TaskResponse_Status.NOT_FOUND]: 'NOT_FOUND',
};

const KIND: Readonly<Record<number, WorkflowEvent['kind']>> = {
  [TaskEvent_Kind.INITIAL]: 'initial',
  [TaskEvent_Kind.TRANSITION]: 'transition',
  [TaskEvent_Kind.PROGRESS]: 'progress',
};

function statusOf(status: TaskResponse_Status): WorkflowStatus {
  return STATUS[status] ?? 'PENDING';
}

/**
 * Submits tasks together with `SubmitTasks` (all or none; each detached): deps may name tasks of the
 * same list in any order. Resolves with each task's id (server-assigned ones included) and status, in
 * order; rejects with the call's error (INVALID_ARGUMENT naming the bad task's index and id).
 */
export async function submitTasks(
  client: TaskSchedulerClient,
  tasks: ReadonlyArray<DeepPartial<TaskRequest>>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<SubmittedWorkflowTask[]> {
  const answer = await client.submitTasks({ tasks: [...tasks] }, options.signal ? { signal: options.signal } : {});
  return answer.tasks.map((task) => ({ taskId: task.taskId, status: statusOf(task.status) }));
}

/**
 * Follows tasks with `WatchTasks`: each task's current state first, then its transitions (and
 * progress), until all have finished; break out of the loop (or abort `signal`) to stop early.
 *
 * @example
 * for await (const event of watchTasks(client, ids)) if (event.finished) console.log(event.taskId, event.status, event.result);
 */
export async function* watchTasks(
  client: TaskSchedulerClient,
  taskIds: readonly string[],
  options: { readonly signal?: AbortSignal } = {},
): AsyncGenerator<WorkflowEvent, void, undefined> {
  const stream = client.watchTasks({ taskIds: [...taskIds] }, options.signal ? { signal: options.signal } : {});
  for await (const message of stream) {
    for (const event of message.events) {
      const status = statusOf(event.status);
      yield {
        kind: KIND[event.kind] ?? 'transition',
        taskId: event.taskId,
        status,
        result: event.result,
        attempts: event.attempts,
        progress: event.progress?.fraction ?? 0,
        progressMessage: event.progress?.message ?? '',
        finished: status === 'SUCCESS' || status === 'FAILED' || status === 'CANCELLED' || status === 'NOT_FOUND',
      };
    }
  }
}
