import { existsSync, readFileSync } from 'node:fs';
/**
 * Where things are. The harness compiles to dist/bench/ (see bench/tsconfig.json: rootDir is the
 * repository root, outDir dist), so the repository root is two levels above this compiled file.
 */
import path from 'node:path';

/**
 * The repository root (cwd of every server, so `./libraries` resolves as with `npm start`): the nearest
 * directory up from here with a package.json — two levels up when compiled (dist/bench), one under
 * ts-jest (bench/).
 */
export const REPO_ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${from}`);
  }
}

/** The compiled CLI entry point the benchmark serves, exactly as users run it. */
export const SERVER_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** The bare grpc-js baseline server (compiled from bench/baseline-server.ts). */
export const BASELINE_MAIN = path.join(REPO_ROOT, 'dist', 'bench', 'baseline-server.js');

/** The report full runs regenerate (tracked). */
export const BENCHMARKS_MD = path.join(REPO_ROOT, 'BENCHMARKS.md');

/**
 * Where quick runs (`--quick`, CI's smoke test) write their report: under test-output/, which git
 * ignores, so a quick run never changes a tracked file.
 */
export const QUICK_REPORT = path.join(REPO_ROOT, 'test-output', 'BENCHMARKS.quick.md');

/** The report file of a run in `mode`. */
export function reportFile(mode: 'full' | 'quick'): string {
  return mode === 'quick' ? QUICK_REPORT : BENCHMARKS_MD;
}

/**
 * The node flags `npm start` runs the server with (package.json `config.nodeFlags`), so the bench
 * measures the server as users start it.
 */
export const SERVER_NODE_FLAGS: readonly string[] = readServerNodeFlags();

function readServerNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { config?: { nodeFlags?: string } };
  return (manifest.config?.nodeFlags ?? '').split(/\s+/).filter((flag) => flag !== '');
}
