/**
 * Plugins that end worker threads (process.exit while loading there, or just after): the real CLI
 * reports them by name and fails their worker tasks at once — later worker tasks (built-in `fib`
 * included) never hang RUNNING.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { killCli, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';

jest.setTimeout(60_000);

/** A plugin with one worker task `hi`; `onWorkerThread` runs at load, in worker threads only. */
function killerPlugin(onWorkerThread: string): string {
  return `const { isMainThread } = require('node:worker_threads');
module.exports = (api) => {
  if (!isMainThread) { ${onWorkerThread} }
  api.syncTask(function hi() { return 'hi'; }, { worker: true });
};
`;
}

/** Starts the CLI with `killer.js` (of `source`) as its only plugin. */
async function withKiller(source: string, body: (cli: CliProcess, connection: TaskSchedulerConnection, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-worker-death-'));
  const file = path.join(dir, 'killer.js');
  writeFileSync(file, source);
  let cli: CliProcess | undefined;
  let connection: TaskSchedulerConnection | undefined;
  try {
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '--worker-threads', '2', '-l', dir]);
    connection = createTaskSchedulerClient(cli.address);
    await body(cli, connection, file);
  } finally {
    connection?.close();
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The call's outcome as text, or 'still waiting' after 10 s (a hang). */
function settle(call: Promise<{ result: string }>): Promise<string> {
  return Promise.race([
    call.then((res) => `ok ${res.result}`, (err: unknown) => `error ${err instanceof Error ? err.message : String(err)}`),
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 10_000).unref()),
  ]);
}

test('process.exit while loading in a worker thread: the plugin fails there (logged by name), fib and others keep running', async () => {
  await withKiller(killerPlugin('process.exit(4);'), async (cli, { client }, file) => {
    const err = await expectGrpcError(client.submitTask({ method: 'killer::hi' }));
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.details).toBe(
      `Task execution failed: task 'killer::hi' is not available in worker threads: failed to load there: ${file}: called process.exit(4) while loading in a worker thread`,
    );
    for (const n of [10, 11, 12, 13]) expect(await settle(client.submitTask({ method: 'fib', args: [toAny(n)] }))).toMatch(/^ok \d+$/);
    const logged = await cli.waitFor(/plugin or task module failed to load in the worker threads[^\n]*\n/);
    expect(logged).toContain(`"file":"${file}"`);
    expect(logged).toContain('"reason":"called process.exit(4) while loading in a worker thread"');
  });
});

test('a plugin that kills every thread as it starts: reported by name, worker tasks fail fast, inline tasks unaffected', async () => {
  await withKiller(killerPlugin('queueMicrotask(() => process.exit(5));'), async (cli, { client }, file) => {
    const outcomes = await Promise.all([1, 2, 3, 4].map((n) => settle(client.submitTask({ taskId: `fib-${n}`, method: 'fib', args: [toAny(n)] }))));
    for (const outcome of outcomes) expect(outcome).toMatch(/^error .*INTERNAL: Task execution failed: (worker thread died while running 'fib'|no worker thread can run it)/);
    for (const n of [1, 2, 3, 4]) expect((await client.getResult({ taskId: `fib-${n}` })).status).toBe(TaskResponse_Status.FAILED);
    // Once the pool is known broken, every worker task fails at once with the reason, naming the plugin.
    await cli.waitFor(new RegExp(`error: worker threads die while starting \\(after loading ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): worker tasks fail at once`));
    const err = await expectGrpcError(client.submitTask({ method: 'fib', args: [toAny(20)] }));
    expect(err.details).toBe(`Task execution failed: no worker thread can run it: worker threads die while starting (after loading ${file}); fix or unload that plugin/module`);
    expect((await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
  });
});
