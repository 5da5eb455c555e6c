/**
 * grpc.health.v1 (SERVING while up, NOT_SERVING from the start of a graceful stop) and server
 * reflection (SPEC §6): `buf curl` run in a directory without any .proto file, so everything it knows
 * — our service, the Any payload types, Health — comes from the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { buildApp, createBuiltinRegistry } from '../../src/app';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { connectHealth, ServingStatus } from './health-client';
import { bufCurl, type Finished } from './processes';

jest.setTimeout(90_000);

let emptyDir: string;
let server: TestServer;
beforeAll(async () => {
  emptyDir = mkdtempSync(path.join(os.tmpdir(), 'ts-eco-reflect-'));
  server = await startTestServer({ libraryDir: '', workerThreads: 0 });
});
afterAll(async () => {
  await server?.close();
  if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
});

/** Polls `check` every 20 ms until true; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('grpc.health.v1.Health', () => {
  test('Check answers SERVING while the server is up', async () => {
    const { health, close } = connectHealth(server.address);
    try {
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.SERVING });
      // Probes that name the service get its status too.
      expect(await health.check({ service: 'taskscheduler.TaskScheduler' })).toEqual({ status: ServingStatus.SERVING });
    } finally {
      close();
    }
  });

  test('Check answers NOT_SERVING once app.close() has started, while running tasks drain', async () => {
    const app = buildApp({ libraryDir: '', workerThreads: 0, shutdownGraceMs: 30_000 }, { registry: createBuiltinRegistry() });
    const { grpc: address } = await app.start('127.0.0.1:0');
    const tasks = createTaskSchedulerClient(address);
    const { health, close: closeHealth } = connectHealth(address);
    let closing: Promise<void> | undefined;
    try {
      const sleeper = expectGrpcError(tasks.client.submitTask({ taskId: 'sleeper', method: 'sleep', args: [toAny(60_000)] }));
      await waitFor('sleeper running', async () => (await tasks.client.getResult({ taskId: 'sleeper' })).status === TaskResponse_Status.RUNNING);
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.SERVING });

      closing = app.close();
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.NOT_SERVING });
      expect(await health.check({ service: 'taskscheduler.TaskScheduler' })).toEqual({ status: ServingStatus.NOT_SERVING });
      // Still draining: the task runs on, new work is turned away.
      expect((await tasks.client.getResult({ taskId: 'sleeper' })).status).toBe(TaskResponse_Status.RUNNING);
      const late = await expectGrpcError(tasks.client.submitTask({ method: 'add', args: [toAny(1)] }));
      expect(late.code).toBe(Status.UNAVAILABLE);
      expect(late.details).toMatch(/^Shutting down/);
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.NOT_SERVING });

      // End the drain now rather than after the grace period.
      expect(await tasks.client.cancelTask({ taskId: 'sleeper' })).toMatchObject({ cancelled: true });
      expect((await sleeper).code).toBe(Status.CANCELLED);
      await closing;
    } finally {
      tasks.close();
      closeHealth();
      await (closing ?? app.close());
    }
  });
});

describe('server reflection through buf curl, no proto files', () => {
  const grpc = ['--protocol', 'grpc', '--http2-prior-knowledge'];
  const any = (type: string, value: object) => ({ '@type': `type.googleapis.com/${type}`, ...value });
  const int32 = (value: number) => any('google.protobuf.Int32Value', { value });

  async function call(method: string, body: unknown, extra: readonly string[] = []): Promise<Finished> {
    return bufCurl([...grpc, ...extra, '-d', JSON.stringify(body), `http://${server.address}/${method}`], emptyDir);
  }

  /** Parses buf curl's JSON answer, failing with its stderr when it did not succeed. */
  function answer(res: Finished): unknown {
    if (res.status !== 0 || res.stdout === '') throw new Error(`buf curl failed (${res.status}):\n${res.stderr}\n${res.stdout}`);
    return JSON.parse(res.stdout);
  }

  test('SubmitTask with Int32Value args as JSON with @type, then GetResult', async () => {
    const res = await call('taskscheduler.TaskScheduler/SubmitTask', { task_id: 'reflected-add', method: 'add', args: [int32(1), int32(2)] });
    expect(res.stderr).toBe('');
    expect(answer(res)).toEqual({ taskId: 'reflected-add', status: 'SUCCESS', result: '3', attempts: 1 });
    expect(answer(await call('taskscheduler.TaskScheduler/GetResult', { task_id: 'reflected-add' }))).toEqual({ status: 'SUCCESS', result: '3', attempts: 1 });
  });

  test('ListValue, MapValue and google.protobuf.Value args decode as the server sees them', async () => {
    const res = await call('taskscheduler.TaskScheduler/SubmitTask', {
      method: 'echo',
      args: [
        int32(7),
        any('taskscheduler.ListValue', { values: [int32(1), any('google.protobuf.StringValue', { value: 'x' })] }),
        any('taskscheduler.MapValue', { fields: { b: any('google.protobuf.BoolValue', { value: true }), a: int32(-1) } }),
        any('google.protobuf.Value', { value: { n: 1.5, l: [null, 'y', false] } }),
      ],
    });
    expect(res.stderr).toBe('');
    // Canonical JSON (SPEC §5b): map keys sorted, whatever order they were sent in.
    expect((answer(res) as { result: string }).result).toBe(JSON.stringify([
      { int32: 7 },
      { list: [{ int32: 1 }, { string: 'x' }] },
      { map: { a: { int32: -1 }, b: { bool: true } } },
      { map: { l: { list: [{ null: null }, { string: 'y' }, { bool: false }] }, n: { double: 1.5 } } },
    ]));
  });

  test('64-bit wrappers as JSON strings sum exactly', async () => {
    const max = any('google.protobuf.Int64Value', { value: '9223372036854775807' });
    expect(answer(await call('taskscheduler.TaskScheduler/SubmitTask', { method: 'add', args: [max, max] }))).toMatchObject({ result: '18446744073709551614' });
  });

  test('errors come back as gRPC statuses', async () => {
    const res = await call('taskscheduler.TaskScheduler/SubmitTask', { method: 'nope' });
    expect(res.status).not.toBe(0);
    expect(JSON.parse(res.stdout || res.stderr)).toEqual({ code: 'not_found', message: 'Method not found: nope' });
  });

  test('--list-services names exactly TaskScheduler, TaskSchedulerAdmin and Health', async () => {
    const res = await bufCurl([...grpc, '--list-services', `http://${server.address}`], emptyDir);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n').sort()).toEqual(['grpc.health.v1.Health', 'taskscheduler.TaskScheduler', 'taskscheduler.TaskSchedulerAdmin']);
  });

  test('--list-methods names every RPC', async () => {
    const res = await bufCurl([...grpc, '--list-methods', `http://${server.address}`], emptyDir);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n').sort()).toEqual([
      'grpc.health.v1.Health/Check',
      'grpc.health.v1.Health/Watch',
      'taskscheduler.TaskScheduler/CancelTask',
      'taskscheduler.TaskScheduler/GetResult',
      'taskscheduler.TaskScheduler/ListSubmittedTasks',
      'taskscheduler.TaskScheduler/ListTasks',
      'taskscheduler.TaskScheduler/SubmitTask',
      'taskscheduler.TaskScheduler/SubmitTasks',
      'taskscheduler.TaskScheduler/WaitResult',
      'taskscheduler.TaskScheduler/WatchTasks',
      'taskscheduler.TaskSchedulerAdmin/CreateSchedule',
      'taskscheduler.TaskSchedulerAdmin/DeleteSchedule',
      'taskscheduler.TaskSchedulerAdmin/GetQueueStats',
      'taskscheduler.TaskSchedulerAdmin/ListSchedules',
      'taskscheduler.TaskSchedulerAdmin/PauseMethod',
      'taskscheduler.TaskSchedulerAdmin/ResumeMethod',
    ]);
  });

  test.each([
    ['grpc-v1', '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo'],
    ['grpc-v1alpha', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'],
  ])('--reflect-protocol %s is served (verbose output shows the path asked)', async (protocol, reflectionPath) => {
    const res = await call('taskscheduler.TaskScheduler/SubmitTask', { method: 'add', args: [int32(20), int32(22)] }, ['-v', '--reflect-protocol', protocol]);
    expect(answer(res)).toMatchObject({ status: 'SUCCESS', result: '42' });
    expect(res.stderr).toContain(`POST ${reflectionPath}`);
    const list = await bufCurl([...grpc, '--reflect-protocol', protocol, '--list-services', `http://${server.address}`], emptyDir);
    expect(list.stdout.trim().split('\n').sort()).toEqual(['grpc.health.v1.Health', 'taskscheduler.TaskScheduler', 'taskscheduler.TaskSchedulerAdmin']);
  });

  test('TaskSchedulerAdmin through buf curl: a delayed task, a schedule, pause and stats; a bad time zone is INVALID_ARGUMENT', async () => {
    const delayed = answer(await call('taskscheduler.TaskScheduler/SubmitTask', { task_id: 'curl-later', method: 'echo', detached: true, delay_ms: 60_000, priority: 3, concurrency_key: 'tenant-1' }));
    expect(delayed).toEqual({ taskId: 'curl-later' }); // PENDING is the default value, not printed
    const created = answer(await call('taskscheduler.TaskSchedulerAdmin/CreateSchedule', { schedule: { name: 'curl-tick', cron: '0 0 1 1 *', time_zone: 'UTC', task: { method: 'echo' } } }));
    expect(created).toMatchObject({ name: 'curl-tick', cron: '0 0 1 1 *', timeZone: 'UTC', task: { method: 'echo' } });
    expect(answer(await call('taskscheduler.TaskSchedulerAdmin/ListSchedules', {}))).toMatchObject({ schedules: [{ name: 'curl-tick' }] });
    expect(answer(await call('taskscheduler.TaskSchedulerAdmin/PauseMethod', { method: 'echo' }))).toEqual({ pausedMethods: ['echo'] });
    expect(answer(await call('taskscheduler.TaskSchedulerAdmin/GetQueueStats', {}))).toMatchObject({ methods: [{ method: 'echo', paused: true }], delayed: 1 });
    expect(answer(await call('taskscheduler.TaskSchedulerAdmin/ResumeMethod', { method: 'echo' }))).toEqual({});
    expect(answer(await call('taskscheduler.TaskSchedulerAdmin/DeleteSchedule', { name: 'curl-tick' }))).toEqual({ deleted: true });
    const bad = await call('taskscheduler.TaskSchedulerAdmin/CreateSchedule', { schedule: { name: 'x', cron: '* * * * *', time_zone: 'Mars/Olympus', task: { method: 'echo' } } });
    expect(bad.status).not.toBe(0);
    expect(JSON.parse(bad.stdout || bad.stderr)).toEqual({ code: 'invalid_argument', message: 'Invalid arguments: time_zone \'Mars/Olympus\' is not a known IANA time zone (e.g. "Europe/Berlin"; empty = UTC)' });
    await server.client.cancelTask({ taskId: 'curl-later' });
  });

  test('Health Check through buf curl answers SERVING', async () => {
    const res = await call('grpc.health.v1.Health/Check', {});
    expect(res.stderr).toBe('');
    expect(answer(res)).toEqual({ status: 'SERVING' });
  });
});
