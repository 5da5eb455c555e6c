/**
 * The well-behaved client: its own connection, one `add(1, 2)` at a time (5 s deadline) every 50 ms
 * while a probe runs; and the checks that the dashboard and metrics ports still answer.
 */
import { request } from 'node:http';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { toAny } from '../../src/args/encode-arg';

export const CALL_DEADLINE_MS = 5000;

export interface Observation {
  readonly calls: number;
  readonly failures: number;
  /** p99 latency of `add`, ms (a failed call counts as its full time). */
  readonly p99Ms: number;
}

/** A call's deadline, as nice-grpc takes it without the deadline middleware. */
export function deadline(ms = CALL_DEADLINE_MS): AbortSignal {
  return AbortSignal.timeout(ms);
}

/** One `add(1, 2)`: its latency in ms, or throws. */
export async function addOnce(connection: TaskSchedulerConnection, ms = CALL_DEADLINE_MS): Promise<number> {
  const started = performance.now();
  const response = await connection.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] }, { signal: deadline(ms) });
  if (response.result !== '3') throw new Error(`add answered ${JSON.stringify(response.result).slice(0, 100)}`);
  return performance.now() - started;
}

/** Starts the well-behaved client; `stop()` resolves with what it saw. */
export function observe(address: string, token?: string): { stop(): Promise<Observation> } {
  const connection = createTaskSchedulerClient(address, token ? { token } : {});
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        latencies.push(await addOnce(connection));
      } catch {
        failures++;
        latencies.push(performance.now() - started);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      connection.close();
      const sorted = [...latencies].sort((a, b) => a - b);
      const p99 = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
      return { calls: latencies.length, failures, p99Ms: p99 };
    },
  };
}

/** True when a fresh connection gets `add` answered within 5 s. */
export async function answers(address: string, token?: string): Promise<boolean> {
  const connection = createTaskSchedulerClient(address, token ? { token } : {});
  try {
    await addOnce(connection);
    return true;
  } catch {
    return false;
  } finally {
    connection.close();
  }
}

/** True when `GET http://<address><path>` answers (any status) within 5 s. */
export function httpAnswers(address: string, path: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: CALL_DEADLINE_MS, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
