import type { Logger } from './logger';

/** Settings of a {@link RateLimitedLog}. */
export interface RateLimitedLogOptions {
  readonly logger: Logger;
  /** Level of every line it writes. */
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  /** Lines written one by one per interval; later events in the interval are only counted. Default 5. */
  readonly burst?: number;
  /** Length of an interval, ms. Default 10 000. */
  readonly intervalMs?: number;
  /** Start of the summary line: `<summary>: 37 more in the last 10 s (31× reason a, 6× reason b)`. */
  readonly summary: string;
  /** Most distinct reasons counted per interval; the rest are counted as `other`. Default 20. */
  readonly maxReasons?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

/**
 * A log for events that can come in floods (failed TLS handshakes from a misconfigured client that
 * retries, a scanner): at most `burst` lines per interval, then one summary line when the interval
 * ends, collapsing the rest by reason with a count. So a flood costs a few lines per interval, and
 * nothing is silently dropped. The summary timer is unref'd: it never keeps the process alive.
 */
export class RateLimitedLog {
  readonly #options: Required<Omit<RateLimitedLogOptions, 'now'>> & { now: () => number };
  #windowStart = Number.NEGATIVE_INFINITY;
  #written = 0;
  readonly #suppressed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RateLimitedLogOptions) {
    this.#options = { burst: 5, intervalMs: 10_000, maxReasons: 20, now: () => Date.now(), ...options };
  }

  /** Logs `message` with `fields`, or counts it under `reason` when this interval's lines are used up. */
  report(reason: string, message: string, fields: Record<string, unknown> = {}): void {
    const { burst, intervalMs, maxReasons, now } = this.#options;
    const at = now();
    if (at - this.#windowStart >= intervalMs) {
      this.flush();
      this.#windowStart = at;
      this.#written = 0;
    }
    if (this.#written < burst) {
      this.#written++;
      this.#write(message, fields);
      return;
    }
    const key = this.#suppressed.has(reason) || this.#suppressed.size < maxReasons ? reason : 'other';
    this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), Math.max(0, this.#windowStart + intervalMs - at));
      this.#timer.unref();
    }
  }

  /** Writes the summary of what was counted but not logged (if anything), now. Call on shutdown. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed.size === 0) return;
    const counts = [...this.#suppressed].sort((a, b) => b[1] - a[1]);
    this.#suppressed.clear();
    const total = counts.reduce((sum, [, count]) => sum + count, 0);
    const seconds = Math.round(this.#options.intervalMs / 1000);
    this.#write(`${this.#options.summary}: ${total} more in the last ${seconds} s (${counts.map(([reason, count]) => `${count}× ${reason}`).join('; ')})`, {
      suppressed: total,
    });
  }

  #write(message: string, fields: Record<string, unknown>): void {
    this.#options.logger[this.#options.level](message, fields);
  }
}
