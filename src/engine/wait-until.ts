/** Resolves with `done`, or rejects with `onTimeout()` after `ms`, or with the signal's reason. */
export function waitUntil<T>(done: Promise<T>, ms: number, signal: AbortSignal, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => { finish(); reject(signal.reason); };
    const timer = setTimeout(() => { finish(); reject(onTimeout()); }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
    done.then((value) => { finish(); resolve(value); }, (err: unknown) => { finish(); reject(err); });
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
