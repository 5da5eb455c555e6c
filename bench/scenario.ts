/** What every scenario module shares: its context, what it reports, and how goals are judged. */
import type { BenchConfig } from './bench-config';

/** PASS/MISS against a goal; `—` where there is no goal or goals are not asserted (quick mode). */
export type Verdict = 'PASS' | 'MISS' | '—';

/** One printed figure. */
export interface Figure {
  readonly label: string;
  readonly value: string;
  readonly goal: string;
  readonly verdict: Verdict;
}

/**
 * What a scenario found. Filled in as the scenario goes, so what was measured before a failure is still
 * reported. `errors` make the bench exit non-zero; a MISS never does.
 */
export interface ScenarioReport {
  readonly id: string;
  readonly title: string;
  readonly figures: Figure[];
  /** Raw per-run data, CPU use, settings worth knowing. */
  readonly notes: string[];
  /** Wrong answers, non-OK statuses, a scenario that did not complete. */
  readonly errors: string[];
  /** Exact command lines (servers and h2load), deduplicated by the report. */
  readonly commands: string[];
  seconds: number;
}

/** Figures one scenario hands to a later one (b compares with a's throughput). */
export interface SharedFigures {
  addReqPerSec?: number;
}

/** What a scenario runs with. */
export interface ScenarioContext {
  readonly config: BenchConfig;
  /** A private temporary directory for request bodies and h2load logs. */
  readonly workDir: string;
  readonly shared: SharedFigures;
  /** A progress line on the console. */
  log(line: string): void;
}

/** A benchmark scenario (one module each under scenarios/). */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: ScenarioContext, report: ScenarioReport): Promise<void>;
}

/** PASS/MISS when goals are asserted (full mode), `—` otherwise (quick mode: counts too small to judge). */
export function judge(ctx: ScenarioContext, met: boolean): Verdict {
  return ctx.config.assertGoals ? (met ? 'PASS' : 'MISS') : '—';
}

/** A figure with no goal. */
export function info(label: string, value: string): Figure {
  return { label, value, goal: '—', verdict: '—' };
}
