/**
 * c. 10,000 detached `sleep 100` submits, then WaitResult on every one: wall time from the first submit
 * until all have finished. The sleeps overlap, so everything above 100 ms is the cost of accepting,
 * scheduling and answering — on the server and in the client, which shares this machine (both phases
 * are timed separately to show which).
 *
 * h2load cannot drive this (every WaitResult names a different task), and a nice-grpc client in this
 * process spent about twice the server's CPU per task, so the client is bench/lean-grpc-client.ts: raw
 * node:http2 streams, the generated codecs, every answer decoded and checked. The floor — how long the
 * bare grpc-js baseline takes to answer the same number of unary calls from the same client — is
 * measured in the same run.
 */
import Long from 'long';
import { performance } from 'node:perf_hooks';
import { ResultResponse, TaskRequest, TaskResponse, TaskResponse_Status, WaitResultRequest } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { grpcFrame, SUBMIT_TASK_PATH, WAIT_RESULT_PATH } from '../grpc-frame';
import { connectLeanClient, type LeanGrpcClient } from '../lean-grpc-client';
import { runBounded } from '../run-bounded';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startBaselineServer, startOurServer, type OurServer, type ServerUnderTest } from '../servers';
import { formatInt, formatMicros, formatMs, formatRuns, median } from '../stats';

/** The goal: the sleep plus at most 400 ms. */
const OVERHEAD_GOAL_MS = 400;

interface SleepRun {
  readonly totalMs: number;
  readonly submitMs: number;
  readonly serverCpuSeconds: number;
  readonly clientCpuSeconds: number;
}

/** The one SubmitTask body of this scenario, framed once: every submit sends the same bytes. */
function sleepSubmitFrame(sleepMs: number): Buffer {
  return grpcFrame(TaskRequest.encode(TaskRequest.fromPartial({ method: 'sleep', args: [toAny(sleepMs)], detached: true })).finish());
}

