import { InvalidArgumentsError } from '../../errors';
import type { AbortScope } from '../wait-until';

/** Priorities a request may ask for. */
export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;
/** Longest concurrency key, characters. */
export const MAX_CONCURRENCY_KEY_LENGTH = 128;
/** Default of `--max-schedule-ahead-ms`: a year. */
export const DEFAULT_MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

/** The scheduling fields of a submission, as decoded (numbers: exact up to 2^53, else clamped). */
export interface SchedulingFields {
  /** Epoch ms; 0 = none. */
  readonly startAtMs?: number | undefined;
  /** ms; 0 = none; negative is refused. */
  readonly delayMs?: number | undefined;
  readonly priority?: number | undefined;
  readonly concurrencyKey?: string | undefined;
}

/**
 * Checks the scheduling fields (INVALID_ARGUMENT naming the field and the rule) and returns the epoch
 * ms before which the task must not start, or undefined when it may start at once.
 */
export function checkScheduling(fields: SchedulingFields, now: number, maxAheadMs: number): number | undefined {
  const { startAtMs = 0, delayMs = 0, priority = 0, concurrencyKey = '' } = fields;
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new InvalidArgumentsError(`priority ${priority} is out of range: it must be from ${MIN_PRIORITY} to ${MAX_PRIORITY}`);
  }
  if (concurrencyKey.length > MAX_CONCURRENCY_KEY_LENGTH) {
    throw new InvalidArgumentsError(`concurrency_key is ${concurrencyKey.length} characters, over the limit of ${MAX_CONCURRENCY_KEY_LENGTH}`);
  }
  if (delayMs < 0) throw new InvalidArgumentsError(`delay_ms ${delayMs} is negative: a delay must be 0 or more ms`);
  if (delayMs > maxAheadMs) throw new InvalidArgumentsError(`delay_ms ${delayMs} is over the limit of ${maxAheadMs} ms (--max-schedule-ahead-ms)`);
  if (startAtMs > now + maxAheadMs) {
    throw new InvalidArgumentsError(`start_at_ms ${startAtMs} is more than ${maxAheadMs} ms after now (${now}) (--max-schedule-ahead-ms)`);
  }
  const at = Math.max(startAtMs, delayMs > 0 ? now + delayMs : 0);
  return at > now ? at : undefined;
}

/**
 * Resolves true at epoch ms `at` (any distance: timers over ~24.8 days are chained), or false as soon
 * as `abort` is aborted (a task's abort scope, `TaskAbort`).
 */
export function sleepUntil(at: number, abort: Pick<AbortScope, 'onAbort'>): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const unsubscribe = abort.onAbort(() => {
      settled = true;
      clearTimeout(timer);
      resolve(false);
    });
    const arm = (): void => {
      if (settled) return;
      const wait = at - Date.now();
      if (wait <= 0) {
        settled = true;
        unsubscribe();
        resolve(true);
        return;
      }
      timer = setTimeout(arm, Math.min(wait, 0x7fffffff));
    };
    arm();
  });
}
