import { types } from 'node:util';
import { clip } from '../errors';
import type { Logger } from './logger';
import { RateLimitedLog } from './rate-limited-log';

/** Longest string field (and error message) a throttled line keeps. */
export const THROTTLED_FIELD_MAX_CHARS = 500;
/** Stack lines kept of an error in a throttled line. */
const STACK_LINES = 8;
/** Distinct messages tracked; further ones share one limit. Messages are constants, so this is never reached in practice. */
const MAX_MESSAGES = 100;

/** Settings of {@link throttledLogger}. */
export interface ThrottledLoggerOptions {
  /** warn/error lines of one message written per interval before they collapse into a summary. Default 5. */
  readonly burst?: number;
  /** Default 10 000 ms. */
  readonly intervalMs?: number;
}

/**
 * A Logger for code whose warn and error lines a client can cause (one per request or per task: a
 * store that fails while a client submits, a task's abort listener that throws, an internal error on
 * a call): each warn/error message — a constant; the data is in the fields — gets its own
 * {@link RateLimitedLog} (a few lines per interval, then one summary line counting the rest), and
 * every field is bounded (strings and error messages cut at {@link THROTTLED_FIELD_MAX_CHARS}, stacks
 * at 8 lines), so a client can neither flood the log nor write megabytes into one line. info and
 * debug lines pass through unchanged (info is never per request; debug is opt-in, per task by design).
 * A child has limits of its own (make children once, not per request).
 */
export function throttledLogger(logger: Logger, options: ThrottledLoggerOptions = {}): Logger {
  const logs = new Map<string, RateLimitedLog>();
  const at = (level: 'warn' | 'error') => (message: string, meta: Record<string, unknown> = {}): void => {
    const known = logs.size < MAX_MESSAGES || logs.has(`${level} ${message}`);
    const key = known ? `${level} ${message}` : `${level} (other)`;
    let log = logs.get(key);
    if (!log) {
      const summary = known ? clip(message, 100) : 'other lines';
      log = new RateLimitedLog({ logger, level, burst: options.burst ?? 5, intervalMs: options.intervalMs ?? 10_000, summary });
      logs.set(key, log);
    }
    log.report(known ? 'repeated' : clip(message, 100), clip(message, THROTTLED_FIELD_MAX_CHARS), boundedFields(meta));
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: (message, meta) => logger.info(message, meta),
    debug: (message, meta) => logger.debug(message, meta),
    child: (meta) => throttledLogger(logger.child(meta), options),
    isDebugEnabled: () => logger.isDebugEnabled(),
  };
}

/** The fields with every string and error bounded (one level deep: our fields are flat). */
function boundedFields(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) out[key] = bounded(value);
  return out;
}

function bounded(value: unknown): unknown {
  if (typeof value === 'string') return value.length > THROTTLED_FIELD_MAX_CHARS ? `${value.slice(0, THROTTLED_FIELD_MAX_CHARS)}… (${value.length} chars)` : value;
  // isNativeError: also errors of another realm (a vm context, a plugin compiled elsewhere).
  if (value instanceof Error || types.isNativeError(value)) {
    const stack = value.stack?.split('\n').slice(1, 1 + STACK_LINES).map((line) => line.slice(0, 200)).join('\n');
    return { name: value.name, message: bounded(value.message), ...(stack ? { stack } : {}) };
  }
  if (Array.isArray(value) && value.length > 20) return [...value.slice(0, 20).map(bounded), `… ${value.length - 20} more`];
  return value;
}
