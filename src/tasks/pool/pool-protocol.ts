import Long from 'long';
import type { ArgValue } from '../../args/arg-value';

/** What the main thread sends a worker: a task name and plain data (structured-clone safe). */
export interface PoolRequest {
  readonly name: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly args: readonly ArgValue[];
  readonly dependencyResults: ReadonlyArray<readonly [string, string]>;
}

/**
 * What a worker answers. Errors travel as data: class identity (InvalidArgumentsError) does not survive
 * the thread boundary.
 */
export type PoolReply =
  | { readonly ok: true; readonly result: string }
  | { readonly ok: false; readonly invalidArguments: boolean; readonly message: string; readonly permanent?: boolean };

/** Settings a worker starts with (`workerData`). */
export interface PoolWorkerData {
  /** Plugins to load, with the source the main thread loaded (see `LoadedPlugin.code`). */
  readonly plugins: ReadonlyArray<{ readonly file: string; readonly code?: string }>;
  /** User task modules to require (they register with syncTask at import). */
  readonly taskModules: readonly string[];
}

/**
 * What a worker tells the pool about its start (posted on `parentPort`; piscina re-emits it as the
 * pool's 'message' event): the file it is about to load — so a thread that dies while starting can be
 * blamed on it — and, once loading is over, the files that failed to load there and why.
 */
export type PoolStartMessage =
  | { readonly taskSchedulerStart: 'loading'; readonly file: string }
  | { readonly taskSchedulerStart: 'loaded'; readonly failures: ReadonlyArray<readonly [string, string]> };

/** Whether a pool 'message' event is a {@link PoolStartMessage}. */
export function isPoolStartMessage(message: unknown): message is PoolStartMessage {
  return typeof message === 'object' && message !== null && 'taskSchedulerStart' in message;
}

/**
 * Restores what structured cloning loses from decoded args: `Long` prototypes of 64-bit integers
 * (Maps and Uint8Arrays survive as they are).
 */
export function reviveArgs(args: readonly ArgValue[]): ArgValue[] {
  return args.map(reviveArg);
}

function reviveArg(value: ArgValue): ArgValue {
  switch (value.kind) {
    case 'int64':
    case 'uint64': {
      const { low, high, unsigned } = value.value as { low: number; high: number; unsigned: boolean };
      return { kind: value.kind, value: Long.fromBits(low, high, unsigned) } as ArgValue;
    }
    case 'list':
      return { kind: 'list', value: value.value.map(reviveArg) };
    case 'map': {
      const out = new Map<string, ArgValue>();
      for (const [key, item] of value.value) out.set(key, reviveArg(item));
      return { kind: 'map', value: out };
    }
    default:
      return value;
  }
}

/**
 * Nice value of pool threads. With as many pool threads as cores, CPU-bound tasks would otherwise share
 * every core equally with the event loop, and calls would wait for time slices behind them (bench e:
 * add p99 under fib load). At nice 10 the kernel gives the event-loop thread ~9× their weight whenever
 * it has work; when it is idle the pool still gets every core.
 */
export const POOL_THREAD_NICE = 10;
