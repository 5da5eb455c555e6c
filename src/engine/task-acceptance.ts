import { canonicalJson } from '../args/canonical-json';
import { InvalidArgumentsError, MethodNotFoundError, clip } from '../errors';
import { newRecord, withState, type TaskIdentity, type TaskRecord, type TaskSpec } from '../results/task-record';
import { normalizeRetryPolicy, retryKeyOf } from '../tasks/retry-policy';
import type { TaskDefinition, TaskRegistry } from '../tasks/task-registry';
import type { DependencyState, TaskRun } from './in-flight-task';
import { checkScheduling } from './queue/start-time';
import type { SubmitRequest } from './scheduler-types';
import { digestOfCanonicalJson } from './task-identity';
import { newTaskId } from './task-id';

/** Shared by every record without dependencies (most of them): one array, not one per task. */
export const NO_DEPS: readonly string[] = Object.freeze([]);

/**
 * A submission checked on its own (method, retry policy, self-dependency) and turned into what the
 * engine keeps: its id (assigned when the request had none), identity and run. Used by `SubmitTask`
 * and, task by task, by `SubmitTasks` (batch-acceptance.ts); nothing here touches shared state.
 */
export interface PreparedTask {
  readonly taskId: string;
  /** Whether the id came from the client (it may exist already: idempotency applies). */
  readonly clientId: boolean;
  readonly definition: TaskDefinition;
  readonly identity: TaskIdentity;
  readonly run: TaskRun;
  /** Epoch ms before which it must not start (`start_at_ms`/`delay_ms`); undefined: at once. */
  readonly runAfter: number | undefined;
}

/** The task registered as `method`; throws INVALID_ARGUMENT for an empty name, NOT_FOUND if unknown. */
export function resolveMethod(registry: TaskRegistry, method: string): TaskDefinition {
  if (method === '') throw new InvalidArgumentsError('method is empty: name a registered task, e.g. "add"');
  const definition = registry.get(method);
  if (!definition) throw new MethodNotFoundError(method);
  return definition;
}

/** The server's bounds and defaults a submission is prepared with. */
export interface AcceptanceSettings {
  /** Largest `max_attempts` a retry policy may ask for. */
  readonly maxAttempts: number;
  /** Latest start time a request may ask for, ms ahead. */
  readonly maxAheadMs: number;
  /** Default of a request's `awaitUnknownDeps` (`--await-unknown-deps`). */
  readonly awaitUnknownDeps: boolean;
}

/** Checks and prepares one submission (see {@link PreparedTask}). */
export function prepareTask(request: SubmitRequest, registry: TaskRegistry, settings: AcceptanceSettings): PreparedTask {
  const { maxAttempts, maxAheadMs } = settings;
  const definition = resolveMethod(registry, request.method);
  const requested = request.retryPolicy ? normalizeRetryPolicy(request.retryPolicy, maxAttempts) : undefined;
  // Scheduling fields are rare: one test of four values when none is set.
  const scheduled = request.startAtMs || request.delayMs || request.priority || request.concurrencyKey;
  const runAfter = scheduled ? checkScheduling(request, Date.now(), maxAheadMs) : undefined;
  const clientId = request.taskId !== '';
  const taskId = clientId ? request.taskId : newTaskId();
  if (request.deps.includes(taskId)) {
    throw new InvalidArgumentsError(`task '${clip(taskId)}' lists itself in deps`);
  }
  // Built once per request: the digest is made from it, and the task may use it (TaskContext.argsJson).
  const argsJson = canonicalJson(request.args);
  const deps = request.deps.length === 0 ? NO_DEPS : request.deps;
  const identity: TaskIdentity = {
    method: definition.name, // the registry's string, shared by every record of this method
    deps,
    argsDigest: digestOfCanonicalJson(argsJson),
    injectDependencyResults: request.injectDependencyResults ?? false,
    retryKey: retryKeyOf(requested),
  };
  const run: TaskRun = {
    definition,
    args: request.args,
    argsJson,
    deps,
    dependencyTimeoutMs: request.dependencyTimeoutMs ?? 0,
    executionTimeoutMs: request.executionTimeoutMs ?? 0,
    injectDependencyResults: identity.injectDependencyResults,
    retry: requested ?? definition.retry,
    priority: request.priority ?? 0,
    concurrencyKey: request.concurrencyKey ?? '',
    awaitUnknownDeps: request.awaitUnknownDeps ?? settings.awaitUnknownDeps,
  };
  return { taskId, clientId, definition, identity, run, runAfter };
}

/**
 * The PENDING record of a newly accepted task. A start time is kept as the record's runAfter: the
 * runner waits for it as for a retry's backoff, and a durable store keeps it across restarts and takeovers.
 */
export function acceptedRecord(prepared: PreparedTask, now: number, durable: boolean, trace: string | undefined): TaskRecord {
  const fresh = newRecord(prepared.taskId, prepared.identity, now, durable ? specOf(prepared.run) : undefined, trace);
  return prepared.runAfter === undefined ? fresh : withState(fresh, 'PENDING', '', undefined, undefined, undefined, 0, undefined, prepared.runAfter);
}

/** The trace context of the first dependency (in deps order) that has one: a dependent joins its workflow's trace. */
export function traceOfFirst(deps: readonly string[], state: ReadonlyMap<string, DependencyState> | undefined): string | undefined {
  if (!state) return undefined;
  for (const dep of deps) {
    const entry = state.get(dep);
    const trace = entry && ('run' in entry ? entry.record.trace : entry.trace);
    if (trace) return trace;
  }
  return undefined;
}

/** What a durable store keeps to run the task again in another process. */
export function specOf(run: TaskRun): TaskSpec {
  const spec: TaskSpec = { argsJson: run.argsJson, dependencyTimeoutMs: run.dependencyTimeoutMs, executionTimeoutMs: run.executionTimeoutMs, retry: run.retry };
  if (run.priority === 0 && run.concurrencyKey === '' && !run.awaitUnknownDeps) return spec;
  return { ...spec, priority: run.priority, concurrencyKey: run.concurrencyKey, ...(run.awaitUnknownDeps ? { awaitUnknownDeps: true } : {}) };
}
