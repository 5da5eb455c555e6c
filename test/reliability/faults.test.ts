/**
 * Fault injection beyond test/engine/faults.test.ts and test/engine/worker-pool.test.ts (which cover
 * non-Error throws, rejecting with undefined, never settling, process.exit and running out of memory
 * in a worker): a task that blocks the event loop (the stall watchdog names it and the server answers
 * again), and tasks that leave an unhandled rejection or an uncaught exception behind (the CLI process
 * logs them and keeps serving).
 */
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { killCli, startCli, type CliProcess } from '../helpers/cli';
import { recordingLogger, type LogLine as Line } from '../helpers/recording-logger';
import { startTestServer, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

describe('event-loop stall watchdog (in process)', () => {
  let server: TestServer | undefined;
  afterEach(() => server?.close());

  test('an async task blocking the loop for 1 s: a warning names it, the server answers again', async () => {
    const lines: Line[] = [];
    server = await startTestServer({ libraryDir: 'test/fixtures/fault-plugins', workerThreads: 0, stallWarnMs: 400 }, { logger: recordingLogger(lines) });
    const stall = server.client.submitTask({ taskId: 'staller', method: 'faults::stall_loop', args: [toAny(1000)] });
    // While it stalls, another caller's ping waits; it is answered afterwards.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const ping = server.client.submitTask({ method: 'ping', args: [toAny('during')] });
    expect(await stall).toEqual({ taskId: 'staller', status: TaskResponse_Status.SUCCESS, result: 'stalled 1000 ms', attempts: 1 });
    expect((await ping).result).toBe('pong: during');
    const warnings = lines.filter((line) => line.level === 'warn' && /^event loop stalled for \d+ ms$/.test(line.message));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    const named = warnings.find((line) => (line.meta['running'] as string[]).some((task) => task.startsWith('faults::stall_loop (task staller, running ')));
    expect(named?.meta).toMatchObject({ component: 'watchdog', thresholdMs: 400 });
    expect(named!.meta['stalledMs'] as number).toBeGreaterThanOrEqual(400);
    expect(server.app.watchdog!.stalls).toBeGreaterThanOrEqual(1);
    expect((await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
  });

  test('--stall-warn-ms 0: no watchdog', async () => {
    server = await startTestServer({ libraryDir: '', workerThreads: 0, stallWarnMs: 0 });
    expect(server.app.watchdog).toBeUndefined();
  });
});

describe('stray errors from tasks (the CLI process)', () => {
  let cli: CliProcess | undefined;
  afterEach(() => killCli(cli));

  test('an unhandled rejection and an uncaught exception are logged; the tasks succeed; the server serves on; a stall is named', async () => {
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', 'test/fixtures/fault-plugins', '--worker-threads', '0', '--stall-warn-ms', '400']);
    const { client, close } = createTaskSchedulerClient(cli.address);
    try {
      expect((await client.submitTask({ taskId: 'rej', method: 'faults::stray_rejection' })).result).toBe('returned before its stray promise rejected');
      expect((await client.submitTask({ taskId: 'thr', method: 'faults::stray_throw' })).result).toBe('returned before its timer threw');
      await cli.waitFor(/error: unhandled rejection \(from a task\?\).*stray rejection from a task/);
      await cli.waitFor(/error: uncaught exception \(from a task\?\).*stray throw from a task timer/);
      expect((await client.getResult({ taskId: 'rej' })).status).toBe(TaskResponse_Status.SUCCESS);
      expect((await client.submitTask({ taskId: 'stall', method: 'faults::stall_loop', args: [toAny(1000)] })).result).toBe('stalled 1000 ms');
      await cli.waitFor(/warn: event loop stalled for \d+ ms.*faults::stall_loop \(task stall, running/);
      expect((await client.submitTask({ method: 'add', args: [toAny(2), toAny(2)] })).result).toBe('4');
    } finally {
      close();
    }
    expect(await cli.stop()).toBe(0);
  });
});
