import { integerToBigInt, isIntegerArg, type ArgValue } from '../args/arg-value';
import { InvalidArgumentsError } from '../errors';

/** Bounds and default of {@link integerParam}. */
export interface IntegerParamSpec {
  readonly task: string;
  readonly min: number;
  readonly max: number;
  /** Used when the argument is absent; without it an absent argument is invalid. */
  readonly default?: number;
}

/**
 * Reads an integer parameter of any integer kind (SPEC §5c) as a number within `[min, max]`, or throws
 * {@link InvalidArgumentsError} naming the task, the position and the value.
 */
export function integerParam(args: readonly ArgValue[], index: number, spec: IntegerParamSpec): number {
  const value = args[index];
  if (value === undefined) {
    if (spec.default !== undefined) return spec.default;
    throw new InvalidArgumentsError(`${spec.task} expects an integer at args[${index}]`);
  }
  if (!isIntegerArg(value)) {
    throw new InvalidArgumentsError(`${spec.task} expects an integer at args[${index}], got ${value.kind}`);
  }
  const n = integerToBigInt(value);
  if (n < BigInt(spec.min) || n > BigInt(spec.max)) {
    throw new InvalidArgumentsError(`${spec.task} expects args[${index}] in ${spec.min}..${spec.max}, got ${n}`);
  }
  return Number(n);
}

/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as `signal` fires. One timer and
 * one listener: `timers/promises`' setTimeout with a signal costs several times more per call, and
 * every detached `sleep` of bench scenario c pays it.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Longest delay a timer can take (2^31 − 1 ms). */
export const MAX_DELAY_MS = 0x7fffffff;
