/** Called once with the abort reason (a cancel, timeout or shutdown error) when a task is aborted. */
export type AbortListener = (reason: unknown) => void;

/** What a running task can see besides its arguments. */
export interface TaskContext {
  /** The task's id (client-chosen, or the UUID the server assigned). */
  readonly taskId: string;
  /** The registered method name, e.g. `add` or `plugin_example::multiply`. */
  readonly method: string;
  /**
   * Which attempt this is, from 1. Above 1 only for tasks with a retry policy, after earlier attempts
   * failed (or were interrupted by a crash).
   */
  readonly attempt: number;
  /** Results of the task's dependencies, by dependency id, in `deps` order. */
  readonly dependencyResults: ReadonlyMap<string, string>;
  /**
   * Fires when the task is cancelled, times out or the server shuts down. Async tasks should stop
   * their work when it fires (pass it to timers, fetches, streams…).
   */
  readonly signal: AbortSignal;
  /**
   * The canonical JSON of `args` (SPEC §5b; what `canonicalJson(args)` returns) when the engine has it at
   * hand — it builds it for the idempotency digest — so a task that returns or hashes its arguments need
   * not build it again: `ctx.argsJson ?? canonicalJson(args)`. Undefined when the task's arguments are
   * not the request's (dependency results injected) and in worker threads.
   */
  readonly argsJson?: string | undefined;
  /**
   * Calls `listener` once when the task is aborted (at once if it already was) and returns a function
   * that unsubscribes it. The same event as {@link signal}, for code that only needs a callback: the
   * server makes a task's AbortSignal only when the task reads `signal`, which saves an AbortSignal
   * (~9 µs and ~700 B in Node 20) per task that never touches it.
   */
  onAbort(listener: AbortListener): () => void;
  /**
   * Reports how far the task got: `fraction` from 0 to 1 (clamped) and an optional message (at most
   * 200 characters kept). Cheap to call often: reports reach WatchTasks streams and GetResult at most
   * every 100 ms, the latest winning. Works in worker threads too.
   */
  progress(fraction: number, message?: string): void;
}
