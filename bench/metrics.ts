/**
 * Independent success counting. h2load counts a gRPC error as a success (it arrives as HTTP 200 with a
 * non-zero grpc-status in the trailers), so each run is checked against the server's own counters: our
 * server's Prometheus endpoint, or the baseline's count endpoint.
 */
import { get } from 'node:http';

/** GETs `url` and resolves with the body (rejects on a non-200 answer or after `timeoutMs`). */
export function httpGetText(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${String(res.statusCode)}: ${body.slice(0, 200)}`))));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** One sample of a Prometheus text exposition: name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes: no timestamps, quoted labels). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include all of `where` (and, when given, pass `also`). */
export function sumOf(samples: readonly Sample[], name: string, where: Readonly<Record<string, string>> = {}, also?: (labels: Readonly<Record<string, string>>) => boolean): number {
  let sum = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (!Object.entries(where).every(([key, value]) => sample.labels[key] === value)) continue;
    if (also && !also(sample.labels)) continue;
    sum += sample.value;
  }
  return sum;
}

/** gRPC outcome counts of one RPC, plus task outcomes by method (our server) — a before/after snapshot. */
export interface CallCounts {
  /** Calls answered OK. */
  readonly ok: number;
  /** Calls answered with any other status. */
  readonly notOk: number;
  /** `task_scheduler_tasks_total{status="SUCCESS"}` by method (our server only). */
  readonly tasksSucceeded: ReadonlyMap<string, number>;
}

const SUBMIT_RPC = '/taskscheduler.TaskScheduler/SubmitTask';

/** Reads our server's SubmitTask counters from its /metrics. */
export async function scrapeOurCounts(metricsAddress: string, rpc = SUBMIT_RPC): Promise<CallCounts> {
  const samples = parsePrometheus(await httpGetText(`http://${metricsAddress}/metrics`));
  const tasksSucceeded = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name === 'task_scheduler_tasks_total' && sample.labels['status'] === 'SUCCESS') {
      tasksSucceeded.set(sample.labels['method']!, (tasksSucceeded.get(sample.labels['method']!) ?? 0) + sample.value);
    }
  }
  return {
    ok: sumOf(samples, 'task_scheduler_grpc_requests_total', { rpc, code: 'OK' }),
    notOk: sumOf(samples, 'task_scheduler_grpc_requests_total', { rpc }, (labels) => labels['code'] !== 'OK'),
    tasksSucceeded,
  };
}

/** Reads one gauge or counter (summed over its labels) from our server's /metrics. */
export async function scrapeValue(metricsAddress: string, name: string): Promise<number> {
  return sumOf(parsePrometheus(await httpGetText(`http://${metricsAddress}/metrics`)), name);
}

/** Reads the baseline's handler counters (`GET /count` → `{"ok":n,"errors":m}`). */
export async function scrapeBaselineCounts(countAddress: string): Promise<CallCounts> {
  const body = JSON.parse(await httpGetText(`http://${countAddress}/count`)) as { ok: number; errors: number };
  return { ok: body.ok, notOk: body.errors, tasksSucceeded: new Map() };
}

/**
 * What went wrong between two snapshots around a run of `expected` calls: any non-OK call, or fewer/more
 * OK calls than expected. `okVia` picks the count to compare (the RPC's OK count by default; a method's
 * task successes when other calls run at the same time).
 */
export function countProblems(before: CallCounts, after: CallCounts, expected: number, okVia?: { method: string }): string[] {
  const problems: string[] = [];
  const notOk = after.notOk - before.notOk;
  if (notOk !== 0) problems.push(`${notOk} SubmitTask calls answered with a non-OK gRPC status`);
  const ok = okVia
    ? (after.tasksSucceeded.get(okVia.method) ?? 0) - (before.tasksSucceeded.get(okVia.method) ?? 0)
    : after.ok - before.ok;
  if (ok !== expected) problems.push(`server counted ${ok} ${okVia ? `successful '${okVia.method}' tasks` : 'OK SubmitTask calls'}, expected ${expected}`);
  return problems;
}
