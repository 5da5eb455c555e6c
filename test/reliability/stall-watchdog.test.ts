/**
 * The stall watchdog names what blocked the loop — inline sync tasks (`worker: false`, over by the
 * time its timer fires) as well as tasks still running — in a bounded line (a few names and a count),
 * and its warnings are rate-limited, so a loaded server that stalls cannot feed its own stalls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { LongInlineRuns } from '../../src/engine/long-inline-runs';
import { killCli, startCli, type CliProcess } from '../helpers/cli';
import { recordingLogger, type LogLine as Line } from '../helpers/recording-logger';
import { startTestServer, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

/** `stall::spin(ms)`: an inline sync task that blocks the loop; `stall::wait`: an async task that never ends by itself. */
const PLUGIN = `module.exports = (api) => {
  api.syncTask(function spin(args) {
    const ms = args[0] ? args[0].value : 1000;
    const end = Date.now() + ms;
    while (Date.now() < end) { /* block the event loop */ }
    return 'spun ' + ms + ' ms';
  });
  api.asyncTask(function wait(args, ctx) {
    return new Promise((resolve) => ctx.onAbort(() => resolve('stopped')));
  });
};
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-stall-'));
  writeFileSync(path.join(dir, 'stall.js'), PLUGIN);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stallWarnings = (lines: readonly Line[]) => lines.filter((line) => line.level === 'warn' && /^event loop stalled for \d+ ms$/.test(line.message));

describe('in process', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a 1.5 s inline sync task is named, although it has ended when the watchdog runs', async () => {
    const lines: Line[] = [];
    server = await startTestServer({ libraryDir: dir, workerThreads: 0, stallWarnMs: 400 }, { logger: recordingLogger(lines) });
    expect((await server.client.submitTask({ taskId: 'inline-1', method: 'stall::spin', args: [toAny(1500)] })).result).toBe('spun 1500 ms');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the watchdog's next tick
    const [warning] = stallWarnings(lines);
    expect(warning?.meta).toMatchObject({ component: 'watchdog', thresholdMs: 400 });
    expect(warning!.meta['running']).toEqual([expect.stringMatching(/^stall::spin \(task inline-1, ran 1\d{3} ms inline\)$/)]);
    expect(warning!.meta['stalledMs'] as number).toBeGreaterThanOrEqual(400);
  });

  test('with 60 tasks running, a warning names 5 and counts the rest', async () => {
    const lines: Line[] = [];
    server = await startTestServer({ libraryDir: dir, workerThreads: 0, stallWarnMs: 400 }, { logger: recordingLogger(lines) });
    const { client } = server;
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.submitTask({ taskId: `w-${i}`, method: 'stall::wait', detached: true })));
    await client.submitTask({ taskId: 'spinner', method: 'stall::spin', args: [toAny(800)] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [warning] = stallWarnings(lines);
    const running = warning!.meta['running'] as string[];
    expect(running).toHaveLength(5);
    expect(running[0]).toMatch(/^stall::spin \(task spinner, ran \d+ ms inline\)$/);
    for (const named of running.slice(1)) expect(named).toMatch(/^stall::wait \(task w-\d+, running \d+ ms\)$/);
    expect(warning!.meta['moreRunning']).toBe(56);
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.cancelTask({ taskId: `w-${i}` })));
  });

  test('warnings are rate-limited: 3 lines, then the rest collapse into one summary line', async () => {
    const lines: Line[] = [];
    server = await startTestServer({ libraryDir: dir, workerThreads: 0, stallWarnMs: 100 }, { logger: recordingLogger(lines) });
    for (let i = 0; i < 6; i++) {
      await server.client.submitTask({ method: 'stall::spin', args: [toAny(250)] });
      await new Promise((resolve) => setTimeout(resolve, 120)); // a tick between stalls
    }
    expect(server.app.watchdog!.stalls).toBeGreaterThanOrEqual(6);
    expect(stallWarnings(lines)).toHaveLength(3);
    await server.close(); // flushes the summary
    server = undefined;
    const summary = lines.filter((line) => line.message.startsWith('event loop stalled again: '));
    expect(summary).toHaveLength(1);
    expect(summary[0]!.message).toMatch(/^event loop stalled again: \d+ more in the last 60 s \(\d+× under 1 s\)$/);
    expect(summary[0]!.level).toBe('warn');
  });
});

test('LongInlineRuns keeps the longest few runs over its threshold, and forgets them once taken', () => {
  const runs = new LongInlineRuns(100, 2);
  runs.note('a', 'm', 99);
  runs.note('b', 'm', 150);
  runs.note('c', 'm', 400);
  runs.note('d', 'm', 120);
  runs.note('e', 'm', 200);
  expect(runs.take().map((run) => [run.taskId, run.ms])).toEqual([['c', 400], ['e', 200]]);
  expect(runs.take()).toEqual([]);
});

test('the real CLI names a long inline sync task in its warning', async () => {
  let cli: CliProcess | undefined;
  try {
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', dir, '--worker-threads', '0', '--stall-warn-ms', '400']);
    const connection = createTaskSchedulerClient(cli.address);
    try {
      expect((await connection.client.submitTask({ taskId: 'cli-inline', method: 'stall::spin', args: [toAny(1500)] })).result).toBe('spun 1500 ms');
      await cli.waitFor(/warn: event loop stalled for \d+ ms[^\n]*"running":\["stall::spin \(task cli-inline, ran 1\d{3} ms inline\)"\]/);
    } finally {
      connection.close();
    }
  } finally {
    await killCli(cli);
  }
});
