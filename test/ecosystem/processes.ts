/**
 * Child processes for the ecosystem tests besides the CLI (test/helpers/cli.ts): `buf curl`, `openssl`.
 * Always run asynchronously: the server under test often lives in the jest process, and a synchronous
 * spawn would block its event loop (the child would then wait forever for an answer).
 */
import path from 'node:path';
import { ROOT, run, type Finished } from '../helpers/cli';

export { run, runCli, startCli, type Finished } from '../helpers/cli';
export const BUF = path.join(ROOT, 'node_modules/.bin/buf');

/** `buf curl <args>`; `cwd` defaults to a directory of the caller's choosing (no proto files there). */
export function bufCurl(args: readonly string[], cwd: string): Promise<Finished> {
  return run(BUF, ['curl', ...args], { cwd, timeoutMs: 45_000 });
}
