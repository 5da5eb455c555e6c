import { readFileSync } from 'node:fs';
/**
 * Where things are. The harness compiles to dist/bench/ (see bench/tsconfig.json: rootDir is the
 * repository root, outDir dist), so the repository root is two levels above this compiled file.
 */
import path from 'node:path';

/** The repository root (cwd of every server, so `./libraries` resolves as with `npm start`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The compiled CLI entry point the benchmark serves, exactly as users run it. */
export const SERVER_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** The bare grpc-js baseline server (compiled from bench/baseline-server.ts). */
export const BASELINE_MAIN = path.join(REPO_ROOT, 'dist', 'bench', 'baseline-server.js');

/** The report the bench regenerates. */
export const BENCHMARKS_MD = path.join(REPO_ROOT, 'BENCHMARKS.md');

/**
 * The node flags `npm start` runs the server with (package.json `config.nodeFlags`), so the bench
 * measures the server as users start it.
 */
export const SERVER_NODE_FLAGS: readonly string[] = readServerNodeFlags();

function readServerNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { config?: { nodeFlags?: string } };
  return (manifest.config?.nodeFlags ?? '').split(/\s+/).filter((flag) => flag !== '');
}