export async function oneRun(ctx: ScenarioContext, server: OurServer, client: LeanGrpcClient, problems: string[]): Promise<SleepRun> {
  const { config } = ctx;
  const expected = `slept ${config.sleepMs} ms`;
  const submitFrame = sleepSubmitFrame(config.sleepMs);
  const ids: string[] = new Array<string>(config.sleepTasks);
  const cpuBefore = server.cpu();
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  let badSubmits = 0;
  await runBounded(config.sleepTasks, config.sleepSubmitConcurrency, async (i) => {
    const answer = TaskResponse.decode(await client.unaryFramed(SUBMIT_TASK_PATH, submitFrame));
    if (answer.status !== TaskResponse_Status.PENDING || answer.taskId === '') {
      if (badSubmits++ === 0) problems.push(`detached submit answered ${TaskResponse_Status[answer.status]} with id ${JSON.stringify(answer.taskId)}, expected PENDING with an id`);
    }
    ids[i] = answer.taskId;
  });
  const submitted = performance.now();
  let wrong = 0;
  await runBounded(config.sleepTasks, config.sleepWaitConcurrency, async (i) => {
    // timeout_ms 0: the server's 30 s maximum — far beyond a 100 ms sleep.
    const request = WaitResultRequest.encode({ taskId: ids[i]!, timeoutMs: Long.UZERO }).finish();
    const answer = ResultResponse.decode(await client.unary(WAIT_RESULT_PATH, request));
    if (answer.status !== TaskResponse_Status.SUCCESS || answer.result !== expected) {
      if (wrong++ === 0) problems.push(`WaitResult(${ids[i]!}) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}, expected SUCCESS ${JSON.stringify(expected)}`);
    }
  });
  const finished = performance.now();
  if (badSubmits > 1) problems.push(`${badSubmits} submit answers in all were not PENDING with an id`);
  if (wrong > 1) problems.push(`${wrong} WaitResult answers in all were not SUCCESS "${expected}"`);
  const clientCpu = process.cpuUsage(clientBefore);
  return {
    totalMs: finished - t0,
    submitMs: submitted - t0,
    serverCpuSeconds: server.cpu() - cpuBefore,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}

interface FloorRun {
  readonly calls: number;
  readonly ms: number;
  readonly serverCpuSeconds: number;
  readonly clientCpuSeconds: number;
}

/**
 * The floor: `calls` blocking `add(1, 2)` on the bare grpc-js baseline from the same lean client, as
 * many in flight as c's submits — the least any Node gRPC server here needs for c's RPC count. Every
 * answer is checked (SUCCESS "3").
 */
async function floorRun(baseline: ServerUnderTest, client: LeanGrpcClient, calls: number, concurrency: number, problems: string[]): Promise<FloorRun> {
  const frame = grpcFrame(TaskRequest.encode(TaskRequest.fromPartial({ method: 'add', args: [toAny(1), toAny(2)] })).finish());
  let wrong = 0;
  const cpuBefore = baseline.cpu();
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  await runBounded(calls, concurrency, async () => {
    const answer = TaskResponse.decode(await client.unaryFramed(SUBMIT_TASK_PATH, frame));
    if (answer.status !== TaskResponse_Status.SUCCESS || answer.result !== '3') {
      if (wrong++ === 0) problems.push(`baseline add(1, 2) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}, expected SUCCESS "3"`);
    }
  });
  const ms = performance.now() - t0;
  const clientCpu = process.cpuUsage(clientBefore);
  if (wrong > 1) problems.push(`${wrong} baseline add answers in all were wrong`);
  return { calls, ms, serverCpuSeconds: baseline.cpu() - cpuBefore, clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6 };
}

/** Starts the baseline, warms it up, measures the floor for `calls` unary calls, stops it. */
async function measureFloor(ctx: ScenarioContext, report: ScenarioReport, calls: number): Promise<FloorRun> {
  const baseline = await startBaselineServer('baseline (grpc-js)');
  let client: LeanGrpcClient | undefined;
  try {
    report.commands.push(baseline.command);
    client = await connectLeanClient(baseline.address);
    await floorRun(baseline, client, Math.max(1000, calls / 10), ctx.config.sleepSubmitConcurrency, report.errors);
    const runs: FloorRun[] = [];
    for (let i = 0; i < ctx.config.runs; i++) runs.push(await floorRun(baseline, client, calls, ctx.config.sleepSubmitConcurrency, report.errors));
    ctx.log(`  floor: baseline answered ${formatInt(calls)} unary calls in ${formatRuns(runs.map((r) => r.ms), formatMs)}`);
    const middle = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
    return middle;
  } finally {
    await client?.close();
    await baseline.stop();
  }
}

/** Scenario c: many detached sleeps, then WaitResult on all. */
export const detachedSleep: Scenario = {
  id: 'c',
  title: `detached sleeps, then WaitResult on all`,
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    let server: OurServer | undefined;
    let client: LeanGrpcClient | undefined;
    try {
      server = await startOurServer('ours (metrics on)', { metrics: true });
      report.commands.push(server.command);
      client = await connectLeanClient(server.address);
      // Warm-up: a tenth of the load, so JIT and the session are ready; not reported.
      await oneRun({ ...ctx, config: { ...config, sleepTasks: Math.max(100, config.sleepTasks / 10) } }, server, client, report.errors);
      const runs: SleepRun[] = [];
      for (let i = 0; i < config.runs; i++) {
        const run = await oneRun(ctx, server, client, report.errors);
        ctx.log(`  ${formatInt(config.sleepTasks)} sleeps: ${formatMs(run.totalMs)} (submits ${formatMs(run.submitMs)}; server ${run.serverCpuSeconds.toFixed(2)} s CPU, client ${run.clientCpuSeconds.toFixed(2)} s CPU)`);
        runs.push(run);
      }
      const total = median(runs.map((r) => r.totalMs));
      const goal = config.sleepMs + OVERHEAD_GOAL_MS;
      report.figures.push(
        { label: `${formatInt(config.sleepTasks)} × sleep ${config.sleepMs} ms: first submit → all finished`, value: formatMs(total), goal: `≤ ${goal} ms`, verdict: judge(ctx, total <= goal) },
        info('  of which submitting (detached, PENDING answers)', formatMs(median(runs.map((r) => r.submitMs)))),
        info('  submit rate', `${formatInt(config.sleepTasks / (median(runs.map((r) => r.submitMs)) / 1000))} submits/s`),
        info('  CPU per task (submit + WaitResult): server / bench client', `${formatMicros(median(runs.map((r) => r.serverCpuSeconds)) / config.sleepTasks)} / ${formatMicros(median(runs.map((r) => r.clientCpuSeconds)) / config.sleepTasks)}`),
      );
      const last = runs.at(-1)!;
      report.notes.push(
        `total per run ${formatRuns(runs.map((r) => r.totalMs), formatMs)}; submit phase ${formatRuns(runs.map((r) => r.submitMs), formatMs)}`,
        `CPU (last run, ${formatMs(last.totalMs)} wall): server ${last.serverCpuSeconds.toFixed(2)} s, bench client ${last.clientCpuSeconds.toFixed(2)} s — the client shares the 2 cores with the server`,
        `client: bench/lean-grpc-client.ts — unary gRPC on raw node:http2 streams over one HTTP/2 session, generated ts-proto codecs, server-assigned ids read back; a nice-grpc client cost ~475 µs of CPU per task here, twice the server's, so it measured itself as much as the server (h2load cannot send a different WaitResult id per call). ${config.sleepSubmitConcurrency} submits in flight, then ${config.sleepWaitConcurrency} WaitResults in flight; every answer decoded and checked (PENDING with an id; SUCCESS "slept ${config.sleepMs} ms"); any non-zero grpc-status fails the scenario`,
      );
      await client.close();
      client = undefined;
      await server.stop();
      server = undefined;
      // The floor, with our server stopped so the two never share the cores.
      const calls = 2 * config.sleepTasks;
      const floor = await measureFloor(ctx, report, calls);
      report.figures.push(
        info(`  floor: bare grpc-js baseline answering ${formatInt(calls)} unary add calls from this client`, `${formatMs(floor.ms)} (CPU per call: server ${formatMicros(floor.serverCpuSeconds / calls)}, client ${formatMicros(floor.clientCpuSeconds / calls)})`),
      );
      report.notes.push(
        `floor: c makes ${formatInt(calls)} RPCs (a submit and a WaitResult per task); the bare grpc-js baseline (no framework, no scheduler) answered as many blocking add calls from the same client, ${config.sleepSubmitConcurrency} in flight, in ${formatMs(floor.ms)} (median of ${config.runs}) — the least any Node gRPC server needs for c's calls on this machine, before any task work. Server and client each take about one core for it, so it is bounded by whichever of the two is slower per call (both CPU figures are printed)`,
      );
    } finally {
      await client?.close();
      await server?.stop();
    }
  },
};
