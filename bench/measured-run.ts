/**
 * One measured h2load run against one server: the server's counters and CPU time are read just before
 * and just after, so every run is both timed and verified (and we see where the CPU went).
 */
import { h2loadProblems, runH2load, type H2loadOptions, type H2loadResult } from './h2load-runner';
import { countProblems } from './metrics';
import { verifyAdd, type ServerUnderTest } from './servers';

/** A verified run. */
export interface MeasuredRun {
  readonly h2load: H2loadResult;
  /** CPU seconds the server used during the run (all its threads). */
  readonly serverCpuSeconds: number;
  /** How its successes were confirmed. */
  readonly verifiedBy: 'server counters' | 'sampled call';
  /** Empty when every call succeeded. */
  readonly problems: string[];
}

/**
 * Runs h2load against `server` and verifies the run: h2load's own counts, then the server's OK/non-OK
 * counters (or, for a server without counters, a sampled `add` call afterwards — weaker, and said so).
 * `okVia` counts a method's successful tasks instead of OK calls, for runs that share the server with
 * other traffic.
 */
export async function measuredRun(
  server: ServerUnderTest,
  options: Omit<H2loadOptions, 'url'>,
  okVia?: { method: string },
): Promise<MeasuredRun> {
  const before = await server.counts();
  const cpuBefore = server.cpu();
  const h2load = await runH2load({ ...options, url: server.submitUrl });
  const serverCpuSeconds = server.cpu() - cpuBefore;
  const problems = h2loadProblems(h2load, options.requests);
  const afterPromise = server.counts();
  if (before && afterPromise) {
    problems.push(...countProblems(before, await afterPromise, options.requests, okVia));
    return { h2load, serverCpuSeconds, verifiedBy: 'server counters', problems };
  }
  try {
    await verifyAdd(server);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return { h2load, serverCpuSeconds, verifiedBy: 'sampled call', problems };
}

/** `server 0.98 core, h2load 0.04 core` — CPU use over the run's wall time. */
export function cpuShare(run: MeasuredRun): string {
  const wall = run.h2load.seconds;
  return `server ${(run.serverCpuSeconds / wall).toFixed(2)} core, h2load ${(run.h2load.cpuSeconds / wall).toFixed(2)} core`;
}
