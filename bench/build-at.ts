/**
 * Older builds for same-run comparisons ("this build vs the build before the change"): a commit is
 * checked out in a temporary git worktree that shares this repository's node_modules, and compiled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths';

const git = (args: readonly string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();

/** The parent of the last commit that touched `file` (e.g. the one that deleted it). */
export function beforeLastChangeOf(file: string): string {
  const change = git(['rev-list', '-1', 'HEAD', '--', file]);
  if (!change) throw new Error(`no commit touches ${file}: cannot find the build before it`);
  return git(['rev-parse', `${change}^`]);
}

/** The parent of the first commit that touched `file` (e.g. the one that created it). */
export function beforeFirstChangeOf(file: string): string {
  const first = git(['rev-list', '--reverse', 'HEAD', '--', file]).split('\n')[0];
  if (!first) throw new Error(`no commit touches ${file}: cannot find the build before it`);
  return git(['rev-parse', `${first}^`]);
}

/** Builds `commit` in a temporary worktree (sharing node_modules); returns its CLI and a cleanup. */
export function buildAt(commit: string, log: (line: string) => void): { main: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ts-bench-before-'));
  rmSync(dir, { recursive: true, force: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: REPO_ROOT, stdio: 'ignore' });
  const remove = () => {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: REPO_ROOT, stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    log(`  building ${commit.slice(0, 10)} in ${dir}`);
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: dir, stdio: 'ignore', timeout: 600_000 });
    const main = path.join(dir, 'dist/src/cli/main.js');
    if (!existsSync(main)) throw new Error(`the build of ${commit} made no ${main}`);
    return { main, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
