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

/** Resolves or rejects as `pending` does, or rejects with the signal's reason as soon as it fires. */
export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(pending).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
