import type { AbortListener, TaskContext } from '../tasks/task-context';

/**
 * How an unfinished task is aborted (cancel, timeout, shutdown) without an AbortController per task.
 *
 * Node 20 builds every AbortSignal as an EventTarget given its own hidden class; with the two abort
 * listeners an async task used to add (its own, e.g. `sleep`'s, and the scheduler's race) that cost
 * ~9 µs of CPU and ~700 B of heap per task, for an abort that almost never comes — measured on bench
 * scenario c, where 10,000 sleeps are in flight at once. Here listeners are plain callbacks in an
 * array; a real AbortController is made only when something reads {@link signal} (a task that passes
 * `ctx.signal` to fetch, the worker pool, dependency waits), and it is aborted together with the
 * callbacks.
 */
export class TaskAbort {
  #controller: AbortController | undefined = undefined;
  #listeners: AbortListener[] | undefined = undefined;
  #aborted = false;
  #reason: unknown = undefined;

  /** Whether {@link abort} has been called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** What the task was aborted with (undefined until then). */
  get reason(): unknown {
    return this.#reason;
  }

  /** An AbortSignal that fires with the abort: made on first read, already aborted if the abort came first. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` once, with the reason, when the task is aborted — at once if it already was.
   * Returns a function that unsubscribes it (call it when the work it guards has ended).
   */
  onAbort(listener: AbortListener): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return noop;
    }
    // A one-element literal: `[].push` would reserve room for 17.
    if (this.#listeners) this.#listeners.push(listener);
    else this.#listeners = [listener];
    return () => {
      const listeners = this.#listeners;
      const index = listeners ? listeners.indexOf(listener) : -1;
      if (index >= 0) listeners!.splice(index, 1);
    };
  }

  /**
   * Aborts: the signal (when one was made) fires first, then the listeners in subscription order. Only
   * the first call counts. Returns what listeners threw (each still gets called), for the caller to log.
   */
  abort(reason: unknown): unknown[] {
    if (this.#aborted) return [];
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    const thrown: unknown[] = [];
    if (listeners) {
      for (const listener of listeners) {
        try {
          listener(reason);
        } catch (err) {
          thrown.push(err);
        }
      }
    }
    return thrown;
  }

  /** The {@link TaskContext} of a task aborted through this object. */
  contextFor(
    taskId: string,
    method: string,
    attempt: number,
    dependencyResults: ReadonlyMap<string, string>,
    argsJson: string | undefined,
    reporter?: ProgressReporter,
  ): TaskContext {
    return new AbortableTaskContext(taskId, method, attempt, dependencyResults, argsJson, this, reporter);
  }
}

/**
 * A class rather than an object literal with a getter: V8 gives such a literal its own dictionary of
 * properties (~450 B per task here). `signal` is a getter on the prototype, as `Request.signal` is:
 * reading or destructuring it works, spreading the context into another object does not copy it.
 * `onAbort` is an own function, so it can be destructured and called on its own.
 */
class AbortableTaskContext implements TaskContext {
  readonly onAbort: (listener: AbortListener) => () => void;
  readonly #abort: TaskAbort;
  readonly #reporter: ProgressReporter | undefined;

  progress(fraction: number, message?: string): void {
    this.#reporter?.reportProgress(fraction, message);
  }

  constructor(
    readonly taskId: string,
    readonly method: string,
    readonly attempt: number,
    readonly dependencyResults: ReadonlyMap<string, string>,
    readonly argsJson: string | undefined,
    abort: TaskAbort,
    reporter: ProgressReporter | undefined,
  ) {
    this.#abort = abort;
    this.#reporter = reporter;
    this.onAbort = (listener) => abort.onAbort(listener);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

function noop(): void {}

/** Where a context's progress reports go (its in-flight task). */
export interface ProgressReporter {
  reportProgress(fraction: number, message?: string): void;
}

/**
 * Settles as `pending` does, or rejects with the abort reason as soon as `abort` fires (at once if it
 * already has).
 */
export function raceAbort<T>(pending: Promise<T>, abort: TaskAbort): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const unsubscribe = abort.onAbort(reject);
    // Subscribed even when already aborted, so a later rejection of `pending` is never unhandled.
    // Promise.resolve: a plugin's "async" task written in JavaScript may return a plain value.
    Promise.resolve(pending).then(
      (value) => {
        unsubscribe();
        resolve(value);
      },
      (err: unknown) => {
        unsubscribe();
        reject(err);
      },
    );
  });
}
