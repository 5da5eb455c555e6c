/**
 * i. Tracing cost: blocking `add` under h2load on four servers in the same run — the build before
 * tracing existed (the parent of the first commit of `src/tracing`, built in a temporary worktree),
 * tracing off (the default), tracing on at 100 % sampling, and on at 1 %
 * (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.01`) — exporting with
 * `--otlp-endpoint` to a tiny OTLP/HTTP sink in this process that accepts every export and discards it.
 * Interleaved rounds; medians of throughput and server CPU per call, off against the build before
 * (goal: no measurable cost) and on against off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toAny } from '../../src/args/encode-arg';
import { writeTaskRequestFrame } from '../grpc-frame';
import { beforeFirstChangeOf, buildAt } from '../build-at';
import { cpuShare, measuredRun, type MeasuredRun } from '../measured-run';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { roundsOf } from './h-sqlite-store';
import { formatInt, formatMicros, formatMs, formatRatio, formatRuns, median } from '../stats';

/** Goal of the issue for tracing off against the build before tracing: no measurable cost (within noise). */
const OFF_GOAL = 0.95;

/** An OTLP/HTTP endpoint that answers 200 to every export and keeps only counts. */
async function startSink(): Promise<{ url: string; exports: () => number; bytes: () => number; close: () => Promise<void> }> {
  let exports = 0;
  let bytes = 0;
  const server: Server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      exports++;
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    bytes: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Scenario i: tracing off vs on (100 % and 1 % sampling). */
export const tracing: Scenario = {
  id: 'i',
  title: 'tracing: blocking add with tracing off vs on (100 % and 1 % sampling) to an OTLP/HTTP sink',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const bodyFile = path.join(ctx.workDir, 'i-add.bin');
    writeTaskRequestFrame(bodyFile, { method: 'add', args: [toAny(1), toAny(2)] });
    const commit = beforeFirstChangeOf('src/tracing');
    const before = buildAt(commit, ctx.log);
    const sink = await startSink();
    const servers: OurServer[] = [];
    try {
      const old = await startOurServer(`before tracing (${commit.slice(0, 10)})`, { metrics: true, main: before.main });
      servers.push(old);
      const off = await startOurServer('tracing off', { metrics: true });
      servers.push(off);
      const full = await startOurServer('tracing on, 100 %', { metrics: true, extraArgs: ['--otlp-endpoint', sink.url], env: { OTEL_SERVICE_NAME: 'bench' } });
      servers.push(full);
      const sampled = await startOurServer('tracing on, 1 %', {
        metrics: true,
        extraArgs: ['--otlp-endpoint', sink.url],
        env: { OTEL_SERVICE_NAME: 'bench', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
      });
      servers.push(sampled);
      report.commands.push(old.command, off.command, full.command, `OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 ${sampled.command}`);

      const run = async (server: OurServer, name: string, requests: number): Promise<MeasuredRun> => {
        const result = await measuredRun(server, { requests, clients: config.clients, streams: config.streams, dataFile: bodyFile, logFile: path.join(ctx.workDir, `i-${name}.log`) });
        report.commands.push(result.h2load.command);
        report.errors.push(...result.problems.map((problem) => `${server.label}: ${problem}`));
        ctx.log(`  ${server.label}: ${formatInt(result.h2load.reqPerSec)} req/s, p99 ${formatMs(result.h2load.latency!.p99Ms)} (${cpuShare(result)})`);
        return result;
      };
      const variants = [
        { server: old, name: 'before', runs: [] as MeasuredRun[] },
        { server: off, name: 'off', runs: [] as MeasuredRun[] },
        { server: full, name: 'on-100', runs: [] as MeasuredRun[] },
        { server: sampled, name: 'on-1', runs: [] as MeasuredRun[] },
      ];
      for (const variant of variants) await run(variant.server, `${variant.name}-warmup`, config.warmupRequests);
      const exportsBefore = sink.exports();
      const { rounds, requests } = roundsOf(ctx);
      for (let i = 0; i < rounds; i++) {
        ctx.log(` round ${i + 1}/${rounds}`);
        for (let k = 0; k < variants.length; k++) {
          const variant = variants[(i + k) % variants.length]!;
          await sleep(config.settleMs);
          variant.runs.push(await run(variant.server, variant.name, requests));
        }
      }
      const [oldRuns, offRuns, fullRuns, sampledRuns] = variants.map((variant) => variant.runs) as [MeasuredRun[], MeasuredRun[], MeasuredRun[], MeasuredRun[]];
      const rps = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.reqPerSec));
      const cpu = (runs: MeasuredRun[]) => median(runs.map((r) => r.serverCpuSeconds / r.h2load.total));
      const p99 = (runs: MeasuredRun[]) => median(runs.map((r) => r.h2load.latency!.p99Ms));
      const offRatio = rps(offRuns) / rps(oldRuns);
      report.figures.push(
        { label: 'tracing off / build before tracing, throughput', value: formatRatio(offRatio), goal: `≥ ${OFF_GOAL.toFixed(2)}× (no measurable cost)`, verdict: judge(ctx, offRatio >= OFF_GOAL) },
        info('server CPU per call: before / off', `${formatMicros(cpu(oldRuns))} / ${formatMicros(cpu(offRuns))} (${formatRatio(cpu(offRuns) / cpu(oldRuns))})`),
        info('add throughput: off / on 100 % / on 1 %', `${formatInt(rps(offRuns))} / ${formatInt(rps(fullRuns))} / ${formatInt(rps(sampledRuns))} req/s`),
        info('throughput on/off: 100 % / 1 %', `${formatRatio(rps(fullRuns) / rps(offRuns))} / ${formatRatio(rps(sampledRuns) / rps(offRuns))}`),
        info('server CPU per call: off / on 100 % / on 1 %', `${formatMicros(cpu(offRuns))} / ${formatMicros(cpu(fullRuns))} / ${formatMicros(cpu(sampledRuns))}`),
        info('CPU per call on/off: 100 % / 1 %', `${formatRatio(cpu(fullRuns) / cpu(offRuns))} / ${formatRatio(cpu(sampledRuns) / cpu(offRuns))}`),
        info('p99: off / on 100 % / on 1 %', `${formatMs(p99(offRuns))} / ${formatMs(p99(fullRuns))} / ${formatMs(p99(sampledRuns))}`),
      );
      // Let the batch processors flush, so the sink's count shows spans really went out.
      await sleep(6_000);
      if (sink.exports() === exportsBefore) report.errors.push('the OTLP sink received no export: tracing was not on');
      report.notes.push(
        `req/s per run: before ${formatRuns(oldRuns.map((r) => r.h2load.reqPerSec))}; off ${formatRuns(offRuns.map((r) => r.h2load.reqPerSec))}; on 100 % ${formatRuns(fullRuns.map((r) => r.h2load.reqPerSec))}; on 1 % ${formatRuns(sampledRuns.map((r) => r.h2load.reqPerSec))}`,
        `OTLP sink: ${formatInt(sink.exports())} export requests, ${formatInt(sink.bytes())} bytes accepted and discarded`,
        `${rounds} interleaved round(s) of ${formatInt(requests)} requests per variant, ${config.clients} connections × ${config.streams} streams; server CPU counts all its threads (the exporter's too)`,
        `the build before tracing is ${commit.slice(0, 10)} (parent of the first commit of src/tracing), built in a temporary worktree`,
      );
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
      await sink.close();
      before.remove();
    }
  },
};
