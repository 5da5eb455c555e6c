/** Command-line of the long runs: `--minutes N` or `--seconds N` (bounded), `--seed S`. */
import { readFileSync } from 'node:fs';

export interface RunOptions {
  readonly durationMs: number;
  readonly seed: number;
}

export function parseRunOptions(argv: readonly string[], defaults: RunOptions, usage: string): RunOptions {
  let { durationMs, seed } = defaults;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = Number(argv[i + 1]);
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    if (!['--minutes', '--seconds', '--seed'].includes(flag) || !Number.isFinite(value) || value < 0) {
      process.stderr.write(`unknown or bad option ${flag} ${argv[i + 1] ?? ''}\n${usage}\n`);
      process.exit(2);
    }
    i++;
    if (flag === '--minutes') durationMs = value * 60_000;
    else if (flag === '--seconds') durationMs = value * 1000;
    else seed = Math.floor(value);
  }
  // Bounded on purpose: a forgotten run must not hold the machine for hours.
  if (durationMs > 24 * 3_600_000) {
    process.stderr.write('at most 24 hours\n');
    process.exit(2);
  }
  return { durationMs, seed };
}

/** Resident memory of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

export const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

/** A markdown table. */
export function table(head: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
