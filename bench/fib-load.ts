/**
 * CPU-bound background load from a Node client: `concurrency` blocking fib(n) calls kept in flight (a
 * new one starts as soon as one answers), every answer checked.
 */
import { TaskResponse_Status } from '../generated/taskscheduler/task_scheduler';
import { toAny } from '../src/args/encode-arg';
import type { ServerUnderTest } from './servers';

/** fib(n) by iteration — the expected answer, computed without the server's code. */
export function fibonacci(n: number): string {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

/** One blocking fib(n) call; resolves with a problem description, or undefined when right. */
export async function callFib(server: ServerUnderTest, n: number): Promise<string | undefined> {
  const answer = await server.connection.client.submitTask({ method: 'fib', args: [toAny(n)] });
  const expected = fibonacci(n);
  return answer.status === TaskResponse_Status.SUCCESS && answer.result === expected
    ? undefined
    : `fib(${n}) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}, expected SUCCESS "${expected}"`;
}

/** A running background load. */
export interface FibLoad {
  /** Stops starting new calls, waits for those in flight; resolves with how many completed and what went wrong. */
  stop(): Promise<{ completed: number; problems: string[] }>;
}

/** Starts keeping `concurrency` fib(n) calls in flight against `server`. */
export function startFibLoad(server: ServerUnderTest, n: number, concurrency: number): FibLoad {
  let stopping = false;
  let completed = 0;
  const problems: string[] = [];
  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        const problem = await callFib(server, n);
        if (problem) problems.push(problem);
        else completed++;
      } catch (error) {
        problems.push(`fib(${n}) failed: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return { completed, problems };
    },
  };
}
