/** Where the bench writes (bench/report.ts, bench/paths.ts): a quick run (CI's) never changes a tracked file. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FULL, QUICK } from '../../bench/bench-config';
import { BENCHMARKS_MD, QUICK_REPORT, reportFile } from '../../bench/paths';
import { writeBenchmarksMd, type BenchOutcome } from '../../bench/report';
import { ROOT, run } from '../helpers/cli';

const machine = { cores: 2, cpuModel: 'test CPU', memory: '1 GiB', kernel: 'Linux', node: 'v20', h2load: 'h2load test', date: '2026-01-01', loadAtStart: 0.5 };
const outcome = (config: typeof FULL): BenchOutcome => ({ config, machine, command: `npm run bench${config.mode === 'quick' ? ' -- --quick' : ''}`, reports: [], seconds: 1, loadAtEnd: 0.5 });

test('a quick run reports under test-output/, which git ignores; a full run rewrites BENCHMARKS.md', async () => {
  expect(reportFile('full')).toBe(BENCHMARKS_MD);
  expect(reportFile('quick')).toBe(QUICK_REPORT);
  expect(path.relative(ROOT, QUICK_REPORT)).toBe(path.join('test-output', 'BENCHMARKS.quick.md'));
  const ignored = await run('git', ['check-ignore', '-q', path.relative(ROOT, QUICK_REPORT)]);
  expect(ignored.status).toBe(0);
});

test('the quick report stands alone; a full run keeps the analysis and says where quick results go', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-bench-report-'));
  try {
    const quick = path.join(dir, 'out', 'quick.md');
    writeBenchmarksMd(quick, outcome(QUICK));
    expect(readFileSync(quick, 'utf8')).toMatch(/^# Quick bench run\n\nWritten by `npm run bench -- --quick`; not tracked\.[\s\S]*## Quick run/);

    const full = path.join(dir, 'BENCHMARKS.md');
    writeFileSync(full, '<!-- analysis:start (written by hand; kept by the bench) -->\nWhat bounds it.\n<!-- analysis:end -->\n');
    writeBenchmarksMd(full, outcome(FULL));
    const text = readFileSync(full, 'utf8');
    expect(text).toContain('What bounds it.');
    expect(text).toContain('## Full run');
    expect(text).toContain('write\n`test-output/BENCHMARKS.quick.md` (not tracked); they never change this file.');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
