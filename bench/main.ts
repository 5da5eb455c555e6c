/**
 * `npm run bench [-- --quick] [-- --only a,c] [-- --memory-submissions N]`: runs the scenarios in order,
 * prints the results table and rewrites BENCHMARKS.md (a quick run writes test-output/BENCHMARKS.quick.md
 * instead, never a tracked file). Exit code 1 only when a scenario did not complete
 * or a call failed or answered wrongly; a missed goal is reported, never fatal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FULL, QUICK, type BenchConfig } from './bench-config';
import { ensureH2load } from './h2load-runner';
import { loadAverage, machineInfo } from './machine';
import { REPO_ROOT, reportFile } from './paths';
import { machineCpu, ownCpuSeconds, type MachineCpu } from './proc-stats';
import { killAllChildren, runningChildren } from './process-runner';
import { consoleErrors, consoleTable, writeBenchmarksMd } from './report';
import type { Scenario, ScenarioContext, ScenarioReport } from './scenario';
import { addVsBaseline } from './scenarios/a-add-vs-baseline';
import { echoNested } from './scenarios/b-echo-nested';
import { detachedSleep } from './scenarios/c-detached-sleep';
import { dependencies } from './scenarios/d-dependencies';
import { cpuPool } from './scenarios/e-cpu-pool';
import { memory } from './scenarios/f-memory';
import { redisStore } from './scenarios/g-redis-store';
import { sqliteStore } from './scenarios/h-sqlite-store';
import { tracing } from './scenarios/i-tracing';
import { scheduling } from './scenarios/j-scheduling';
import { workflowBatch } from './scenarios/k-workflow-batch';

const SCENARIOS: readonly Scenario[] = [addVsBaseline, echoNested, detachedSleep, dependencies, cpuPool, memory, redisStore, sqliteStore, tracing, scheduling, workflowBatch];

const USAGE = `usage: npm run bench [-- options]
  --quick                    every scenario once with small counts (< 60 s); goals not judged
  --only <ids>               comma-separated scenario ids (a..k)
  --memory-submissions <n>   f: sample the capped server's RSS every 1M submissions up to n (full default 2M)
  -h, --help`;

function parseCommandLine(argv: string[]): { config: BenchConfig; only: Set<string> } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'memory-submissions': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  let config: BenchConfig = values.quick ? QUICK : FULL;
  const memorySubmissions = values['memory-submissions'];
  if (memorySubmissions !== undefined) {
    const total = Number(memorySubmissions);
    if (!Number.isSafeInteger(total) || total < 2_000_000 || total % 1_000_000 !== 0) {
      throw new Error(`--memory-submissions must be a whole number of millions ≥ 2000000, got ${JSON.stringify(memorySubmissions)}`);
    }
    config = { ...config, cappedSamples: Array.from({ length: total / 1_000_000 }, (_, i) => (i + 1) * 1_000_000) };
  }
  const ids = new Set(SCENARIOS.map((scenario) => scenario.id));
  const only = new Set((values.only ?? [...ids].join(',')).split(',').map((id) => id.trim()).filter((id) => id !== ''));
  for (const id of only) if (!ids.has(id)) throw new Error(`--only: unknown scenario '${id}' (known: ${[...ids].join(', ')})`);
  return { config, only };
}

/**
 * How busy the machine was during a scenario, and how much of that was not the bench (other people's
 * tests, builds…): the first thing to check when a figure looks off.
 */
function interference(before: MachineCpu, after: MachineCpu, ownSeconds: number, wallSeconds: number): string {
  const cores = (seconds: number) => (seconds / wallSeconds).toFixed(2);
  const others = Math.max(0, after.processes - before.processes - ownSeconds);
  return `machine during this scenario: the bench and its servers ${cores(ownSeconds)} cores, other processes ${cores(others)} cores, interrupts ${cores(after.interrupts - before.interrupts)}, steal ${cores(after.steal - before.steal)} (of ${availableParallelism()})`;
}

async function main(): Promise<number> {
  const started = performance.now();
  let parsed;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (!parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { config, only } = parsed;
  const log = (line: string) => process.stdout.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

  let h2loadVersion: string;
  try {
    h2loadVersion = ensureH2load(log);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const machine = machineInfo(h2loadVersion);
  log(`${config.mode} mode on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, ${machine.h2load}, load average ${machine.loadAtStart.toFixed(2)}`);

  const workDir = mkdtempSync(path.join(tmpdir(), 'task-scheduler-bench-'));
  // Also on Ctrl-C / kill, which end the process without reaching the `finally` below.
  process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
  const ctx: ScenarioContext = { config, workDir, shared: {}, log };
  const reports: ScenarioReport[] = [];
  try {
    for (const scenario of SCENARIOS) {
      if (!only.has(scenario.id)) continue;
      const report: ScenarioReport = { id: scenario.id, title: scenario.title, figures: [], notes: [], errors: [], commands: [], seconds: 0 };
      reports.push(report);
      log(`${scenario.id}. ${scenario.title}`);
      const t0 = performance.now();
      const machine0 = machineCpu();
      const own0 = ownCpuSeconds();
      try {
        await scenario.run(ctx, report);
      } catch (error) {
        report.errors.push(`did not complete: ${error instanceof Error ? error.message : String(error)}`);
      }
      report.seconds = (performance.now() - t0) / 1000;
      if (runningChildren() > 0) {
        // A scenario must stop its servers; if one leaked, kill it now so it cannot skew the next.
        report.errors.push(`${runningChildren()} child process(es) still running after the scenario: killed`);
        killAllChildren();
      }
      report.notes.push(interference(machine0, machineCpu(), ownCpuSeconds() - own0, report.seconds));
      for (const figure of report.figures) log(`  ${figure.label}: ${figure.value}${figure.goal !== '—' ? ` (goal ${figure.goal}: ${figure.verdict})` : ''}`);
      log(`  ${report.notes.at(-1)!}`);
      for (const error of report.errors) log(`  ERROR: ${error}`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - started) / 1000;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const outcome = { config, machine, command, reports, seconds, loadAtEnd: loadAverage() };
  process.stdout.write(`\n${consoleTable(outcome)}\n`);
  const errors = consoleErrors(outcome);
  if (errors) process.stdout.write(`\nErrors:\n${errors}\n`);
  const report = reportFile(config.mode);
  writeBenchmarksMd(report, outcome);
  process.stdout.write(`\n${config.mode} bench finished in ${seconds.toFixed(1)} s (after the build); results written to ${path.relative(REPO_ROOT, report)}\n`);
  return errors ? 1 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
