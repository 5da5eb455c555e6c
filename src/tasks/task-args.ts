import { integerToBigInt, isIntegerArg, type ArgValue } from '../args/arg-value';
import { InvalidArgumentsError } from '../errors';
import type { TaskContext } from './task-context';

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
 * Waits `ms` milliseconds; rejects with the abort reason as soon as the task is aborted. One timer and
 * one `onAbort` callback: no AbortSignal is made for it (`timers/promises`' setTimeout with a signal
 * costs several times more per call, and every detached `sleep` of bench scenario c pays it).
 */
export function sleep(ms: number, ctx: Pick<TaskContext, 'onAbort'>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve();
    }, ms);
    const unsubscribe = ctx.onAbort((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });
}

/** Longest delay a timer can take (2^31 − 1 ms). */
export const MAX_DELAY_MS = 0x7fffffff;
