import type Long from 'long';
import type { CallContext } from 'nice-grpc';
import {
  TaskResponse_Status,
  type CancelTaskRequest,
  type CancelTaskResponse,
  type ListSubmittedTasksRequest,
  type ListSubmittedTasksResponse,
  type ListTasksResponse,
  type ResultRequest,
  type ResultResponse,
  type RetryPolicy,
  type TaskRequest,
  type TaskResponse,
  type TaskSchedulerServiceImplementation,
  type WaitResultRequest,
} from '../../generated/taskscheduler/task_scheduler';
import { decodeArgs, type DecodeLimits } from '../args/decode-arg';
import type { Scheduler, SubmitRequest } from '../engine/scheduler';
import type { TaskRecord } from '../results/task-record';
import type { TaskRegistry } from '../tasks/task-registry';
import { MAX_DELAY_MS } from '../tasks/task-args';
import type { RetryPolicyInput } from '../tasks/retry-policy';
import { STATUS_TO_PROTO, uint64Number } from './proto-values';
import { queryOf, responseOf } from './submitted-tasks';
import { checkArgCount, checkDeps, checkTaskId, checkTimeout, DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits';
import { DEFAULT_WAIT_LIMITS, ParkedWaits, type WaitLimits } from './parked-waits';
import { isFinished } from '../results/task-record';

/** What the service needs. */
export interface TaskSchedulerServiceDeps {
  readonly scheduler: Scheduler;
  readonly registry: TaskRegistry;
  readonly decodeLimits: DecodeLimits;
  /** Default {@link DEFAULT_REQUEST_LIMITS}. */
  readonly requestLimits?: RequestLimits;
  /** Caps on parked WaitResult calls; default {@link DEFAULT_WAIT_LIMITS}. */
  readonly waitLimits?: WaitLimits;
  /** With tracing on: the trace context of the call being served (kept on the task's record). */
  readonly traceOfCall?: () => { readonly trace: string | undefined; readonly fromCaller: boolean };
}

/**
 * Milliseconds from a uint64 field, capped at what a timer can wait (~24.8 days). Read from the two
 * 32-bit halves: `Long.greaterThan(number)` would build a Long per call (twice per submission).
 */
function millis(value: Long): number {
  if (value.high !== 0) return MAX_DELAY_MS;
  const low = value.low >>> 0;
  return low > MAX_DELAY_MS ? MAX_DELAY_MS : low;
}

/** The domain form of a request's retry policy (validated by the scheduler). */
function retryPolicyOf(policy: RetryPolicy | undefined): RetryPolicyInput | undefined {
  if (!policy) return undefined;
  return {
    maxAttempts: policy.maxAttempts,
    initialBackoffMs: uint64Number(policy.initialBackoffMs),
    maxBackoffMs: uint64Number(policy.maxBackoffMs),
    backoffMultiplier: policy.backoffMultiplier,
  };
}

const NOT_FOUND: ResultResponse = Object.freeze({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });

function resultOf(record: TaskRecord | undefined): ResultResponse {
  return record ? { status: STATUS_TO_PROTO[record.status], result: record.result, attempts: record.attempts } : NOT_FOUND;
}

/** Checks a TaskRequest and maps it to the domain's, or submits it: SubmitTask's work, shared with schedule fires. */
export interface TaskSubmitter {
  /** Throws the error SubmitTask would answer for a malformed request (method, args, deps, limits). */
  check(request: TaskRequest): SubmitRequest;
  submit(request: TaskRequest): Promise<TaskResponse>;
}

export function createTaskSubmitter(deps: TaskSchedulerServiceDeps): TaskSubmitter {
  const { scheduler, decodeLimits, traceOfCall } = deps;
  const { maxArgs, maxDeps, maxTaskIdLength, maxDependencyTimeoutMs, maxExecutionTimeoutMs } = deps.requestLimits ?? DEFAULT_REQUEST_LIMITS;
  const check = (request: TaskRequest): SubmitRequest => {
    // SPEC §5c order: method, then args, then deps (in the scheduler). The limit checks are number
    // comparisons; their messages are built only when one fails.
    scheduler.resolveMethod(request.method);
    if (request.taskId.length > maxTaskIdLength) checkTaskId(request.taskId, maxTaskIdLength);
    if (request.args.length > maxArgs) checkArgCount(request.args.length, maxArgs);
    const args = decodeArgs(request.args, decodeLimits);
    checkDeps(request.deps, maxDeps, maxTaskIdLength);
    const dependencyTimeoutMs = millis(request.dependencyTimeoutMs);
    if (dependencyTimeoutMs > maxDependencyTimeoutMs) checkTimeout('dependency_timeout_ms', request.dependencyTimeoutMs, maxDependencyTimeoutMs, '--max-dependency-timeout-ms');
    const executionTimeoutMs = millis(request.executionTimeoutMs);
    if (executionTimeoutMs > maxExecutionTimeoutMs) checkTimeout('execution_timeout_ms', request.executionTimeoutMs, maxExecutionTimeoutMs, '--max-execution-timeout-ms');
    const traced = traceOfCall?.();
    return {
      taskId: request.taskId,
      method: request.method,
      args,
      deps: request.deps,
      detached: request.detached,
      dependencyTimeoutMs,
      executionTimeoutMs,
      injectDependencyResults: request.injectDependencyResults,
      retryPolicy: retryPolicyOf(request.retryPolicy),
      trace: traced?.trace,
      fromCaller: traced?.fromCaller,
      // Checked by the scheduler (INVALID_ARGUMENT naming the field); two Long tests when unset.
      startAtMs: request.startAtMs.isZero() ? 0 : uint64Number(request.startAtMs),
      delayMs: request.delayMs.isZero() ? 0 : request.delayMs.toNumber(),
      priority: request.priority,
      concurrencyKey: request.concurrencyKey,
    };
  };
  return {
    check,
    async submit(request: TaskRequest): Promise<TaskResponse> {
      const outcome = await scheduler.submit(check(request));
      return { taskId: outcome.taskId, status: STATUS_TO_PROTO[outcome.status], result: outcome.result, attempts: outcome.attempts };
    },
  };
}

/**
 * The gRPC face of the scheduler: maps generated messages to domain requests and back. Thin on
 * purpose — errors are thrown as domain errors and become statuses in `errorMiddleware`.
 */
export function createTaskSchedulerService(deps: TaskSchedulerServiceDeps): TaskSchedulerServiceImplementation<CallContext> {
  const { scheduler, registry } = deps;
  const submitter = createTaskSubmitter(deps);
  const parked = new ParkedWaits(deps.waitLimits ?? DEFAULT_WAIT_LIMITS);
  return {
    submitTask(request: TaskRequest): Promise<TaskResponse> {
      return submitter.submit(request);
    },

    // Lookups take any id: one longer than the limit was never stored, so it is simply NOT_FOUND.
    async getResult(request: ResultRequest): Promise<ResultResponse> {
      return resultOf(await scheduler.getResult(request.taskId));
    },

    // Capped in all and per connection (the peer names it). At a cap, a finished task's result is still
    // answered: only a call that would park is refused.
    async waitResult(request: WaitResultRequest, context: CallContext): Promise<ResultResponse> {
      const peer = context.peer;
      try {
        parked.enter(peer);
      } catch (err) {
        const record = await scheduler.getResult(request.taskId);
        if (record && isFinished(record.status)) return resultOf(record);
        throw err;
      }
      try {
        return resultOf(await scheduler.waitResult(request.taskId, millis(request.timeoutMs)));
      } finally {
        parked.leave(peer);
      }
    },

    async cancelTask(request: CancelTaskRequest): Promise<CancelTaskResponse> {
      const outcome = await scheduler.cancel(request.taskId);
      return { cancelled: outcome.cancelled, status: resultOf(outcome.record).status };
    },

    async listSubmittedTasks(request: ListSubmittedTasksRequest): Promise<ListSubmittedTasksResponse> {
      return responseOf(await scheduler.listSubmitted(queryOf(request)));
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
