/**
 * OpenTelemetry tracing end to end: two CLI replicas on one Redis export spans over OTLP/HTTP to a
 * receiver in this test, which decodes what the exporter really sends. A small workflow — a sleep on
 * replica 1, a step on replica 2 that fails once and is retried, and a dependent submitted later
 * without any trace context — must form one trace with the right parents, events and attributes, and
 * nothing of the arguments, results, error texts or token may leave. (Needs `npm run build`.)
 */
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import Long from 'long';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { killCli, ROOT, startCli, type CliProcess } from '../helpers/cli';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { uniquePrefix } from '../scale-out/replicas';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';

jest.setTimeout(90_000);

const TOKEN = 'tracing-test-token-do-not-export';
const SECRET_ARG = 'top-secret-argument-value';

let receiver: OtlpReceiver;
let redis: RedisInstance;
const clis: CliProcess[] = [];
const connections: TaskSchedulerConnection[] = [];
let provider: NodeTracerProvider;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  redis = await startRedis();
  const prefix = uniquePrefix('trace');
  for (let i = 0; i < 2; i++) {
    clis.push(
      await startCli(
        ['--addr', '127.0.0.1:0', '--store', redis.url, '--redis-prefix', prefix, '--otlp-endpoint', receiver.url, '--auth-token', TOKEN,
          '--task-module', path.join(ROOT, 'test/fixtures/task-modules/tracing-tasks.js'), '--library-dir', '', '--log-dir', '', '--worker-threads', '0', '--log-level', 'debug'],
        { env: { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'tracing-test' } },
      ),
    );
  }
  for (const cli of clis) connections.push(createTaskSchedulerClient(cli.address, { token: TOKEN }));
  // The caller's own tracing: its active span must become the parent of the server's.
  provider = new NodeTracerProvider();
  provider.register();
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await Promise.allSettled(clis.map((cli) => cli.stop('SIGTERM', 5_000).catch(() => killCli(cli))));
  await provider?.shutdown();
  await redis?.close();
  await receiver?.close();
});

async function waitForSpans(done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done(receiver.spans)) {
    if (Date.now() > deadline) throw new Error(`spans not exported in time; got: ${receiver.spans.map((span) => span.name).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a workflow across two replicas with a retried step is one trace: parents, events, attributes, nothing leaked', async () => {
  const [r1, r2] = connections.map((connection) => connection.client) as [TaskSchedulerConnection['client'], TaskSchedulerConnection['client']];
  const tracer = provider.getTracer('client');
  const root = tracer.startSpan('client workflow');
  const { traceId, spanId: rootId } = root.spanContext();
  await context.with(trace.setSpan(context.active(), root), async () => {
    await r1.submitTask({ taskId: 'wf-a', method: 'sleep', args: [toAny(300)], detached: true });
    await r2.submitTask({
      taskId: 'wf-b', method: 'flaky', args: [toAny(SECRET_ARG)], deps: ['wf-a'], detached: true,
      retryPolicy: { maxAttempts: 2, initialBackoffMs: Long.fromNumber(50, true), maxBackoffMs: Long.UZERO, backoffMultiplier: 0 },
    });
  });
  root.end();
  // Submitted later, with no trace context of its own: it joins its dependency's trace.
  const c = await r1.submitTask({ taskId: 'wf-c', method: 'concat', args: [toAny('!')], deps: ['wf-b'], injectDependencyResults: true });
  expect(c).toEqual({ taskId: 'wf-c', status: TaskResponse_Status.SUCCESS, result: 'ok on attempt 2!', attempts: 1 });

  const taskSpan = (method: string) => receiver.spans.find((span) => span.name === `task ${method}`);
  await waitForSpans(() => ['sleep', 'flaky', 'concat'].every((method) => taskSpan(method)) && receiver.spans.filter((span) => span.name === 'run flaky').length === 2);

  const byId = new Map(receiver.spans.map((span) => [span.spanId, span]));
  const workflow = receiver.spans.filter((span) => span.traceId === traceId);
  expect(workflow.every((span) => span.service === 'tracing-test')).toBe(true);

  // The RPC spans of the traced submissions: children of the caller's span, with rpc.* attributes.
  const rpcs = workflow.filter((span) => span.name === 'taskscheduler.TaskScheduler/SubmitTask');
  expect(rpcs).toHaveLength(2);
  for (const rpc of rpcs) {
    expect(rpc.parentSpanId).toBe(rootId);
    expect(rpc.kind).toBe(2); // SERVER
    expect(rpc.attributes).toEqual({ 'rpc.system': 'grpc', 'rpc.service': 'taskscheduler.TaskScheduler', 'rpc.method': 'SubmitTask', 'rpc.grpc.status_code': 0 });
  }

  // One life span per task, all in the workflow's trace: A and B under their RPC spans, C (which
  // came without a context) under the context B was submitted with.
  const a = taskSpan('sleep')!;
  const b = taskSpan('flaky')!;
  const cSpan = taskSpan('concat')!;
  for (const span of [a, b, cSpan]) expect(span.traceId).toBe(traceId);
  expect(rpcs.map((rpc) => rpc.spanId)).toContain(a.parentSpanId);
  expect(rpcs.map((rpc) => rpc.spanId)).toContain(b.parentSpanId);
  expect(a.parentSpanId).not.toBe(b.parentSpanId);
  expect(cSpan.parentSpanId).toBe(b.parentSpanId);
  expect(b.attributes).toEqual({
    'taskscheduler.task.id': 'wf-b',
    'taskscheduler.task.method': 'flaky',
    'taskscheduler.task.status': 'SUCCESS',
    'taskscheduler.task.attempts': 2,
  });
  expect(b.events.map((event) => event.name)).toEqual(['accepted', 'waiting for dependencies', 'started', 'attempt failed', 'started', 'finished']);
  expect(b.events[1]!.attributes).toEqual({ 'taskscheduler.task.dependencies': ['wf-a'] });
  expect(b.events.filter((event) => event.name === 'started').map((event) => event.attributes['taskscheduler.task.attempt'])).toEqual([1, 2]);
  expect(b.events[5]!.attributes).toEqual({ 'taskscheduler.task.status': 'SUCCESS' });

  // A run span per attempt, under the task's span: the first failed (status: the gRPC code's name only).
  const runs = workflow.filter((span) => span.name === 'run flaky').sort((x, y) => Number(x.attributes['taskscheduler.task.attempt']) - Number(y.attributes['taskscheduler.task.attempt']));
  expect(runs.map((run) => run.parentSpanId)).toEqual([b.spanId, b.spanId]);
  expect(runs.map((run) => run.attributes['taskscheduler.task.attempt'])).toEqual([1, 2]);
  expect(runs[0]!.status).toMatchObject({ code: 2, message: 'INTERNAL' });
  expect(runs[1]!.status.code ?? 0).not.toBe(2);
  expect(byId.get(runs[0]!.parentSpanId)?.name).toBe('task flaky');

  // The step ran on replica 2 and its dependent on replica 1: both replicas exported into one trace,
  // and the replicas' debug log lines carry the trace id.
  await Promise.all(clis.map((cli) => cli.waitFor(new RegExp(`"trace_id":"${traceId}"`), 0, 10_000)));

  // Nothing of the arguments, results, error texts or the token left the servers.
  const exported = receiver.bodies.join('\n');
  for (const secret of [SECRET_ARG, TOKEN, 'first attempt fails', 'ok on attempt 2']) expect(exported).not.toContain(secret);
});
