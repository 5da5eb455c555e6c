/**
 * Task Scheduler's public API: task registration, argument types and packing, the typed client, and
 * the builders for embedding the server.
 */
export * from './args';
/** The 64-bit integer class of `int64`/`uint64` arguments (`long`), so task modules need no copy of their own. */
export { default as Long } from 'long';
/** What a failed call rejects with (`.code`, `.details`), and the status codes, for clients. */
export { ClientError, Status } from 'nice-grpc';
export { InvalidArgumentsError, PermanentError, StoreUnavailableError, TaskSchedulerError, StatusCode } from './errors';
export { normalizeRetryPolicy, retryDelayMs, type RetryPolicy, type RetryPolicyInput } from './tasks/retry-policy';
export type { AbortListener, TaskContext } from './tasks/task-context';
export {
  asyncTask,
  syncTask,
  defaultRegistry,
  TaskRegistry,
  type AsyncTaskFn,
  type SyncTaskFn,
  type TaskDefinition,
  type TaskOptions,
  type TaskSource,
} from './tasks/task-registry';
export type { PluginApi, TaskPlugin, PluginTaskOptions } from './plugins/load-plugins';
export { createTaskSchedulerClient, type ClientOptions, type TaskSchedulerConnection } from './client/create-client';
export { submitTasks, watchTasks, type SubmittedWorkflowTask, type WorkflowEvent, type WorkflowStatus } from './client/workflows';
export { buildApp, createBuiltinRegistry, DEFAULT_APP_CONFIG, type App, type AppConfig, type AppDeps } from './app';
export { createScheduler, type Scheduler, type SubmitRequest, type TaskOutcome } from './engine/scheduler';
export type { ResultStore, ResultStoreStats } from './results/result-store';
export type { TaskRecord, TaskStatus } from './results/task-record';
export { MemoryResultStore } from './results/memory-result-store';
export { RedisResultStore, type RedisResultStoreOptions } from './results/redis-result-store';
export { isSharedResultStore, type SharedResultStore } from './results/shared-result-store';
export type { Logger } from './logging/logger';
export * from '../generated/taskscheduler/task_scheduler';
export {
  MissedFirePolicy,
  TaskSchedulerAdminDefinition,
  type TaskSchedulerAdminClient,
  type Schedule,
  type CreateScheduleRequest,
  type QueueStatsResponse,
  type MethodQueueStats,
  type KeyQueueStats,
  type PauseMethodResponse,
} from '../generated/taskscheduler/task_scheduler_admin';
