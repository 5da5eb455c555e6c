/**
 * The server under attack: the real CLI (`node dist/src/cli/main.js`) in a child process on loopback,
 * its RSS sampled from /proc every 100 ms, its stdout/stderr counted (and kept, bounded, for probes that
 * look for a secret in it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';

/** A free loopback port (bound then released; good enough on a quiet loopback). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resident set size of `pid` in bytes (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface ServerUnderTest {
  readonly grpc: string;
  readonly metrics: string;
  readonly dashboard: string;
  readonly pid: number;
  /** Highest RSS seen so far, bytes. */
  peakRss(): number;
  /** Bytes the server wrote to stdout and stderr so far. */
  outputBytes(): number;
  /** The first 4 MiB of the output and the last 1 MiB (probes look for a secret in it). */
  stderrText(): string;
  /** Exit code, or undefined while it runs. */
  exited(): number | string | undefined;
  /** Called (once) when the RSS passes `bound`. */
  onRssOver(bound: number, listener: () => void): void;
  stop(): Promise<void>;
}

/**
 * Starts `node <cli> --addr 127.0.0.1:<port> …extraArgs` with the metrics endpoint and the dashboard on
 * their own loopback ports, and resolves once the gRPC port accepts (the "listening on" line), or
 * rejects with the output when it exits first.
 */
export async function startServer(cli: string, extraArgs: readonly string[], env: Record<string, string> = {}): Promise<ServerUnderTest> {
  const [grpcPort, metricsPort, dashboardPort] = [await freePort(), await freePort(), await freePort()];
  const grpc = `127.0.0.1:${grpcPort}`;
  const metrics = `127.0.0.1:${metricsPort}`;
  const dashboard = `127.0.0.1:${dashboardPort}`;
  // Output to a file, not a pipe: writes to a pipe are synchronous on Linux, so a busy abuser that
  // reads the pipe late would stall the server it measures.
  const logPath = path.join(mkdtempSync(path.join(tmpdir(), 'abuse-')), 'server.log');
  const logFd = openSync(logPath, 'w+');
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, '--addr', grpc, '--metrics-addr', metrics, '--dashboard-addr', dashboard, '--log-level', 'info', ...extraArgs],
    { stdio: ['ignore', logFd, logFd], env: { ...process.env, ...env } },
  );
  let exit: number | string | undefined;
  let peak = 0;
  let over: { bound: number; listener: () => void } | undefined;
  const outputBytes = () => fstatSync(logFd).size;
  const readAt = (position: number, length: number) => {
    const buffer = Buffer.alloc(Math.max(0, length));
    const read = readSync(logFd, buffer, 0, buffer.length, position);
    return buffer.subarray(0, read).toString('latin1');
  };
  const text = () => {
    const size = outputBytes();
    if (size <= 5 << 20) return readAt(0, size);
    return readAt(0, 4 << 20) + readAt(size - (1 << 20), 1 << 20);
  };
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    });
  });
  const sampler = setInterval(() => {
    const rss = rssOf(child.pid!);
    if (rss > peak) peak = rss;
    if (over && rss > over.bound) {
      const { listener } = over;
      over = undefined;
      listener();
    }
  }, 100);
  const stop = async () => {
    clearInterval(sampler);
    if (exit === undefined) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
    closeSync(logFd);
  };
  const started = Date.now();
  while (!/listening on/.test(readAt(0, 64 * 1024))) {
    if (exit !== undefined) {
      await stop();
      throw new Error(`server exited (${exit}) before listening: ${readAt(0, 2000)}`);
    }
    if (Date.now() - started > 20_000) {
      await stop();
      throw new Error(`server did not listen within 20 s: ${readAt(0, 2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    grpc,
    metrics,
    dashboard,
    pid: child.pid!,
    peakRss: () => Math.max(peak, rssOf(child.pid!)),
    outputBytes,
    stderrText: text,
    exited: () => exit,
    onRssOver(bound, listener) {
      over = { bound, listener };
    },
    stop,
  };
}
