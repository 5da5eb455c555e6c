/**
 * Load and soak against the real CLI (loopback, port 0): many concurrent clients, each on its own
 * connection and id namespace, mix blocking, detached, dependent, failing and cancelled tasks, and check
 * every result they were promised — right away and again later (nothing lost while the store has
 * room, nothing from another client). Reports per-interval counts, errors and server RSS as a table.
 * `npm run soak -- --minutes N | --seconds N [--seed S] [--clients C]`; exit code 1 on any error.
 */
import { ClientError, Status } from 'nice-grpc';
import { TaskResponse_Status, type TaskSchedulerClient } from '../generated/taskscheduler/task_scheduler';
import { toAny } from '../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../src/client/create-client';
import { prng } from '../test/args/wire';
import { startCli, type CliProcess } from '../test/helpers/cli';
import { mb, rssOf, table } from './run-options';

/** Operation kinds the clients mix. */
export const OPS = ['blocking', 'detached', 'dependent', 'failing', 'cancelled', 'recheck'] as const;
export type Op = (typeof OPS)[number];

/** Counts of a soak run. */
export interface SoakReport {
  readonly ops: Record<Op, number>;
  /** Results checked (each promised result at least once; rechecks again later). */
  readonly verified: number;
  /** A result that should be there and was NOT_FOUND. */
  readonly lost: number;
  /** A result that came back with another task's content. */
  readonly mixed: number;
  /** Any other unexpected answer (first 20 distinct in `errorSamples`). */
  readonly errors: number;
  readonly errorSamples: string[];
  /** Per interval: seconds, ops so far, ops/s in the interval, errors so far, server RSS. */
  readonly samples: ReadonlyArray<{ readonly s: number; readonly phase: 'load' | 'final sweep'; readonly ops: number; readonly rate: number; readonly errors: number; readonly rss: number }>;
}

export interface SoakOptions {
  readonly address: string;
  readonly durationMs: number;
  readonly seed: number;
  readonly clients: number;
  /** Server pid, for RSS samples (optional). */
  readonly pid?: number;
  /** Sampling interval (default a tenth of the run, 1–60 s). */
  readonly sampleMs?: number;
}

