import type { ArgValue } from '../args/arg-value';
import type { TaskContext } from './task-context';
import { normalizeRetryPolicy, type RetryPolicy, type RetryPolicyInput } from './retry-policy';

/** A synchronous task: returns its result string, or throws. */
export type SyncTaskFn = (args: readonly ArgValue[], ctx: TaskContext) => string;
/** An asynchronous task: resolves to its result string, or rejects. */
export type AsyncTaskFn = (args: readonly ArgValue[], ctx: TaskContext) => Promise<string>;

/** Where a task comes from, as `TaskInfo.source` reports it: `builtin`, `plugin:<name>` or `user`. */
export type TaskSource = 'builtin' | 'user' | `plugin:${string}`;

/** Scheduling defaults of a method (flags override them; see README "Scheduling"). */
export interface TaskLimits {
  /** Most tasks of this method running at once on a replica; absent: no own limit. */
  readonly maxConcurrency?: number | undefined;
  /** Most starts per interval on a replica; absent: no limit. */
  readonly rateLimit?: { readonly starts: number; readonly intervalMs: number } | undefined;
}

/** A registered task. Method names are unique across sync and async tasks. */
export type TaskDefinition =
  | {
      readonly name: string;
      readonly kind: 'sync';
      readonly fn: SyncTaskFn;
      readonly description: string;
      readonly source: TaskSource;
      /** CPU-bound: run on a worker thread (when the server has a pool) instead of inline. */
      readonly worker?: boolean;
      /** Retry policy of requests that name none; absent: run once. */
      readonly retry?: RetryPolicy | undefined;
      /** Scheduling defaults; absent (the usual case): none. */
      readonly limits?: TaskLimits | undefined;
    }
  | {
      readonly name: string;
      readonly kind: 'async';
      readonly fn: AsyncTaskFn;
      readonly description: string;
      readonly source: TaskSource;
      readonly retry?: RetryPolicy | undefined;
      readonly limits?: TaskLimits | undefined;
    };

/** Options of {@link syncTask} / {@link asyncTask}. */
export interface TaskOptions {
  /** Method name clients call; defaults to the function's name. */
  readonly name?: string;
  /** Shown by `ListTasks`. */
  readonly description?: string;
  /** Defaults to `user`; built-ins and the plugin loader set their own. */
  readonly source?: TaskSource;
  /** Registry to add the task to; defaults to {@link defaultRegistry}. */
  readonly registry?: TaskRegistry;
  /**
   * Retry policy for requests that do not name one (a request's `retry_policy` overrides it): what
   * the task throws, execution timeouts and crashed worker threads are retried with backoff, up to
   * `maxAttempts` attempts in all; `InvalidArgumentsError` and `PermanentError` never are. Without
   * it the task runs once. Zero or absent backoff fields take their defaults (1 s, ×2, at most 60 s).
   */
  readonly retry?: RetryPolicyInput;
  /** Most tasks of this method running at once on a replica (1..1,000,000); `--method-concurrency` overrides it. */
  readonly maxConcurrency?: number;
  /** Most starts per interval on a replica; `--method-rate-limit` overrides it. */
  readonly rateLimit?: { readonly starts: number; readonly intervalMs: number };
}

/** Options of {@link syncTask}. */
export interface SyncTaskOptions extends TaskOptions {
  /**
   * CPU-bound: run on a worker thread so it cannot block other requests, and so timeouts and
   * cancellation can stop it. Leave off for quick tasks (`add`): a thread hop costs more than they do.
   * The task's module must also load in the workers (built-ins, plugins, `--task-module` files).
   */
  readonly worker?: boolean;
}

/** Names clients can call: no whitespace or control characters, at most 200 characters. */
const VALID_NAME = /^[^\s\u0000-\u001f\u007f]{1,200}$/u;

/**
 * The set of callable tasks, by method name. Registration fails fast: a duplicate or invalid name
 * throws at start-up, not at the first request.
 */
export class TaskRegistry {
  readonly #tasks = new Map<string, TaskDefinition>();

