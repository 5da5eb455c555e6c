/**
 * The real command line (`node dist/src/cli/main.js`) in a child process, with its stdin open so tests
 * can drive the interactive console, and its stdout/stderr collected so they can wait for lines.
 * Spawned asynchronously only: tests may run an in-process server at the same time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
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
  /** Resolves with the output after offset `from` once it matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  /**
   * Writes one console command and resolves with what follows it up to and including `until`
   * (default: the next prompt, which the console prints after the command's own output).
   */
  command(line: string, until?: RegExp): Promise<string>;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code; SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PROMPT_PATTERN = new RegExp(escape(PROMPT));

/** Starts the CLI with `args` and resolves once its ready line names the address. */
export function startCli(args: readonly string[], readyTimeoutMs = 30_000): Promise<CliProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  // Writing to a console that has already exited must fail the test that did it, not the process.
  child.stdin.on('error', () => undefined);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
      for (const listener of [...listeners]) listener();
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

  return waitFor(/Task Scheduler listening on (\S+)[^\n]*\n/, 0, readyTimeoutMs).then((text) => {
    const readyLine = /[^\n]*Task Scheduler listening on (\S+)[^\n]*/.exec(text)!;
    return {
      child,
      address: readyLine[1]!,
      readyLine: readyLine[0],
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
      async stop(timeoutMs = 30_000) {
        if (exitCode !== undefined) return exitCode;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
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
