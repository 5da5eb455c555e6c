import { InvalidArgumentsError } from '../../errors';

/** N starts per interval. */
export interface RateLimit {
  readonly starts: number;
  readonly intervalMs: number;
}

/** Most starts a rate limit may allow per interval, and the longest interval. */
export const MAX_RATE_STARTS = 1_000_000;
export const MAX_RATE_INTERVAL_MS = 86_400_000;

/** Parses `N/ms` (e.g. `10/1000`: ten starts per second); throws INVALID_ARGUMENT naming `what`. */
export function parseRateLimit(text: string, what: string): RateLimit {
  const match = /^(\d{1,7})\/(\d{1,9})$/.exec(text.trim());
  const starts = match ? Number(match[1]) : NaN;
  const intervalMs = match ? Number(match[2]) : NaN;
  if (!(starts >= 1 && starts <= MAX_RATE_STARTS && intervalMs >= 1 && intervalMs <= MAX_RATE_INTERVAL_MS)) {
    throw new InvalidArgumentsError(`${what}: '${text}' is not a rate limit: write STARTS/INTERVAL_MS with 1 <= STARTS <= ${MAX_RATE_STARTS} and 1 <= INTERVAL_MS <= ${MAX_RATE_INTERVAL_MS}, e.g. 10/1000`);
  }
  return { starts, intervalMs };
}

/**
 * A sliding-window start counter: at most `starts` starts within any `intervalMs`. Keeps the times of
 * the last `starts` starts in a ring, so a check is one comparison with the oldest of them.
 */
export class SlidingWindow {
  readonly #limit: RateLimit;
  readonly #times: Float64Array;
  #next = 0;
  #count = 0;

  constructor(limit: RateLimit) {
    this.#limit = limit;
    this.#times = new Float64Array(limit.starts);
  }

  /** 0 when a start is allowed now, else the ms until one is. */
  waitMs(now: number): number {
    if (this.#count < this.#limit.starts) return 0;
    const oldest = this.#times[this.#next]!;
    const wait = oldest + this.#limit.intervalMs - now;
    return wait > 0 ? wait : 0;
  }

  record(now: number): void {
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.#limit.starts;
    if (this.#count < this.#limit.starts) this.#count++;
  }

  /** Whether it holds no start within the window any more (a per-key window can then be dropped). */
  idle(now: number): boolean {
    if (this.#count === 0) return true;
    const newest = this.#times[(this.#next + this.#limit.starts - 1) % this.#limit.starts]!;
    return newest + this.#limit.intervalMs <= now;
  }
}
