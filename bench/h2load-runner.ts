/**
 * Drives a gRPC server with h2load (nghttp2): a C load generator that costs the machine ~0.05 core at
 * the loads used here, so the server under test gets a real core — a Node load generator would compete
 * with it for the two cores of a small machine. Throughput comes from h2load's summary; latency
 * percentiles from its per-request log (`--log-file`), since its summary only has min/mean/max/sd.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths';
import { trackCpu } from './proc-stats';
import { describeExit, startProcess, tail } from './process-runner';
import { percentileSorted } from './stats';

/** One h2load run. */
export interface H2loadOptions {
  /** `http://127.0.0.1:<port>/<service>/<method>` */
  readonly url: string;
  /** Body file: a gRPC frame (see grpc-frame.ts). */
  readonly dataFile: string;
  /** Total requests (`-n`): a fixed count, so a server-side counter can confirm every one. */
  readonly requests: number;
  /** Connections (`-c`). */
  readonly clients: number;
  /** Concurrent streams per connection (`-m`). */
  readonly streams: number;
  /** Rate cap per connection (`--rps`); none: as fast as the server answers. */
  readonly rps?: number;
  /** Per-request log for latency percentiles; omit for very long runs (it holds one line per request). */
  readonly logFile?: string;
}

/** Latency of the requests of one run, from h2load's per-request log ("time for request"). */
export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly count: number;
  /** Requests whose HTTP status was not 200 (h2load logs it per request). */
  readonly non200: number;
}

/** What one run measured. */
export interface H2loadResult {
  /** The exact command line (shell-quoted), for the report. */
  readonly command: string;
  /** Wall time h2load reports ("finished in"). */
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  readonly status2xx: number;
  readonly latency: Latency | undefined;
  /** CPU time h2load itself used (to show that the load generator is not the bottleneck). */
  readonly cpuSeconds: number;
}

/** A short shell-quoted rendering of a command, as a reader would paste it. */
export function shellQuote(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The installer `npm test`'s pretest uses (scripts/ensure-system-packages.js): one way to install system packages. */
interface SystemPackages {
  ensureSystemPackages(wanted: ReadonlyArray<{ command: string; pkg: string }>, log: (line: string) => void): void;
}

/**
 * Makes sure h2load exists: installs Debian's nghttp2-client when it is missing, with the same
 * installer as `npm test`'s pretest (apt-get, once, output to a log file). Throws with instructions
 * when that is impossible. Returns h2load's version line.
 */
export function ensureH2load(log: (line: string) => void): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ensureSystemPackages } = require(path.join(REPO_ROOT, 'scripts/ensure-system-packages.js')) as SystemPackages;
  try {
    ensureSystemPackages([{ command: 'h2load', pkg: 'nghttp2-client' }], log);
  } catch (error) {
    throw new Error(`h2load is required: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const version = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error('h2load is on PATH but `h2load --version` fails: check the installation (Debian: nghttp2-client).');
  return version.stdout.trim();
}

/** The argument list for {@link runH2load} (also what the report prints). */
export function h2loadArgs(options: H2loadOptions): string[] {
  const args = [
    '-n', String(options.requests),
    '-c', String(options.clients),
    '-m', String(options.streams),
    // gRPC over plain HTTP/2: POST (implied by -d), these two headers, and the framed message as the body.
    '-H', 'content-type: application/grpc',
    '-H', 'te: trailers',
    '-d', options.dataFile,
  ];
  if (options.rps !== undefined) args.push('--rps', String(options.rps));
  if (options.logFile !== undefined) args.push('--log-file', options.logFile);
  args.push(options.url);
  return args;
}

/** Runs h2load to completion and parses what it measured; throws when it could not run at all. */
export async function runH2load(options: H2loadOptions): Promise<H2loadResult> {
  const args = h2loadArgs(options);
  if (options.logFile) rmSync(options.logFile, { force: true }); // a stale log must never pass for this run's
  const proc = startProcess('h2load', 'h2load', args);
  const cpu = trackCpu(proc.pid);
  const status = await proc.exited;
  const cpuSeconds = cpu.stop();
  const out = proc.stdout();
  if (status.code !== 0) throw new Error(`h2load failed (${describeExit(status)}):\n${tail(out + proc.stderr())}`);
  const summary = parseSummary(out);
  return {
    command: shellQuote(['h2load', ...args]),
    ...summary,
    latency: options.logFile ? readLatency(options.logFile) : undefined,
    cpuSeconds,
  };
}

/** Parses h2load's summary lines ("finished in …", "requests: …", "status codes: …"). */
export function parseSummary(out: string): Omit<H2loadResult, 'command' | 'latency' | 'cpuSeconds'> {
  const finished = out.match(/finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/);
  const requests = out.match(/requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/);
  const codes = out.match(/status codes: (\d+) 2xx/);
  if (!finished || !requests || !codes) throw new Error(`cannot read h2load's summary:\n${tail(out)}`);
  const scale = finished[2] === 'us' ? 1e-6 : finished[2] === 'ms' ? 1e-3 : 1;
  return {
    seconds: Number(finished[1]) * scale,
    reqPerSec: Number(finished[3]),
    total: Number(requests[1]),
    succeeded: Number(requests[4]),
    failed: Number(requests[5]),
    errored: Number(requests[6]),
    timeout: Number(requests[7]),
    status2xx: Number(codes[1]),
  };
}

/** Reads h2load's per-request log: start time (µs since epoch), HTTP status, µs until the response ended. */
function readLatency(file: string): Latency {
  const lines = readFileSync(file, 'utf8').split('\n');
  const micros = new Float64Array(lines.length);
  let count = 0;
  let non200 = 0;
  for (const line of lines) {
    if (line === '') continue;
    const [, status, duration] = line.split('\t');
    if (status !== '200') non200++;
    micros[count++] = Number(duration);
  }
  const sorted = micros.subarray(0, count).sort();
  return {
    p50Ms: percentileSorted(sorted, 50) / 1000,
    p99Ms: percentileSorted(sorted, 99) / 1000,
    maxMs: (count > 0 ? sorted[count - 1]! : Number.NaN) / 1000,
    count,
    non200,
  };
}

/**
 * The checks every h2load run must pass: all requests done, HTTP 2xx, none failed/errored/timed out.
 * (gRPC failures still arrive as HTTP 200 — the scenarios verify grpc-status separately.)
 */
export function h2loadProblems(result: H2loadResult, expected: number): string[] {
  const problems: string[] = [];
  if (result.succeeded !== expected || result.status2xx !== expected) {
    problems.push(`h2load: ${result.succeeded} succeeded / ${result.status2xx} 2xx of ${expected}`);
  }
  if (result.failed + result.errored + result.timeout > 0) {
    problems.push(`h2load: ${result.failed} failed, ${result.errored} errored, ${result.timeout} timed out`);
  }
  if (result.latency && result.latency.non200 > 0) problems.push(`h2load: ${result.latency.non200} responses were not HTTP 200`);
  return problems;
}
