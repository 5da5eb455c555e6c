/**
 * Worker threads run exactly the plugin code the main thread loaded: a file changed (or broken) on disk
 * without `reload` changes nothing, even when a worker thread is replaced.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

let dir: string;
let server: TestServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-worker-plugins-'));
  writeFileSync(
    path.join(dir, 'w.js'),
    `module.exports = (api) => {
      api.syncTask(function heavy() { return 'v1'; }, { worker: true });
      api.syncTask(function spin() { for (;;) {} }, { worker: true });
      api.syncTask(function inline() { return 'v1'; });
    };`,
  );
  server = await startTestServer({ libraryDir: dir, workerThreads: 1 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string) => (await server.client.submitTask({ method })).result;

test('a replaced worker thread loads the snapshot, not the file as it is now on disk', async () => {
  expect(await call('w::heavy')).toBe('v1');
  writeFileSync(path.join(dir, 'w.js'), 'module.exports = (api) => {'); // broken, and not reloaded
  // Cancelling a spinning pooled task terminates its thread; piscina starts a new one.
  const spinning = expectGrpcError(server.client.submitTask({ taskId: 'spin-1', method: 'w::spin' }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect((await server.client.cancelTask({ taskId: 'spin-1' })).status).toBe(TaskResponse_Status.CANCELLED);
  expect((await spinning).code).toBe(Status.CANCELLED);
  // The new thread runs the same code as the main thread, and the built-ins still work there.
  expect(await call('w::heavy')).toBe('v1');
  expect(await call('w::inline')).toBe('v1');
  expect((await server.client.submitTask({ method: 'fib', args: [toAny(10)] })).result).toBe('55');
});
