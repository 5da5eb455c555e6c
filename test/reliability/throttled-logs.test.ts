/**
 * Log lines a client can cause are rate-limited and bounded: a task whose abort listener throws a
 * huge error, cancelled 40 times by a client, writes 5 bounded lines and one summary — not 40 lines of
 * 200 KB each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { throttledLogger, THROTTLED_FIELD_MAX_CHARS } from '../../src/logging/throttled-logger';
import { recordingLogger, type LogLine as Line } from '../helpers/recording-logger';
import { startTestServer, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

const PLUGIN = `module.exports = (api) => {
  api.asyncTask(function noisy(args, ctx) {
    return new Promise((resolve) => ctx.onAbort(() => { throw new Error('listener failed: ' + 'x'.repeat(200000)); }));
  });
};
`;

let dir: string;
let server: TestServer | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-throttled-'));
  writeFileSync(path.join(dir, 'noisy.js'), PLUGIN);
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('40 cancels of a task whose abort listener throws 200 KB: 5 bounded lines (the rest counted for a summary)', async () => {
  const lines: Line[] = [];
  server = await startTestServer({ libraryDir: dir, workerThreads: 0 }, { logger: recordingLogger(lines) });
  const { client } = server;
  for (let i = 0; i < 40; i++) {
    await client.submitTask({ taskId: `n-${i}`, method: 'noisy::noisy', detached: true });
    await client.cancelTask({ taskId: `n-${i}` });
  }
  const thrown = lines.filter((line) => line.message === 'task abort listener threw');
  expect(thrown).toHaveLength(5);
  for (const line of thrown) {
    const err = line.meta['err'] as { message: string };
    expect(err.message.length).toBeLessThanOrEqual(THROTTLED_FIELD_MAX_CHARS + 20);
    expect(err.message).toMatch(/^listener failed: x+… \(200017 chars\)$/);
    expect(line.meta).toMatchObject({ component: 'scheduler', taskId: expect.stringMatching(/^n-\d$/) });
  }
  await server.close(); // the summary line comes at the end of its 10 s interval (unit-tested below)
  server = undefined;
});

test('throttledLogger: per message, a burst then one summary line counting the rest; info passes through', async () => {
  const lines: Line[] = [];
  const logger = throttledLogger(recordingLogger(lines), { burst: 2, intervalMs: 50 });
  for (let i = 0; i < 10; i++) logger.error('store failed', { i, big: 'y'.repeat(10_000) });
  logger.warn('other thing');
  for (let i = 0; i < 3; i++) logger.info('info line');
  expect(lines.map((line) => line.message)).toEqual(['store failed', 'store failed', 'other thing', 'info line', 'info line', 'info line']);
  expect((lines[0]!.meta['big'] as string).length).toBeLessThan(THROTTLED_FIELD_MAX_CHARS + 20);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(lines.slice(6).map((line) => [line.level, line.message])).toEqual([['error', 'store failed: 8 more in the last 0 s (8× repeated)']]);
});
