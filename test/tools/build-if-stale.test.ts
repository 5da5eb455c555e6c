/** `npm start`'s build step (scripts/build-if-stale.js): when it compiles, on a throwaway tree. */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildNeeded } = require('../../scripts/build-if-stale.js') as { buildNeeded(root: string): 'up-to-date' | 'build' | 'rebuild' };

let root: string;
/** Sets a file's modification time `secondsAgo` in the past (creating it). */
function write(file: string, secondsAgo: number): void {
  const full = path.join(root, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, '');
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(full, at, at);
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ts-build-if-stale-'));
  for (const file of ['src/cli/main.ts', 'src/app.ts', 'generated/x.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) write(file, 60);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('no build yet: build', () => {
  expect(buildNeeded(root)).toBe('build');
});

test('built after every input: nothing to do (tsc is not even loaded)', () => {
  write('dist/src/cli/main.js', 10);
  write('dist/tsconfig.build.tsbuildinfo', 10);
  expect(buildNeeded(root)).toBe('up-to-date');
  // Files that are not inputs do not count.
  write('src/dashboard/public/app.js', 0);
  write('README.md', 0);
  expect(buildNeeded(root)).toBe('up-to-date');
});

test.each(['src/app.ts', 'generated/x.ts', 'src/new/module.ts', 'tsconfig.build.json', 'package-lock.json'])('%s changed since the build: build', (file) => {
  write('dist/src/cli/main.js', 10);
  write('dist/tsconfig.build.tsbuildinfo', 10);
  write(file, 0);
  expect(buildNeeded(root)).toBe('build');
});

test('the entry point deleted by hand while the build info stayed: rebuild everything', () => {
  write('dist/src/cli/main.js', 10);
  write('dist/tsconfig.build.tsbuildinfo', 10);
  unlinkSync(path.join(root, 'dist/src/cli/main.js'));
  expect(buildNeeded(root)).toBe('rebuild');
});
