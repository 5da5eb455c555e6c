#!/usr/bin/env node
/**
 * `npm start`'s build step: compiles to dist/ only when a source changed since the last build.
 *
 *   node scripts/build-if-stale.js
 *
 * The build itself is `tsc -b tsconfig.build.json` (incremental, `dist/tsconfig.build.tsbuildinfo`),
 * which already skips an unchanged project — but loading TypeScript to find that out costs ~0.5 s. This
 * first compares modification times (a few hundred stat calls, ~30 ms): when no input is newer than the
 * build info and the CLI's entry point exists, nothing runs. Otherwise tsc -b decides (it compares
 * contents, so a touched but unchanged file costs only that check) and builds what changed. When the
 * entry point is gone but the build info is not (files deleted by hand), it rebuilds everything.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** What the build reads: the sources, and the files that configure it or its dependencies' types. */
const INPUT_DIRS = ['src', 'generated'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** The newest modification time (ms) under `dir`, TypeScript sources only. */
function newestIn(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestIn(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * What the build of the package at `root` needs: `up-to-date` (nothing newer than the build info),
 * `build` (an input is newer, or there is no build yet: tsc -b), or `rebuild` (the entry point is gone
 * but the build info is not — files deleted by hand, which tsc -b would call up to date: tsc -b --force).
 */
function buildNeeded(root = ROOT) {
  const buildInfo = path.join(root, 'dist/tsconfig.build.tsbuildinfo');
  if (!fs.existsSync(buildInfo)) return 'build';
  if (!fs.existsSync(path.join(root, 'dist/src/cli/main.js'))) return 'rebuild';
  const built = fs.statSync(buildInfo).mtimeMs;
  const newestInput = Math.max(
    ...INPUT_DIRS.map((dir) => newestIn(path.join(root, dir))),
    ...INPUT_FILES.map((file) => fs.statSync(path.join(root, file)).mtimeMs),
  );
  return newestInput > built ? 'build' : 'up-to-date';
}

/** Runs tsc -b when {@link buildNeeded} says so; returns the exit code. */
function buildIfStale(root = ROOT) {
  const needed = buildNeeded(root);
  if (needed === 'up-to-date') return 0;
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const result = spawnSync(process.execPath, [tsc, '-b', ...(needed === 'rebuild' ? ['--force'] : []), 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // tsc -b leaves the build info's time alone when nothing needed compiling; touch it so the cheap check passes next time.
  const buildInfo = path.join(root, 'dist/tsconfig.build.tsbuildinfo');
  if (result.status === 0 && fs.existsSync(buildInfo)) {
    const now = new Date();
    fs.utimesSync(buildInfo, now, now);
  }
  return result.status ?? 1;
}

module.exports = { buildNeeded, buildIfStale };

if (require.main === module) process.exitCode = buildIfStale();
