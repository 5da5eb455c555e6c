/**
 * The Prometheus endpoint (`metricsAddr` / `--metrics-addr`): task counters by method and outcome,
 * the run-time histogram, gRPC calls by code, scrape-time gauges, Node's default metrics, and 404s.
 */
import { createServer } from 'node:net';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { killCli, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(60_000);

const SUBMIT = '/taskscheduler.TaskScheduler/SubmitTask';

/** One sample of the text exposition format: name, labels (any order) and value. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).sort().join();
  return samples.find((sample) => sample.name === name && Object.entries(sample.labels).sort().join() === wanted)?.value;
}

async function scrape(address: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

/** Scrapes until `check` passes (gauges change as tasks move). */
async function eventually(address: string, check: (samples: Sample[]) => void, timeoutMs = 15_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { samples } = await scrape(address);
    try {
      check(samples);
      return samples;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('a server with metrics and authentication', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ metricsAddr: '127.0.0.1:0', authTokens: ['s3cret-token'] });
  });
  afterAll(() => server.close());

  test('calls refused by authentication are counted as UNAUTHENTICATED, per method', async () => {
    // The test client sends no token: both calls are refused before they reach the service.
    expect((await expectGrpcError(server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] }))).code).toBe(Status.UNAUTHENTICATED);
    expect((await expectGrpcError(server.client.getResult({ taskId: 'x' }))).code).toBe(Status.UNAUTHENTICATED);
    const authed = createTaskSchedulerClient(server.address, { token: 's3cret-token' });
    try {
      expect((await authed.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
    } finally {
      authed.close();
    }
    const { samples } = await scrape(server.metricsAddress!);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'UNAUTHENTICATED' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: '/taskscheduler.TaskScheduler/GetResult', code: 'UNAUTHENTICATED' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'OK' })).toBe(1);
  });
});

