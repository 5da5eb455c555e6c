import type Long from 'long';
import type { CallContext } from 'nice-grpc';
import {
  TaskResponse_Status,
  type CancelTaskRequest,
  type CancelTaskResponse,
  type ListTasksResponse,
  type ResultRequest,
  type ResultResponse,
  type TaskRequest,
  type TaskResponse,
  type TaskSchedulerServiceImplementation,
  type WaitResultRequest,
} from '../../generated/taskscheduler/task_scheduler';
import { decodeArgs, type DecodeLimits } from '../args/decode-arg';
import type { Scheduler } from '../engine/scheduler';
import type { TaskRecord, TaskStatus } from '../results/task-record';
import type { TaskRegistry } from '../tasks/task-registry';
import { MAX_DELAY_MS } from '../tasks/task-args';

/** What the service needs. */
export interface TaskSchedulerServiceDeps {
  readonly scheduler: Scheduler;
  readonly registry: TaskRegistry;
  readonly decodeLimits: DecodeLimits;
}

const TO_PROTO: Record<TaskStatus, TaskResponse_Status> = {
  PENDING: TaskResponse_Status.PENDING,
  RUNNING: TaskResponse_Status.RUNNING,
  SUCCESS: TaskResponse_Status.SUCCESS,
  FAILED: TaskResponse_Status.FAILED,
  CANCELLED: TaskResponse_Status.CANCELLED,
};

/**
 * Milliseconds from a uint64 field, capped at what a timer can wait (~24.8 days). Read from the two
 * 32-bit halves: `Long.greaterThan(number)` would build a Long per call (twice per submission).
 */
function millis(value: Long): number {
  if (value.high !== 0) return MAX_DELAY_MS;
  const low = value.low >>> 0;
  return low > MAX_DELAY_MS ? MAX_DELAY_MS : low;
}

function resultOf(record: TaskRecord | undefined): ResultResponse {
  return record
    ? { status: TO_PROTO[record.status], result: record.result }
    : { status: TaskResponse_Status.NOT_FOUND, result: '' };
}

/**
 * The gRPC face of the scheduler: maps generated messages to domain requests and back. Thin on
 * purpose — errors are thrown as domain errors and become statuses in `errorMiddleware`.
 */
export function createTaskSchedulerService(deps: TaskSchedulerServiceDeps): TaskSchedulerServiceImplementation<CallContext> {
  const { scheduler, registry, decodeLimits } = deps;
  return {
    async submitTask(request: TaskRequest): Promise<TaskResponse> {
      // SPEC §5c order: method, then args, then deps (in the scheduler).
      scheduler.resolveMethod(request.method);
      const args = decodeArgs(request.args, decodeLimits);
      const outcome = await scheduler.submit({
        taskId: request.taskId,
        method: request.method,
        args,
        deps: request.deps,
        detached: request.detached,
        dependencyTimeoutMs: millis(request.dependencyTimeoutMs),
        executionTimeoutMs: millis(request.executionTimeoutMs),
        injectDependencyResults: request.injectDependencyResults,
      });
      return { taskId: outcome.taskId, status: TO_PROTO[outcome.status], result: outcome.result };
    },

    async getResult(request: ResultRequest): Promise<ResultResponse> {
      return resultOf(await scheduler.getResult(request.taskId));
    },

    async waitResult(request: WaitResultRequest): Promise<ResultResponse> {
      return resultOf(await scheduler.waitResult(request.taskId, millis(request.timeoutMs)));
    },

    async cancelTask(request: CancelTaskRequest): Promise<CancelTaskResponse> {
      const outcome = await scheduler.cancel(request.taskId);
      return { cancelled: outcome.cancelled, status: resultOf(outcome.record).status };
    },

    async listTasks(): Promise<ListTasksResponse> {
      return {
        tasks: registry.list().map((task) => ({
          name: task.name,
          isAsync: task.kind === 'async',
          description: task.description,
          source: task.source,
        })),
      };
    },
  };
}
