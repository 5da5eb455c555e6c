import type Long from 'long';
import type { CallContext } from 'nice-grpc';
import {
  TaskResponse_Status,
  type CancelTaskRequest,
  type CancelTaskResponse,
  type ListSubmittedTasksRequest,
  type ListSubmittedTasksResponse,
  type ListTasksResponse,
  type SubmitTasksRequest,
  type SubmitTasksResponse,
  type TaskEvent,
  TaskEvent_Kind,
  type WatchTasksRequest,
  type WatchTasksResponse,
  type ResultRequest,
  type ResultResponse,
  type RetryPolicy,
  type TaskRequest,
  type TaskResponse,
  type TaskSchedulerServiceImplementation,
  type WaitResultRequest,
} from '../../generated/taskscheduler/task_scheduler';
import { decodeArgs, type DecodeLimits } from '../args/decode-arg';
import { DEFAULT_MAX_BATCH_TASKS } from '../engine/batch-acceptance';
import type { Scheduler, SubmitRequest } from '../engine/scheduler';
import type { TaskEvent as DomainTaskEvent, TaskEventKind } from '../engine/task-events';
import { InvalidArgumentsError, TaskSchedulerError, clip } from '../errors';
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
  /** Most tasks in one SubmitTasks (`--max-batch-tasks`). */
  readonly maxBatchTasks?: number;
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

const NOT_FOUND: ResultResponse = Object.freeze({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0, progress: undefined });

function resultOf(record: TaskRecord | undefined): ResultResponse {
  if (!record) return NOT_FOUND;
  const progress = record.progress;
  return { status: STATUS_TO_PROTO[record.status], result: record.result, attempts: record.attempts, progress: progress && { fraction: progress.fraction, message: progress.message } };
}

const EVENT_KIND: Readonly<Record<TaskEventKind, TaskEvent_Kind>> = { INITIAL: TaskEvent_Kind.INITIAL, TRANSITION: TaskEvent_Kind.TRANSITION, PROGRESS: TaskEvent_Kind.PROGRESS };

function eventMessage(event: DomainTaskEvent): TaskEvent {
  return {
    taskId: event.taskId,
    status: event.status === 'NOT_FOUND' ? TaskResponse_Status.NOT_FOUND : STATUS_TO_PROTO[event.status],
    result: event.result,
    attempts: event.attempts,
    progress: event.progress,
    kind: EVENT_KIND[event.kind],
  };
}

/** Checks a TaskRequest and maps it to the domain's, or submits it: SubmitTask's work, shared with schedule fires. */
export interface TaskSubmitter {
  /** Throws the error SubmitTask would answer for a malformed request (method, args, deps, limits). */
  check(request: TaskRequest): SubmitRequest;
  /** {@link check} with the trace context given (SubmitTasks reads the call's once for the batch). */
  decode(request: TaskRequest, trace: string | undefined, fromCaller: boolean | undefined): SubmitRequest;
  submit(request: TaskRequest): Promise<TaskResponse>;
}

export function createTaskSubmitter(deps: TaskSchedulerServiceDeps): TaskSubmitter {
  const { scheduler, decodeLimits, traceOfCall } = deps;
  const { maxArgs, maxDeps, maxTaskIdLength, maxDependencyTimeoutMs, maxExecutionTimeoutMs } = deps.requestLimits ?? DEFAULT_REQUEST_LIMITS;
  const decode = (request: TaskRequest, trace: string | undefined, fromCaller: boolean | undefined): SubmitRequest => {
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
      // false on the wire means "the server's default".
      awaitUnknownDeps: request.awaitUnknownDeps ? true : undefined,
      trace,
      fromCaller,
      // Checked by the scheduler (INVALID_ARGUMENT naming the field); two Long tests when unset.
      startAtMs: request.startAtMs.isZero() ? 0 : uint64Number(request.startAtMs),
      delayMs: request.delayMs.isZero() ? 0 : request.delayMs.toNumber(),
      priority: request.priority,
      concurrencyKey: request.concurrencyKey,
    };
  };
  const check = (request: TaskRequest): SubmitRequest => {
    const traced = traceOfCall?.();
    return decode(request, traced?.trace, traced?.fromCaller);
  };
  return {
    check,
    decode,
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
  const { scheduler, registry, traceOfCall } = deps;
  const submitter = createTaskSubmitter(deps);
  const parked = new ParkedWaits(deps.waitLimits ?? DEFAULT_WAIT_LIMITS);
  const maxBatchTasks = deps.maxBatchTasks ?? DEFAULT_MAX_BATCH_TASKS;

  return {
    submitTask(request: TaskRequest): Promise<TaskResponse> {
      return submitter.submit(request);
    },

    async submitTasks(request: SubmitTasksRequest): Promise<SubmitTasksResponse> {
      // The count is checked by the scheduler too; checked here first so that 10 million tasks are not decoded.
      if (request.tasks.length > maxBatchTasks) throw new InvalidArgumentsError(`${request.tasks.length} tasks is over the limit of ${maxBatchTasks} (--max-batch-tasks)`);
      const tasks = request.tasks.map((task, i) => {
        try {
          return { ...submitter.decode(task, undefined, undefined), detached: true };
        } catch (err) {
          throw err instanceof TaskSchedulerError ? new InvalidArgumentsError(`tasks[${i}]${task.taskId === '' ? '' : ` (task_id '${clip(task.taskId)}')`}: ${err instanceof InvalidArgumentsError ? err.detail : err.message}`) : err;
        }
      });
      const traced = traceOfCall?.();
      const outcomes = await scheduler.submitBatch({ tasks, trace: traced?.trace, fromCaller: traced?.fromCaller });
      return { tasks: outcomes.map((outcome) => ({ taskId: outcome.taskId, status: STATUS_TO_PROTO[outcome.status], result: outcome.result, attempts: outcome.attempts })) };
    },

    async *watchTasks(request: WatchTasksRequest, context: CallContext): AsyncGenerator<WatchTasksResponse> {
      const watch = scheduler.watch(request.taskIds);
      const stop = () => watch.close();
      context.signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const events of watch) yield { events: events.map(eventMessage) };
      } finally {
        context.signal.removeEventListener('abort', stop);
        watch.close();
      }
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
      const outcome = await scheduler.cancel(request.taskId, request.cancelDependents);
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