  /** Adds a task; throws if the name is invalid or already registered. */
  register(definition: TaskDefinition): TaskDefinition {
    if (!VALID_NAME.test(definition.name)) {
      throw new TypeError(`task name ${JSON.stringify(definition.name)} is invalid: use 1–200 characters without spaces or control characters`);
    }
    const existing = this.#tasks.get(definition.name);
    if (existing) {
      throw new Error(`task '${definition.name}' is already registered (${existing.kind}, source ${existing.source})`);
    }
    this.#tasks.set(definition.name, Object.freeze({ ...definition }));
    return definition;
  }

  /** Removes a task; returns whether it was registered. */
  unregister(name: string): boolean {
    return this.#tasks.delete(name);
  }

  /** The task registered under `name`, if any. */
  get(name: string): TaskDefinition | undefined {
    return this.#tasks.get(name);
  }

  /** Whether `name` is registered. */
  has(name: string): boolean {
    return this.#tasks.has(name);
  }

  /** All tasks, sorted by name. */
  list(): TaskDefinition[] {
    return [...this.#tasks.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Number of registered tasks. */
  get size(): number {
    return this.#tasks.size;
  }
}

/**
 * The registry that {@link syncTask} and {@link asyncTask} fill at import time — the TypeScript
 * counterpart of the original's `#[sync_task]` registration. An ordinary instance: tests and embedders
 * may build their own and pass it to `createScheduler`.
 */
export const defaultRegistry = new TaskRegistry();

function nameOf(fn: { name: string }, options: TaskOptions | undefined): string {
  const name = options?.name ?? fn.name;
  if (!name) throw new TypeError('task function has no name: pass a named function or options.name');
  return name;
}

/**
 * Registers a synchronous task under its function name (or `options.name`) and returns the function.
 *
 * @example
 * export const greet = syncTask(function greet(args) {
 *   return `hello ${args[0]?.kind === 'string' ? args[0].value : 'world'}`;
 * }, { description: 'Greets someone' });
 */
export function syncTask<F extends SyncTaskFn>(fn: F, options?: SyncTaskOptions): F {
  registerTask({ kind: 'sync', fn, worker: options?.worker ?? false }, options);
  return fn;
}

/**
 * Registers an asynchronous task (returns a Promise) under its function name (or `options.name`) and
 * returns the function. Its context's `signal` fires on cancellation and timeouts.
 */
export function asyncTask<F extends AsyncTaskFn>(fn: F, options?: TaskOptions): F {
  registerTask({ kind: 'async', fn }, options);
  return fn;
}

function registerTask(task: { kind: 'sync'; fn: SyncTaskFn; worker: boolean } | { kind: 'async'; fn: AsyncTaskFn }, options: TaskOptions | undefined): void {
  const name = nameOf(task.fn, options);
  // Checked here, so a bad policy fails at start-up. Task code is trusted: no --max-attempts cap.
  const retry = options?.retry ? normalizeRetryPolicy(options.retry, Number.MAX_SAFE_INTEGER, `task '${name}': retry`) : undefined;
  (options?.registry ?? defaultRegistry).register({
    ...task,
    name,
    description: options?.description ?? '',
    source: options?.source ?? 'user',
    ...(retry ? { retry } : {}),
    ...(options?.maxConcurrency !== undefined || options?.rateLimit ? { limits: limitsOf(name, options) } : {}),
  });
}

/** Checks a registration's scheduling defaults, so a bad one fails at start-up. */
function limitsOf(name: string, options: TaskOptions): TaskLimits {
  const { maxConcurrency, rateLimit } = options;
  if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1 && maxConcurrency <= 1_000_000)) {
    throw new Error(`task '${name}': maxConcurrency must be an integer from 1 to 1000000, got ${String(maxConcurrency)}`);
  }
  if (rateLimit && !(Number.isInteger(rateLimit.starts) && rateLimit.starts >= 1 && rateLimit.starts <= 1_000_000 && Number.isInteger(rateLimit.intervalMs) && rateLimit.intervalMs >= 1 && rateLimit.intervalMs <= 86_400_000)) {
    throw new Error(`task '${name}': rateLimit must be 1..1000000 starts per 1..86400000 ms`);
  }
  return { maxConcurrency, rateLimit };
}