describe('an in-process server with metricsAddr', () => {
  let server: TestServer;
  let metrics: string;
  beforeEach(async () => {
    server = await startTestServer({ metricsAddr: '127.0.0.1:0' });
    metrics = server.metricsAddress!;
    expect(metrics).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });
  afterEach(() => server.close());

  test('counts tasks by method and outcome, their run times, and gRPC calls by code', async () => {
    const { client } = server;
    for (const args of [[1, 2], [3, 4]]) expect((await client.submitTask({ method: 'add', args: args.map((n) => toAny(n)) })).result).toBe(String(args[0]! + args[1]!));
    expect((await expectGrpcError(client.submitTask({ method: 'fail', args: [toAny('boom')] }))).code).toBe(Status.INTERNAL);
    expect((await expectGrpcError(client.submitTask({ method: 'add', args: [toAny('x')] }))).code).toBe(Status.INVALID_ARGUMENT);
    expect((await expectGrpcError(client.submitTask({ method: 'no_such_task' }))).code).toBe(Status.NOT_FOUND);
    // A blocking sleep cancelled while it runs: CANCELLED for its caller.
    const blocking = expectGrpcError(client.submitTask({ taskId: 'metrics-blocking', method: 'sleep', args: [toAny(60_000)] }));
    await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_tasks_running')).toBe(1));
    expect(await client.cancelTask({ taskId: 'metrics-blocking' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    expect((await blocking).code).toBe(Status.CANCELLED);

    const { text, samples } = await scrape(metrics);
    const lines = text.split('\n');
    expect(lines).toContain('task_scheduler_tasks_total{method="add",status="SUCCESS"} 2');
    expect(valueOf(samples, 'task_scheduler_tasks_total', { method: 'add', status: 'FAILED' })).toBe(1); // rejected its args
    expect(valueOf(samples, 'task_scheduler_tasks_total', { method: 'fail', status: 'FAILED' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_tasks_total', { method: 'sleep', status: 'CANCELLED' })).toBe(1);
    expect(samples.some((s) => s.name === 'task_scheduler_tasks_total' && s.labels['method'] === 'no_such_task')).toBe(false);

    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_count', { method: 'add' })).toBe(3);
    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_bucket', { method: 'add', le: '+Inf' })).toBe(3);
    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_count', { method: 'sleep' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_bucket', { method: 'sleep', le: '0.0005' })).toBe(0);

    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'OK' })).toBe(2);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'INTERNAL' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'NOT_FOUND' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: SUBMIT, code: 'CANCELLED' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_grpc_requests_total', { rpc: '/taskscheduler.TaskScheduler/CancelTask', code: 'OK' })).toBe(1);

    // Recorded: 2 add, the add that rejected its args, fail, sleep (NOT_FOUND is never recorded).
    expect(valueOf(samples, 'task_scheduler_results_stored')).toBe(5);
    expect(valueOf(samples, 'task_scheduler_results_bytes')).toBeGreaterThan(0);
  });

  test('gauges follow a detached task: running and in flight, then stored', async () => {
    const { client } = server;
    const before = await scrape(metrics);
    expect(valueOf(before.samples, 'task_scheduler_tasks_running')).toBe(0);
    expect(valueOf(before.samples, 'task_scheduler_results_stored')).toBe(0);
    expect(valueOf(before.samples, 'task_scheduler_tasks_waiting', { for: 'dependencies' })).toBe(0);
    expect(valueOf(before.samples, 'task_scheduler_tasks_waiting', { for: 'slot' })).toBe(0);

    const submitted = await client.submitTask({ taskId: 'metrics-detached', method: 'sleep', args: [toAny(60_000)], detached: true });
    expect(submitted.status).toBe(TaskResponse_Status.PENDING);
    // A task that waits for the running sleep is in flight and waiting for dependencies.
    await client.submitTask({ taskId: 'metrics-dependent', method: 'add', args: [toAny(1)], deps: ['metrics-detached'], detached: true });
    const during = await eventually(metrics, (samples) => {
      expect(valueOf(samples, 'task_scheduler_tasks_running')).toBe(1);
      expect(valueOf(samples, 'task_scheduler_tasks_waiting', { for: 'dependencies' })).toBe(1);
    });
    expect(valueOf(during, 'task_scheduler_tasks_in_flight')).toBe(2);
    expect(valueOf(during, 'task_scheduler_results_stored')).toBe(2);

    expect((await client.cancelTask({ taskId: 'metrics-detached' })).cancelled).toBe(true);
    const after = await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_tasks_in_flight')).toBe(0));
    expect(valueOf(after, 'task_scheduler_tasks_running')).toBe(0);
    expect(valueOf(after, 'task_scheduler_tasks_waiting', { for: 'dependencies' })).toBe(0);
    expect(valueOf(after, 'task_scheduler_results_stored')).toBe(2);
    expect(valueOf(after, 'task_scheduler_tasks_total', { method: 'sleep', status: 'CANCELLED' })).toBe(1);
    expect(valueOf(after, 'task_scheduler_tasks_total', { method: 'add', status: 'FAILED' })).toBe(1); // its dependency was cancelled
    expect(valueOf(after, 'task_scheduler_worker_pool_busy')).toBe(0);
  });

  test('the worker-pool gauge counts a CPU-bound task on a worker thread', async () => {
    const { client } = server;
    await client.submitTask({ taskId: 'metrics-fib', method: 'fib', args: [toAny(50)], detached: true });
    await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_worker_pool_busy')).toBe(1));
    expect((await client.cancelTask({ taskId: 'metrics-fib' })).cancelled).toBe(true);
    const after = await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_worker_pool_busy')).toBe(0));
    expect(valueOf(after, 'task_scheduler_tasks_total', { method: 'fib', status: 'CANCELLED' })).toBe(1);
  });

  test("Node's default metrics are there; anything but GET /metrics is a 404", async () => {
    const { text, samples } = await scrape(metrics);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(valueOf(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# HELP task_scheduler_tasks_total Finished tasks by method and outcome');
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);

    for (const [method, url] of [['GET', '/other'], ['GET', '/'], ['POST', '/metrics']] as const) {
      const res = await fetch(`http://${metrics}${url}`, { method });
      expect([method, url, res.status]).toEqual([method, url, 404]);
      expect(await res.text()).toBe('Not found: metrics are at GET /metrics\n');
    }
    expect((await fetch(`http://${metrics}/metrics?x=1`)).status).toBe(200);
  });
});

describe('attempts and retries (metrics and the dashboard on: both observe the engine)', () => {
  let server: TestServer;
  let metrics: string;
  beforeAll(async () => {
    server = await startTestServer({ metricsAddr: '127.0.0.1:0', dashboardAddr: '127.0.0.1:0', libraryDir: 'test/fixtures/retry-plugins', workerThreads: 0 });
    metrics = server.metricsAddress!;
  });
  afterAll(() => server.close());

  const policy = (maxAttempts: number, initialBackoffMs: number) => ({ maxAttempts, initialBackoffMs: Long.fromNumber(initialBackoffMs, true) });

  test('every attempt that ended is counted (at each retry and at the finish), and every retry scheduled', async () => {
    const { client } = server;
    // Fails three times (two retries); succeeds on its second attempt (a plugin's registration default).
    expect((await expectGrpcError(client.submitTask({ method: 'fail', args: [toAny('boom')], retryPolicy: policy(3, 10) }))).details).toBe('Task execution failed: boom');
    expect(await client.submitTask({ taskId: 'm-flaky', method: 'retries::flaky_default', args: [toAny(1)] })).toMatchObject({ result: 'ok on attempt 2', attempts: 2 });
    // One attempt each: a success, and invalid arguments (never retried).
    expect((await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
    expect((await expectGrpcError(client.submitTask({ method: 'add', args: [toAny('x')], retryPolicy: policy(3, 10) }))).code).toBe(Status.INVALID_ARGUMENT);
    // Cancelled while it waits for its retry: its one attempt was counted with the retry, not again.
    await client.submitTask({ taskId: 'm-waits', method: 'retries::always_fails', retryPolicy: policy(3, 60_000), detached: true });
    await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_task_retries_total', { method: 'retries::always_fails' })).toBe(1));
    expect(await client.cancelTask({ taskId: 'm-waits' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
    // Never started (cancelled while its dependency runs): no attempt; the running sleep cancelled: one.
    await client.submitTask({ taskId: 'm-dep', method: 'sleep', args: [toAny(60_000)], detached: true, retryPolicy: policy(3, 10) });
    await client.submitTask({ taskId: 'm-child', method: 'ping', deps: ['m-dep'], detached: true });
    await eventually(metrics, (samples) => expect(valueOf(samples, 'task_scheduler_tasks_running')).toBe(1));
    expect((await client.cancelTask({ taskId: 'm-child' })).cancelled).toBe(true);
    expect((await client.cancelTask({ taskId: 'm-dep' })).cancelled).toBe(true);

    const { text, samples } = await scrape(metrics);
    expect(text).toContain('# HELP task_scheduler_task_attempts_total Attempts of tasks that ended (failed and retried, or final), by method');
    expect(text).toContain('# TYPE task_scheduler_task_retries_total counter');
    const attempts = (method: string) => valueOf(samples, 'task_scheduler_task_attempts_total', { method });
    const retries = (method: string) => valueOf(samples, 'task_scheduler_task_retries_total', { method });
    expect([attempts('fail'), retries('fail')]).toEqual([3, 2]);
    expect([attempts('retries::flaky_default'), retries('retries::flaky_default')]).toEqual([2, 1]);
    expect([attempts('add'), retries('add')]).toEqual([2, undefined]);
    expect([attempts('retries::always_fails'), retries('retries::always_fails')]).toEqual([1, 1]);
    expect([attempts('ping'), retries('ping')]).toEqual([undefined, undefined]);
    expect([attempts('sleep'), retries('sleep')]).toEqual([1, undefined]);
    expect(valueOf(samples, 'task_scheduler_tasks_total', { method: 'fail', status: 'FAILED' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_tasks_total', { method: 'retries::always_fails', status: 'CANCELLED' })).toBe(1);
    // The run-time histogram observes the attempt that ended the task: none for a task cancelled between attempts.
    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_count', { method: 'fail' })).toBe(1);
    expect(valueOf(samples, 'task_scheduler_task_duration_seconds_count', { method: 'retries::always_fails' })).toBeUndefined();
  });
});

describe('the CLI flag --metrics-addr', () => {
  let cli: CliProcess | undefined;
  afterEach(() => killCli(cli));

  test('names the metrics URL in the ready line and serves it', async () => {
    cli = await startCli(['-a', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--log-dir', '', '-l', '']);
    const url = /"metrics":"(http:\/\/127\.0\.0\.1:([1-9]\d*)\/metrics)"/.exec(cli.readyLine);
    expect(url).not.toBeNull();
    const address = `127.0.0.1:${url![2]}`;
    expect(valueOf((await scrape(address)).samples, 'task_scheduler_tasks_total', { method: 'add', status: 'SUCCESS' })).toBeUndefined();

    const { client, close } = createTaskSchedulerClient(cli.address);
    try {
      expect((await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
    } finally {
      close();
    }
    const { text } = await scrape(address);
    expect(text.split('\n')).toContain('task_scheduler_tasks_total{method="add",status="SUCCESS"} 1');
    expect(await cli.stop()).toBe(0);
  });

  test('without the flag the ready line says metrics are off', async () => {
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', '']);
    expect(cli.readyLine).toContain('"metrics":"off"');
    expect(await cli.stop()).toBe(0);
  });

  test('a metrics port in use: a clear error and exit code 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      cli = await startCli(['-a', '127.0.0.1:0', '--metrics-addr', `127.0.0.1:${port}`, '--log-dir', '', '-l', '']).then(
        () => {
          throw new Error('the CLI started although the metrics port was taken');
        },
        (err: unknown) => {
          expect(String(err)).toContain('the CLI exited (1)');
          expect(String(err)).toContain(`cannot serve metrics on 127.0.0.1:${port}`);
          expect(String(err)).toContain('EADDRINUSE');
          return undefined;
        },
      );
    } finally {
      blocker.close();
    }
  });
});
