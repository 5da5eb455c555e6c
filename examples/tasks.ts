// Your own tasks, in TypeScript: `npm start -- --task-module examples/tasks.ts`
import { asyncTask, InvalidArgumentsError, Long, syncTask, type ArgValue } from 'task-scheduler';

export const greet = syncTask(function greet(args: readonly ArgValue[]) {
  const who = args[0];
  if (who?.kind !== 'string') throw new InvalidArgumentsError('greet expects a string at args[0]');
  return `hello ${who.value}`;
}, { description: 'Greets someone' });

// 64-bit integers arrive as exact `Long`s: int64 max + 1 is not rounded.
syncTask(function sum_int64(args) {
  let sum = Long.ZERO;
  args.forEach((value, i) => {
    if (value.kind !== 'int64') throw new InvalidArgumentsError(`sum_int64 expects int64 values, args[${i}] is ${value.kind}`);
    sum = sum.add(value.value);
  });
  return sum.toString();
}, { description: 'Exact sum of int64 arguments' });

// CPU-bound: runs on a worker thread, so it never delays other calls, and a timeout or cancel stops it.
syncTask(function count_primes(args) {
  const n = args[0]?.kind === 'int32' ? args[0].value : 0;
  const composite = new Uint8Array(Math.max(n, 0));
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return String(count);
}, { worker: true, description: 'How many primes are below n' });

asyncTask(async function join_deps(_args, ctx) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  if (ctx.signal.aborted) throw ctx.signal.reason;          // cancelled or timed out
  return [...ctx.dependencyResults.values()].join('+');     // results of the task's deps, in order
}, { description: "Joins its dependencies' results" });
