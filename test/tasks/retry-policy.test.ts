/** The retry policy's pure parts: defaults, validation messages, the backoff formula with its jitter. */
import { DEFAULT_RETRY_BACKOFF, normalizeRetryPolicy, retryDelayMs, retryKeyOf, type RetryPolicy } from '../../src/tasks/retry-policy';

const policy = (initialBackoffMs: number, backoffMultiplier: number, maxBackoffMs: number): RetryPolicy =>
  normalizeRetryPolicy({ maxAttempts: 20, initialBackoffMs, backoffMultiplier, maxBackoffMs }, 100);

describe('normalizeRetryPolicy', () => {
  test('zeros and absent fields take the defaults; max_backoff defaults to at least initial_backoff', () => {
    expect(DEFAULT_RETRY_BACKOFF).toEqual({ initialBackoffMs: 1_000, maxBackoffMs: 60_000, backoffMultiplier: 2 });
    const defaults = { maxAttempts: 1, initialBackoffMs: 1_000, maxBackoffMs: 60_000, backoffMultiplier: 2 };
    expect(normalizeRetryPolicy({}, 100)).toEqual(defaults);
    expect(normalizeRetryPolicy({ maxAttempts: 0, initialBackoffMs: 0, maxBackoffMs: 0, backoffMultiplier: 0 }, 100)).toEqual(defaults);
    expect(normalizeRetryPolicy({ maxAttempts: 3, initialBackoffMs: 120_000 }, 100)).toEqual({ maxAttempts: 3, initialBackoffMs: 120_000, maxBackoffMs: 120_000, backoffMultiplier: 2 });
    expect(Object.isFrozen(normalizeRetryPolicy({}, 100))).toBe(true);
  });

  test('refuses what is not a number the field allows, naming the field and the value (NaN included)', () => {
    const cases: Array<[Parameters<typeof normalizeRetryPolicy>[0], string]> = [
      [{ maxAttempts: -1 }, 'p.max_attempts must be a whole number ≥ 1, got -1'],
      [{ maxAttempts: Number.NaN }, 'p.max_attempts must be a whole number ≥ 1, got NaN'],
      [{ maxAttempts: 11 }, 'p.max_attempts 11 is over the limit of 10 (--max-attempts)'],
      [{ initialBackoffMs: 1.5 }, 'p.initial_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got 1.5'],
      [{ initialBackoffMs: Number.NaN }, 'p.initial_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got NaN'],
      [{ maxBackoffMs: Number.NaN }, 'p.max_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got NaN'],
      [{ maxBackoffMs: 86_400_001 }, 'p.max_backoff_ms must be a whole number of ms from 1 to 86400000 (one day), got 86400001'],
      [{ initialBackoffMs: 10, maxBackoffMs: 5 }, 'p.max_backoff_ms 5 is below initial_backoff_ms 10'],
      [{ backoffMultiplier: 0.5 }, 'p.backoff_multiplier must be between 1 and 100 (0 = default 2), got 0.5'],
      [{ backoffMultiplier: Number.NaN }, 'p.backoff_multiplier must be between 1 and 100 (0 = default 2), got NaN'],
      [{ backoffMultiplier: Number.POSITIVE_INFINITY }, 'p.backoff_multiplier must be between 1 and 100 (0 = default 2), got Infinity'],
      [{ backoffMultiplier: 100.01 }, 'p.backoff_multiplier must be between 1 and 100 (0 = default 2), got 100.01'],
    ];
    for (const [input, message] of cases) expect(() => normalizeRetryPolicy(input, 10, 'p')).toThrow(`Invalid arguments: ${message}`);
    // The bounds themselves are allowed.
    expect(normalizeRetryPolicy({ maxAttempts: 10, initialBackoffMs: 1, maxBackoffMs: 86_400_000, backoffMultiplier: 100 }, 10).backoffMultiplier).toBe(100);
    expect(normalizeRetryPolicy({ backoffMultiplier: 1 }, 10).backoffMultiplier).toBe(1);
  });

  test('the identity key is the same for equal policies and empty without one', () => {
    expect(retryKeyOf(undefined)).toBe('');
    expect(retryKeyOf(normalizeRetryPolicy({ maxAttempts: 3 }, 100))).toBe(retryKeyOf(normalizeRetryPolicy({ maxAttempts: 3, initialBackoffMs: 1_000, maxBackoffMs: 60_000, backoffMultiplier: 2 }, 100)));
    expect(retryKeyOf(normalizeRetryPolicy({ maxAttempts: 3 }, 100))).not.toBe(retryKeyOf(normalizeRetryPolicy({ maxAttempts: 3, backoffMultiplier: 3 }, 100)));
  });
});

describe('retryDelayMs', () => {
  test('equal jitter: between half and all of min(max, initial × multiplier^(n-1))', () => {
    const p = policy(100, 3, 2_000);
    const nominal = [100, 300, 900, 2_000, 2_000];
    nominal.forEach((base, i) => {
      expect(retryDelayMs(p, i + 1, () => 0)).toBe(base / 2);
      expect(retryDelayMs(p, i + 1, () => 0.5)).toBe(Math.round(base * 0.75));
      expect(retryDelayMs(p, i + 1, () => 0.9999999)).toBe(base);
    });
    for (let i = 0; i < 1_000; i++) {
      const delay = retryDelayMs(p, 2);
      expect(delay).toBeGreaterThanOrEqual(150);
      expect(delay).toBeLessThanOrEqual(300);
    }
  });

  test('the cap holds for huge exponents (no Infinity or NaN), and a multiplier of 1 keeps the wait flat', () => {
    expect(retryDelayMs(policy(50, 100, 200), 1_000, () => 1)).toBe(200);
    expect(retryDelayMs(policy(50, 100, 200), 1_000, () => 0)).toBe(100);
    expect(retryDelayMs(policy(40, 1, 1_000), 50, () => 1)).toBe(40);
  });
});
