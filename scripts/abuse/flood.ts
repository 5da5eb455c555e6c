/** Running one request shape many times at once, for a while, and counting how it was answered. */
import { ClientError, Status } from 'nice-grpc';

export interface FloodStats {
  ok: number;
  /** gRPC status name → count. */
  readonly errors: Map<string, number>;
  /** gRPC status name → first message seen (clipped). */
  readonly messages: Map<string, string>;
}

export function newStats(): FloodStats {
  return { ok: 0, errors: new Map(), messages: new Map() };
}

export function countError(stats: FloodStats, err: unknown): void {
  const code = err instanceof ClientError ? Status[err.code] ?? String(err.code) : err instanceof Error ? err.name : 'error';
  stats.errors.set(code, (stats.errors.get(code) ?? 0) + 1);
  if (!stats.messages.has(code)) stats.messages.set(code, (err instanceof ClientError ? err.details : String(err)).slice(0, 160));
}

/** `ok 12, RESOURCE_EXHAUSTED 3 ("… (--flag)")`. */
export function describe(stats: FloodStats): string {
  const parts = [`ok ${stats.ok}`];
  for (const [code, count] of stats.errors) parts.push(`${code} ${count} (${JSON.stringify(stats.messages.get(code) ?? '')})`);
  return parts.join(', ');
}

/**
 * Calls `call` from `lanes` loops until `until()` is true; each lane stops for good after
 * `stopAfterRefusals` refusals in a row (the server said no: the point is made).
 */
export async function flood(lanes: number, until: () => boolean, call: (i: number) => Promise<unknown>, stats: FloodStats, stopAfterRefusals = 200): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      let refusedInRow = 0;
      while (!until() && refusedInRow < stopAfterRefusals) {
        try {
          await call(next++);
          stats.ok++;
          refusedInRow = 0;
        } catch (err) {
          countError(stats, err);
          refusedInRow++;
        }
      }
    }),
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