/** Runs the client mix against `address`; never throws for a bad answer (counted instead). */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const ops = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;
  let verified = 0;
  let lost = 0;
  let mixed = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const error = (what: string) => {
    errors++;
    if (errorSamples.length < 20 && !errorSamples.includes(what)) errorSamples.push(what);
  };
  const deadline = Date.now() + options.durationMs;
  const started = Date.now();
  const samples: Array<SoakReport['samples'][number]> = [];
  const total = () => OPS.reduce((sum, op) => sum + ops[op], 0);
  let lastTotal = 0;
  let lastAt = started;
  const sample = () => {
    const now = Date.now();
    const t = total();
    samples.push({ s: Math.round((now - started) / 1000), phase: now <= deadline ? 'load' : 'final sweep', ops: t, rate: Math.round(((t - lastTotal) * 1000) / Math.max(1, now - lastAt)), errors, rss: options.pid ? rssOf(options.pid) : 0 });
    lastTotal = t;
    lastAt = now;
  };
  const sampleMs = options.sampleMs ?? Math.min(60_000, Math.max(1000, Math.round(options.durationMs / 10)));
  const sampler = setInterval(sample, sampleMs);

  const client = async (index: number) => {
    // Own connection per client (a local subchannel pool), as separate processes would have.
    const connection: TaskSchedulerConnection = createTaskSchedulerClient(options.address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    const c: TaskSchedulerClient = connection.client;
    const random = prng(options.seed * 1000 + index);
    const ns = `soak-c${index}-`;
    /** Results this client was promised: id → expected status and result. */
    const promised = new Map<string, { status: TaskResponse_Status; result: string }>();
    const promisedIds: string[] = [];
    let seq = 0;
    const promise = (id: string, status: TaskResponse_Status, result: string) => {
      promised.set(id, { status, result });
      promisedIds.push(id);
    };
    const expectRecord = (id: string, got: { status: TaskResponse_Status; result: string }, where: string) => {
      const want = promised.get(id)!;
      verified++;
      if (got.status === TaskResponse_Status.NOT_FOUND) {
        lost++;
        error(`${where}: ${id} lost (NOT_FOUND)`);
      } else if (got.status !== want.status || got.result !== want.result) {
        if (got.result.includes('soak-c') && !got.result.includes(ns)) mixed++;
        error(`${where}: ${id} is ${TaskResponse_Status[got.status]} ${JSON.stringify(got.result.slice(0, 80))}, expected ${TaskResponse_Status[want.status]} ${JSON.stringify(want.result.slice(0, 80))}`);
      }
    };
    const grpcError = async (call: Promise<unknown>, code: Status, prefix: string, where: string): Promise<void> => {
      try {
        await call;
        error(`${where}: succeeded, expected ${Status[code]}`);
      } catch (err) {
        if (!(err instanceof ClientError) || err.code !== code || !err.details.startsWith(prefix)) error(`${where}: ${err instanceof ClientError ? `${Status[err.code]} ${err.details}` : String(err)}`);
      }
    };
    try {
      while (Date.now() < deadline) {
        const id = `${ns}${seq++}`;
        const payload = `${id}:${Math.floor(random() * 1e9)}`;
        const pick = random();
        try {
          if (pick < 0.35) {
            ops.blocking++;
            const res = await c.submitTask({ taskId: id, method: 'concat', args: [toAny(payload), toAny('!')] });
            promise(id, TaskResponse_Status.SUCCESS, `${payload}!`);
            expectRecord(id, res, 'blocking');
          } else if (pick < 0.55) {
            ops.detached++;
            const res = await c.submitTask({ taskId: id, method: 'sleep', args: [toAny(Math.floor(random() * 30))], detached: true });
            if (res.status !== TaskResponse_Status.PENDING || res.taskId !== id) error(`detached: answered ${TaskResponse_Status[res.status]} for ${id}`);
            const done = await c.waitResult({ taskId: id, timeoutMs: 30_000 });
            promise(id, TaskResponse_Status.SUCCESS, done.result);
            if (!/^slept \d+ ms$/.test(done.result)) error(`detached: ${id} answered ${JSON.stringify(done.result)}`);
            expectRecord(id, done, 'detached');
          } else if (pick < 0.7) {
            ops.dependent++;
            const first = `${id}-a`;
            await c.submitTask({ taskId: first, method: 'concat', args: [toAny(payload)], detached: true });
            promise(first, TaskResponse_Status.SUCCESS, payload);
            const res = await c.submitTask({ taskId: id, method: 'concat', args: [toAny('+')], deps: [first], injectDependencyResults: true });
            promise(id, TaskResponse_Status.SUCCESS, `${payload}+`);
            expectRecord(id, res, 'dependent');
          } else if (pick < 0.82) {
            ops.failing++;
            await grpcError(c.submitTask({ taskId: id, method: 'fail', args: [toAny(payload)] }), Status.INTERNAL, `Task execution failed: ${payload}`, 'failing');
            promise(id, TaskResponse_Status.FAILED, payload);
            expectRecord(id, await c.getResult({ taskId: id }), 'failing');
          } else if (pick < 0.92) {
            ops.cancelled++;
            await c.submitTask({ taskId: id, method: 'sleep', args: [toAny(60_000)], detached: true });
            const cancel = await c.cancelTask({ taskId: id });
            if (!cancel.cancelled || cancel.status !== TaskResponse_Status.CANCELLED) error(`cancelled: ${id} answered ${JSON.stringify(cancel)}`);
            const got = await c.waitResult({ taskId: id, timeoutMs: 10_000 });
            if (got.status !== TaskResponse_Status.CANCELLED) error(`cancelled: ${id} is ${TaskResponse_Status[got.status]}`);
            promise(id, TaskResponse_Status.CANCELLED, got.result);
            verified++;
          } else if (promisedIds.length > 0) {
            ops.recheck++;
            // Any earlier promise of this client, still there and still its own.
            const old = promisedIds[Math.floor(random() * promisedIds.length)]!;
            expectRecord(old, await c.getResult({ taskId: old }), 'recheck');
          }
        } catch (err) {
          error(`${id}: ${err instanceof ClientError ? `${Status[err.code]} ${err.details}` : String(err)}`);
        }
      }
      // Final sweep: every promised result of this client (the store has room for all of them).
      for (let i = 0; i < promisedIds.length; i += 64) {
        const batch = promisedIds.slice(i, i + 64);
        const got = await Promise.all(batch.map((old) => c.getResult({ taskId: old })));
        batch.forEach((old, j) => expectRecord(old, got[j]!, 'final sweep'));
      }
    } finally {
      connection.close();
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  } finally {
    clearInterval(sampler);
  }
  sample();
  return { ops, verified, lost, mixed, errors, errorSamples, samples };
}

/** The report as markdown. */
export function formatSoak(report: SoakReport): string {
  return [
    table(['operation', 'count'], OPS.map((op) => [op, report.ops[op]])),
    '',
    table(['s', 'phase', 'ops', 'ops/s', 'errors', 'server RSS MB'], report.samples.map((s) => [s.s, s.phase, s.ops, s.rate, s.errors, s.rss ? mb(s.rss) : '-'])),
    '',
    `verified ${report.verified} results; lost ${report.lost}; mixed ${report.mixed}; errors ${report.errors}`,
    ...report.errorSamples.map((e) => `  ${e}`),
  ].join('\n');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const clientsAt = argv.indexOf('--clients');
  const clients = clientsAt >= 0 ? Number(argv.splice(clientsAt, 2)[1]) : 16;
  const { parseRunOptions } = await import('./run-options');
  const { durationMs, seed } = parseRunOptions(argv, { durationMs: 30_000, seed: 1 }, 'npm run soak -- [--minutes N | --seconds N] [--seed S] [--clients C]');
  const cli: CliProcess = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '--max-concurrent-tasks', '0', '--result-ttl-secs', '0']);
  process.stdout.write(`soak: ${durationMs / 1000} s, ${clients} clients, seed ${seed}, server ${cli.address} (pid ${cli.child.pid})\n\n`);
  const report = await soak({ address: cli.address, durationMs, seed, clients, pid: cli.child.pid! });
  const exit = await cli.stop();
  process.stdout.write(`${formatSoak(report)}\nserver exit code ${exit}\n`);
  return report.errors === 0 && report.lost === 0 && report.mixed === 0 && exit === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
