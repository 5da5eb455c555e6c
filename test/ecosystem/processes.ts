/**
 * Child processes for the ecosystem tests — the CLI, `buf curl`, `openssl` — always run
 * asynchronously: the server under test often lives in the jest process, and a synchronous spawn
 * would block its event loop (the child would then wait forever for an answer).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
/** The compiled CLI (`npm run build`), run as users run it. */
export const MAIN = path.join(ROOT, 'dist/src/cli/main.js');
export const BUF = path.join(ROOT, 'node_modules/.bin/buf');

/** How a finished child process ended. */
export interface Finished {
  /** Exit code; -1 when killed by a signal or the timeout, or when it could not start. */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args` to completion without blocking this process (killed after `timeoutMs`). */
export function run(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : err ? -1 : 0;
        resolve({ status: code, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI to completion (for flags that make it exit at once). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  assertBuilt();
  return run(process.execPath, [MAIN, ...args], { env });
}

/** `buf curl <args>`; `cwd` defaults to a directory of the caller's choosing (no proto files there). */
export function bufCurl(args: readonly string[], cwd: string): Promise<Finished> {
  return run(BUF, ['curl', ...args], { cwd, timeoutMs: 45_000 });
}

/** A CLI server running in a child process. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** `host:port` from the ready line. */
  readonly address: string;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the CLI and resolves once its ready line names the address (rejects if it exits first). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunningCli> {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Task Scheduler listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          address: match[1]!,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready:\n${output}`));
    });
  });
}

function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
}
