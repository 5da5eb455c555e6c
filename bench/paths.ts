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
