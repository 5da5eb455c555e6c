/**
 * Counts and settings of the two modes. Full mode is sized to finish in under 10 minutes on a 2-core
 * machine (~7–8 minutes measured); quick mode only proves every scenario runs end to end with
 * zero errors.
 */

/** Everything a run of the bench is parameterised by. */
export interface BenchConfig {
  readonly mode: 'full' | 'quick';
  /** Measured runs per variant (c, d); the report prints their medians. */
  readonly runs: number;
  /** Measured runs per variant of the h2load throughput scenarios (a, b): noisier, so more of them. */
  readonly throughputRuns: number;
  /** a: pause before each measured run, so the previous server's background GC work has settled. */
  readonly settleMs: number;
  /** Whether goals are judged (full) or only printed (quick: counts too small to mean anything). */
  readonly assertGoals: boolean;
  /** h2load connections and streams per connection (4 × 64 keeps ~256 calls in flight). */
  readonly clients: number;
  readonly streams: number;
  /** a: blocking add per measured run, and per warm-up run (JIT, connection set-up; not reported). */
  readonly addRequests: number;
  readonly warmupRequests: number;
  /** b: blocking echo of a ~1 KB nested argument per run. */
  readonly echoRequests: number;
  readonly echoArgBytes: number;
  /** c: detached sleeps per run, their length, and the client's in-flight bound per phase. */
  readonly sleepTasks: number;
  readonly sleepMs: number;
  readonly sleepSubmitConcurrency: number;
  readonly sleepWaitConcurrency: number;
  /** d: tasks per shape (chain, fan-in, independent). */
  readonly dependencyTasks: number;
  /**
   * e: fib(n) tasks per throughput run, kept `fibConcurrency` at a time, and runs per variant — more
   * than elsewhere: fib's JIT-compiled speed varies by up to ~1.5× from one process to the next, and
   * add's p99 under fib load swings between ~11 and ~50 ms from run to run on 2 cores.
   */
  readonly fibN: number;
  readonly fibConcurrency: number;
  readonly fibTasks: number;
  readonly fibRuns: number;
  /** e: add requests per latency run under fib load, and the offered rate per h2load connection. */
  readonly latencyRequests: number;
  readonly latencyRpsPerClient: number;
  /** e: add requests of the (unreported-goal) saturating run under fib load. */
  readonly saturatedRequests: number;
  /** f: stored results for the RSS figure (default store caps). */
  readonly storedResults: number;
  /** f: `--max-results` of the capped server, and the submission counts at which its RSS is sampled. */
  readonly cappedMaxResults: number;
  readonly cappedSamples: readonly number[];
}

/** The full benchmark (`npm run bench`). */
export const FULL: BenchConfig = Object.freeze({
  mode: 'full',
  runs: 3,
  throughputRuns: 5,
  settleMs: 1500,
  assertGoals: true,
  clients: 4,
  streams: 64,
  addRequests: 40_000,
  warmupRequests: 10_000,
  echoRequests: 20_000,
  echoArgBytes: 1024,
  sleepTasks: 10_000,
  sleepMs: 100,
  sleepSubmitConcurrency: 256,
  sleepWaitConcurrency: 1024,
  dependencyTasks: 1_000,
  fibN: 30,
  fibConcurrency: 8,
  fibTasks: 200,
  fibRuns: 5,
  latencyRequests: 5_000,
  latencyRpsPerClient: 250,
  saturatedRequests: 20_000,
  storedResults: 1_000_000,
  cappedMaxResults: 100_000,
  // 1M → 5M takes ~6 minutes on its own here, too long beside the rest; --memory-submissions 5000000 runs it.
  cappedSamples: [1_000_000, 2_000_000],
});

/** `npm run bench -- --quick`: every scenario end to end with small counts, 1 run, no goals judged. */
export const QUICK: BenchConfig = Object.freeze({
  ...FULL,
  mode: 'quick',
  runs: 1,
  throughputRuns: 1,
  settleMs: 100,
  assertGoals: false,
  addRequests: 5_000,
  warmupRequests: 1_000,
  echoRequests: 2_000,
  sleepTasks: 1_000,
  dependencyTasks: 100,
  fibTasks: 16,
  fibRuns: 1,
  latencyRequests: 500,
  saturatedRequests: 2_000,
  storedResults: 20_000,
  cappedMaxResults: 5_000,
  cappedSamples: [20_000, 40_000],
});
