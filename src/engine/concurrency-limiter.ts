/**
 * Slots for running tasks (`--max-concurrent-tasks`). Waiters are served first come, first served; a
 * waiter can withdraw (cancelled while queued) without leaking its promise.
 */
export class ConcurrencyLimiter<K> {
  readonly #max: number;
  #running = 0;
  /** Insertion-ordered: the first entry is the longest waiter. */
  readonly #waiting = new Map<K, (granted: boolean) => void>();

  /** `max` 0 = unlimited. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Slots in use. */
  get running(): number {
    return this.#running;
  }

  /** Whether every slot is taken (a new task would have to wait). */
  get full(): boolean {
    return this.#max !== 0 && this.#running >= this.#max;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Takes a slot at once when one is free (true), else false: then call {@link wait}. */
  tryAcquire(): boolean {
    if (this.#max === 0 || this.#running < this.#max) {
      this.#running++;
      return true;
    }
    return false;
  }

  /** Waits for a slot: true when granted, false when withdrawn with {@link withdraw}. */
  wait(key: K): Promise<boolean> {
    return new Promise((resolve) => this.#waiting.set(key, resolve));
  }

  /** Stops waiting; its `wait` resolves false. */
  withdraw(key: K): void {
    const resolve = this.#waiting.get(key);
    if (!resolve) return;
    this.#waiting.delete(key);
    resolve(false);
  }

  /** Frees a slot, handing it straight to the longest waiter if any. */
  release(): void {
    const next = this.#waiting.entries().next();
    if (!next.done) {
      const [key, resolve] = next.value;
      this.#waiting.delete(key);
      resolve(true);
      return;
    }
    this.#running--;
  }
}
