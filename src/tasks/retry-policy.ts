import { InvalidArgumentsError } from '../errors';

/**
 * How often and when a failed task runs again: up to `maxAttempts` attempts in all (the first one
 * included), the n-th retry waiting about `initialBackoffMs × backoffMultiplier^(n-1)`, capped at
 * `maxBackoffMs`, with jitter (see {@link retryDelayMs}). Declared at registration
 * (`syncTask(fn, { retry: {...} })`) and overridden per request (`TaskRequest.retry_policy`).
 */
export interface RetryPolicy {
  /** Attempts in all, the first included: 1 runs the task once (no retry). */
  readonly maxAttempts: number;
  /** Wait before the first retry, ms. */
  readonly initialBackoffMs: number;
  /** Longest wait between attempts, ms. */
  readonly maxBackoffMs: number;
  /** Growth of the wait from one retry to the next (≥ 1). */
  readonly backoffMultiplier: number;
}

/** A retry policy as a client or task author writes it: 0 or absent fields take the defaults. */
export interface RetryPolicyInput {
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly backoffMultiplier?: number;
}

/** Defaults of the fields a policy leaves at 0: 1 s, doubling, at most 60 s apart. */
export const DEFAULT_RETRY_BACKOFF = Object.freeze({ initialBackoffMs: 1_000, maxBackoffMs: 60_000, backoffMultiplier: 2 });

/** The largest `maxAttempts` a server accepts by default (`--max-attempts`). */
export const DEFAULT_MAX_ATTEMPTS = 100;

/** Longest backoff accepted: one day. A retry further away is a schedule, not a retry. */
export const MAX_BACKOFF_MS = 24 * 60 * 60 * 1000;

/** Largest multiplier accepted. */
export const MAX_BACKOFF_MULTIPLIER = 100;

/**
 * Validates and completes a policy (`field` names it in messages, e.g. `retry_policy`): 0 or absent
 * backoff fields take {@link DEFAULT_RETRY_BACKOFF}; `maxAttempts` 0 or absent means 1 (run once).
 * Throws InvalidArgumentsError naming the field, the value and the rule (or the flag, for
 * `maxAttempts` over `limit`).
 */
export function normalizeRetryPolicy(input: RetryPolicyInput, limit: number, field = 'retry_policy'): RetryPolicy {
  const maxAttempts = orDefault(input.maxAttempts, 1);
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new InvalidArgumentsError(`${field}.max_attempts must be a whole number ≥ 1, got ${maxAttempts}`);
  }
  if (maxAttempts > limit) {
    throw new InvalidArgumentsError(`${field}.max_attempts ${maxAttempts} is over the limit of ${limit} (--max-attempts)`);
  }
  const initialBackoffMs = orDefault(input.initialBackoffMs, DEFAULT_RETRY_BACKOFF.initialBackoffMs);
  checkMs(initialBackoffMs, `${field}.initial_backoff_ms`);
  const maxBackoffMs = orDefault(input.maxBackoffMs, Math.max(DEFAULT_RETRY_BACKOFF.maxBackoffMs, initialBackoffMs));
  checkMs(maxBackoffMs, `${field}.max_backoff_ms`);
  if (maxBackoffMs < initialBackoffMs) {
    throw new InvalidArgumentsError(`${field}.max_backoff_ms ${maxBackoffMs} is below initial_backoff_ms ${initialBackoffMs}`);
  }
  const backoffMultiplier = orDefault(input.backoffMultiplier, DEFAULT_RETRY_BACKOFF.backoffMultiplier);
  if (!Number.isFinite(backoffMultiplier) || backoffMultiplier < 1 || backoffMultiplier > MAX_BACKOFF_MULTIPLIER) {
    throw new InvalidArgumentsError(`${field}.backoff_multiplier must be between 1 and ${MAX_BACKOFF_MULTIPLIER} (0 = default ${DEFAULT_RETRY_BACKOFF.backoffMultiplier}), got ${backoffMultiplier}`);
  }
  return Object.freeze({ maxAttempts, initialBackoffMs, maxBackoffMs, backoffMultiplier });
}

/**
 * `value`, or `fallback` when it is 0 or absent. Not `value || fallback`: NaN is falsy too, and a NaN
 * (a double on the wire, or a computed option) must be refused, not silently replaced by the default.
 */
function orDefault(value: number | undefined, fallback: number): number {
  return value === undefined || value === 0 ? fallback : value;
}

function checkMs(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_BACKOFF_MS) {
    throw new InvalidArgumentsError(`${field} must be a whole number of ms from 1 to ${MAX_BACKOFF_MS} (one day), got ${value}`);
  }
}

/**
 * A policy's identity for idempotency (`TaskRecord.retryKey`): the same policy always gives the same
 * text; no policy gives ''.
 */
export function retryKeyOf(policy: RetryPolicy | undefined): string {
  return policy ? `${policy.maxAttempts}/${policy.initialBackoffMs}/${policy.maxBackoffMs}/${policy.backoffMultiplier}` : '';
}

/**
 * The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed: the exponential
 * base `min(maxBackoffMs, initialBackoffMs × backoffMultiplier^(attempt-1))`, then "equal jitter" —
 * uniformly between half the base and the base — so that tasks failing together do not retry in
 * lockstep, while the wait never drops below half its nominal value. `random` is for tests.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}
