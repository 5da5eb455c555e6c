/** What a wait can be aborted by: a task's abort scope (`TaskAbort`), without an AbortSignal. */
export interface AbortScope {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls the listener once on abort; returns how to unsubscribe it. */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/**
 * Resolves with `done`, or rejects with `onTimeout()` after `ms`, or with the abort's reason. A plain
 * listener, not an AbortSignal: 100,000 tasks waiting on dependencies (a recovery) would otherwise
 * each make an AbortController and an EventTarget listener (~1 KB of heap and a few µs apiece).
 */
export function waitUntil<T>(done: Promise<T>, ms: number, abort: AbortScope, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (abort.aborted) return reject(abort.reason);
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
    };
    const timer = setTimeout(() => {
      finish();
      reject(onTimeout());
    }, Math.max(0, ms));
    const unsubscribe = abort.onAbort((reason) => {
      finish();
      reject(reason);
    });
    done.then(
      (value) => {
        finish();
        resolve(value);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
  });
}

/** Resolves when every promise has settled or `ms` has passed, whichever comes first (one timer, cleared). */
export function waitUntilGrace(pending: readonly Promise<unknown>[], ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void Promise.allSettled(pending).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
