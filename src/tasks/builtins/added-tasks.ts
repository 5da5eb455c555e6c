/** Built-ins added by this port (SPEC §5b), for users, tests and benchmarks. */
import { isIntegerArg, type ArgValue } from '../../args/arg-value';
import { canonicalJson } from '../../args/canonical-json';
import { InvalidArgumentsError } from '../../errors';
import type { TaskContext } from '../task-context';
import { integerParam, MAX_DELAY_MS, sleep } from '../task-args';
import type { TaskRegistry } from '../task-registry';
import { asyncTask, syncTask } from '../task-registry';

function echo(args: readonly ArgValue[], ctx: TaskContext): string {
  // The engine built this text for the idempotency digest already (see TaskContext.argsJson).
  return ctx.argsJson ?? canonicalJson(args);
}

function concat(args: readonly ArgValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const value = args[i]!;
    if (value.kind !== 'string') throw new InvalidArgumentsError(`concat expects string arguments, args[${i}] is ${value.kind}`);
    out += value.value;
  }
  return out;
}

function fail(args: readonly ArgValue[]): string {
  // SPEC §5b: the first *string* argument, wherever it is (`fail(1, "second")` fails with "second").
  const message = args.find((value) => value.kind === 'string');
  throw new Error(message?.kind === 'string' ? message.value : 'fail');
}

/** Largest n `fib` accepts (naive recursion: fib(50) is already minutes of CPU). */
export const FIB_MAX_N = 50;

/** Naive recursive Fibonacci — CPU-bound on purpose. */
export function fibNaive(n: number): number {
  return n < 2 ? n : fibNaive(n - 1) + fibNaive(n - 2);
}

function fib(args: readonly ArgValue[]): string {
  return String(fibNaive(integerParam(args, 0, { task: 'fib', min: 0, max: FIB_MAX_N })));
}

async function sleepTask(args: readonly ArgValue[], ctx: TaskContext): Promise<string> {
  const ms = integerParam(args, 0, { task: 'sleep', min: 0, max: MAX_DELAY_MS, default: 1000 });
  await sleep(ms, ctx);
  return `slept ${ms} ms`;
}

async function longRunningTask(args: readonly ArgValue[], ctx: TaskContext): Promise<string> {
  // The original waited 1000 ms whatever its arguments; a leading integer argument sets the wait.
  const ms = isIntegerArg(args[0]) ? integerParam(args, 0, { task: 'long_running_task', min: 0, max: MAX_DELAY_MS }) : 1000;
  await sleep(ms, ctx);
  return `Processed async task with ${args.length} args`;
}

/** Registers the added built-ins (SPEC §5b) into `registry`. */
export function registerAddedTasks(registry: TaskRegistry): void {
  const builtin = { registry, source: 'builtin' } as const;
  syncTask(echo, { ...builtin, description: 'The decoded arguments as canonical JSON' });
  syncTask(concat, { ...builtin, description: 'String arguments joined with no separator' });
  syncTask(fail, { ...builtin, description: 'Always fails with the first string argument (or "fail")' });
  syncTask(fib, { ...builtin, worker: true, description: 'Naive recursive Fibonacci of n (0..50), CPU-bound on purpose (worker thread)' });
  asyncTask(sleepTask, { ...builtin, name: 'sleep', description: 'Waits n ms (default 1000), ends early when cancelled' });
  asyncTask(longRunningTask, { ...builtin, name: 'long_running_task', description: 'Waits 1000 ms (or n ms): "Processed async task with <n> args"' });
}
