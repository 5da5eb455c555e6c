/**
 * The real command line (`node dist/src/cli/main.js`) in a child process — the one helper every test,
 * the soak run and the fuzz run use to start it. Its stdin stays open (for the interactive console),
 * stdout/stderr are collected so callers can wait for lines. Spawned asynchronously only: the server
 * under test often lives in the same process as the client, and a synchronous spawn would block it.
 * No jest types here: scripts compiled without jest (soak, fuzz) import it too.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest directory up from here with a package.json (also when compiled into dist/). */
export const ROOT = findRoot(__dirname);
/** The compiled CLI (`npm run build`), run as users run it. */
export const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

/** The console's default prompt, printed after every command but `exit`. */
export const PROMPT = 'task-scheduler> ';

/** A running CLI. */
export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The gRPC address from the ready line. */
  readonly address: string;
  /** The ready line (`Task Scheduler listening on …` and its JSON fields). */
  readonly readyLine: string;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves with the output after offset `from` once it matches `pattern`; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  /**
   * Writes one console command and resolves with what follows it up to and including `until`
   * (default: the next prompt, which the console prints after the command's own output).
   */
  command(line: string, until?: RegExp): Promise<string>;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** `Date.now()` when it exited; undefined while running. */
  exitedAt(): number | undefined;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILL if still running after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

/** How to start the CLI. */
export interface StartCliOptions {
  /** Extra environment (merged over this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line (default 30 s: the CI machine is slow). */
  readonly readyTimeoutMs?: number;
  /**
   * A command to run the CLI under, e.g. `['nsenter', '--target', pid, '--mount', …]`: `node main.js …`
   * follows it. It must exec node in place (not fork), so that signals reach the server.
   */
  readonly prefix?: readonly string[];
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PROMPT_PATTERN = new RegExp(escapeRegExp(PROMPT));
const READY = /[^\n]*Task Scheduler listening on (\S+)[^\n]*\n/;

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${from}`);
  }
}

/** Throws a clear error when the CLI has not been compiled. */
export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
}

/** Starts the CLI with `args` and resolves once its ready line names the address (rejects if it exits first). */
export function startCli(args: readonly string[], options: StartCliOptions = {}): Promise<CliProcess> {
  assertBuilt();
  const [command, ...prefixArgs] = options.prefix ?? [process.execPath];
  const argv = options.prefix ? [...prefixArgs, process.execPath, MAIN, ...args] : [MAIN, ...args];
  const child = spawn(command!, argv, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    notify();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  // Writing to a console that has already exited must fail the test that did it, not the process.
  child.stdin.on('error', () => undefined);
  let exitCode: number | null | undefined;
  let exitTime: number | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      exitTime = Date.now();
      resolve(code);
      notify();
    }),
  );

  const waitFor = (pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const tail = output.slice(from);
        if (pattern.test(tail)) {
          done();
          resolve(tail);
        } else if (exitCode !== undefined) {
          done();
          reject(new Error(`the CLI exited (${exitCode}) before printing ${pattern}; output after offset ${from}:\n${tail}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; output after offset ${from}:\n${output.slice(from)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  return waitFor(READY, 0, options.readyTimeoutMs ?? 30_000).then((text) => {
    const readyLine = READY.exec(text)!;
    return {
      child,
      address: readyLine[1]!,
      readyLine: readyLine[0].trimEnd(),
      output: () => output,
      waitFor,
      async command(line, until = PROMPT_PATTERN) {
        const from = output.length;
        child.stdin.write(`${line}\n`);
        const tail = await waitFor(until, from);
        const match = until.exec(tail)!;
        return tail.slice(0, match.index + match[0].length);
      },
      exited,
      exitedAt: () => exitTime,
      async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 30_000) {
        if (exitCode !== undefined) return exitCode;
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }, (err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
}

/** Kills a CLI left running by a failed test (no-op once it has exited). */
export async function killCli(cli: CliProcess | undefined): Promise<void> {
  if (!cli || cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGKILL');
  await cli.exited;
}

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

/** Runs the CLI to completion (for flags that make it exit at once: --help, bad flags, a busy port). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  assertBuilt();
  return run(process.execPath, [MAIN, ...args], { env });
}
