import { InvalidArgumentsError } from '../errors';

/**
 * Limits on a SubmitTask request as a whole, built once at start-up (the decoder's own limits are in
 * `DecodeLimits`). Beyond one: INVALID_ARGUMENT naming the limit, its value and the CLI flag (SPEC §4
 * "limits exceeded"); nothing is recorded, the id stays free.
 */
export interface RequestLimits {
  /** Most arguments in one request (`--max-args`). */
  readonly maxArgs: number;
  /** Most dependencies in one request (`--max-deps`). */
  readonly maxDeps: number;
  /** Longest task id in characters, the task's own and each dependency's (`--max-task-id-length`). */
  readonly maxTaskIdLength: number;
  /** Largest `dependency_timeout_ms` a request may ask for (`--max-dependency-timeout-ms`). */
  readonly maxDependencyTimeoutMs: number;
  /** Largest `execution_timeout_ms` a request may ask for (`--max-execution-timeout-ms`). */
  readonly maxExecutionTimeoutMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Defaults: far above any real use, low enough that one request cannot make the server do unbounded work. */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  maxArgs: 10_000,
  maxDeps: 1_000,
  maxTaskIdLength: 256,
  maxDependencyTimeoutMs: DAY_MS,
  maxExecutionTimeoutMs: DAY_MS,
});

/** Throws for a timeout field over its limit (the caller compares first); `value` is the field as sent. */
export function checkTimeout(field: string, value: { toString(): string }, max: number, flag: string): void {
  throw new InvalidArgumentsError(`${field} ${value.toString()} is over the limit of ${max} ms (${flag})`);
}

/** Throws when the task id is over the limit (the caller compares the length first). */
export function checkTaskId(taskId: string, maxLength: number, what = 'task_id'): void {
  if (taskId.length > maxLength) {
    throw new InvalidArgumentsError(`${what} is ${taskId.length} characters, over the limit of ${maxLength} (--max-task-id-length)`);
  }
}

export function checkArgCount(count: number, maxArgs: number): void {
  if (count > maxArgs) throw new InvalidArgumentsError(`${count} args is over the limit of ${maxArgs} (--max-args)`);
}

/** Dependency count, then each dependency id's length (the loop runs only when there are deps). */
export function checkDeps(deps: readonly string[], maxDeps: number, maxTaskIdLength: number): void {
  const count = deps.length;
  if (count === 0) return;
  if (count > maxDeps) throw new InvalidArgumentsError(`${count} deps is over the limit of ${maxDeps} (--max-deps)`);
  for (let i = 0; i < count; i++) {
    if (deps[i]!.length > maxTaskIdLength) checkTaskId(deps[i]!, maxTaskIdLength, `deps[${i}]`);
  }
}
