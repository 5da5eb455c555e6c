/**
 * Task progress (issue 16 item 4): ctx.progress from an async task, an inline sync task and a
 * worker-thread task reaches WatchTasks (throttled: a burst of reports is a few events) and GetResult.
 */
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { submitTasks, watchTasks, type WorkflowEvent } from '../../src/client/workflows';
import { startTestServer, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ libraryDir: 'test/fixtures/progress-plugins', workerThreads: 1 });
});
afterAll(async () => {
  await server?.close();
});

test('an async task: throttled reports on the stream, the latest in GetResult while it runs, none once finished', async () => {
  await submitTasks(server.client, [{ taskId: 'p-async', method: 'progress::progress_async' }]);
  const progress: WorkflowEvent[] = [];
  let during: unknown;
  for await (const event of watchTasks(server.client, ['p-async'])) {
    if (event.kind !== 'progress') continue;
    progress.push(event);
    if (event.progressMessage === 'half') during = await server.client.getResult({ taskId: 'p-async' });
  }
  // 1,000 reports in one burst and one more later: the first of the burst, its latest after the interval, then 'half'.
  // (The watch may begin after some of them: its initial state then carries the latest.)
  expect(progress.length).toBeGreaterThanOrEqual(1);
  expect(progress.length).toBeLessThanOrEqual(3);
  for (const event of progress) expect(['burst 0', 'burst 999', 'half']).toContain(event.progressMessage);
  expect(progress[progress.length - 1]).toMatchObject({ progress: 0.5, progressMessage: 'half' });
  expect(during).toEqual({ status: TaskResponse_Status.RUNNING, result: '', attempts: 1, progress: { fraction: 0.5, message: 'half' } });
  expect(await server.client.getResult({ taskId: 'p-async' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'async done', attempts: 1, progress: undefined });
});

test('an inline sync task: its report is streamed, the fraction clamped to 1 only when sent', async () => {
  await submitTasks(server.client, [{ taskId: 'p-gate', method: 'sleep', args: [toAny(100)] }, { taskId: 'p-inline', method: 'progress::progress_inline', deps: ['p-gate'] }]);
  const events: WorkflowEvent[] = [];
  for await (const event of watchTasks(server.client, ['p-inline'])) events.push(event);
  expect(events.filter((event) => event.kind === 'progress')).toEqual([expect.objectContaining({ progress: 0.3, progressMessage: 'inline' })]);
  expect(events[events.length - 1]).toMatchObject({ status: 'SUCCESS', result: 'inline done' });
});

test('a worker-thread task: reports cross the thread boundary, throttled', async () => {
  await submitTasks(server.client, [{ taskId: 'p-worker', method: 'progress::progress_worker', args: [toAny(500)] }]);
  const events: WorkflowEvent[] = [];
  for await (const event of watchTasks(server.client, ['p-worker'])) events.push(event);
  const progress = events.filter((event) => event.kind === 'progress');
  const final = events[events.length - 1]!;
  expect(final.status).toBe('SUCCESS');
  const reports = Number(/done after (\d+) reports/.exec(final.result)![1]);
  expect(reports).toBeGreaterThan(100);
  expect(progress.length).toBeGreaterThanOrEqual(1);
  // At most one per 100 ms of a 500 ms run (and a little slack for the thread's own start).
  expect(progress.length).toBeLessThanOrEqual(8);
  for (const event of progress) {
    expect(event.progress).toBeGreaterThanOrEqual(0);
    expect(event.progress).toBeLessThanOrEqual(1);
    expect(event.progressMessage).toMatch(/^step \d+$/);
  }
});
