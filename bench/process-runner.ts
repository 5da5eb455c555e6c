/**
 * Child processes of the bench (servers, h2load): started through one place so that every one
 * of them is killed when the bench exits — normally, on an error, or on Ctrl-C. A stray server would
 * hold a port and a core and skew the next run.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How a child ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started child process. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** Whether it is still running. */
  running(): boolean;
  /** Everything written to stdout so far (capped to the last {@link MAX_KEPT_OUTPUT} characters). */
  stdout(): string;
  /** Everything written to stderr so far (capped likewise). */
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr; rejects on exit or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/** Output kept per stream: enough for error messages and h2load's summary, bounded for chatty children. */
export const MAX_KEPT_OUTPUT = 256 * 1024;

const children = new Set<ChildProcess>();
let handlersInstalled = false;

function keepTail(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > MAX_KEPT_OUTPUT ? joined.slice(joined.length - MAX_KEPT_OUTPUT) : joined;
}

/** Starts `command args…` (no shell: arguments reach it exactly as given, empty strings included). */
export function startProcess(name: string, command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningProcess {
  installCleanupHandlers();
  const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out = keepTail(out, chunk); notify(); });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err = keepTail(err, chunk); notify(); });
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    // 'close' (not 'exit') so that all output has been read when we resolve.
    child.on('close', (code, signal) => {
      children.delete(child);
      status = { code, signal };
      notify();
      resolve(status);
    });
    child.on('error', (error) => {
      children.delete(child);
      err = keepTail(err, `\n[bench] cannot run ${command}: ${error.message}\n`);
      status = { code: null, signal: null };
      notify();
      resolve(status);
    });
  });
  // When spawn fails (ENOENT…) pid is undefined and 'error' resolves `exited`.
  const proc: RunningProcess = {
    name,
    pid: child.pid ?? -1,
    exited,
    running: () => status === undefined,
    stdout: () => out,
    stderr: () => err,
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = (out + '\n' + err).match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (status !== undefined) {
            done();
            reject(new Error(`${name} exited (${describeExit(status)}) before printing ${pattern}:\n${tail(out + err)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${tail(out + err)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (status !== undefined) return status;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  return proc;
}

/** `code 1`, `signal SIGKILL`… for messages. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${String(status.code)}`;
}

/** The last lines of some output, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGKILLs every child still running. Synchronous, so it also works from an 'exit' handler. */
export function killAllChildren(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
}

/** Number of children still running (the bench checks it is 0 before it exits). */
export function runningChildren(): number {
  return children.size;
}

/**
 * Kills children whatever way the bench ends. 'exit' covers normal ends and process.exit; the signal
 * handlers cover Ctrl-C / kill (whose default action would skip 'exit' handlers); uncaught errors are
 * reported and end the bench with code 1.
 */
function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n[bench] ${signal}: stopping every child process\n`);
      killAllChildren();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`[bench] uncaught error: ${error.stack ?? error.message}\n`);
    killAllChildren();
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`[bench] unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
    killAllChildren();
    process.exit(1);
  });
}
