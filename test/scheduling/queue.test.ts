/**
 * The run queue over real gRPC (one server, memory store): delayed starts, priorities and aging,
 * per-key fairness and limits, per-method limits, rate limits, pause/resume, and bad input.
 * Intervals are short (tens to hundreds of ms; aging 20-50 ms) so the file takes seconds.
 */
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { waitFor } from '../lifecycle/lifecycle-helpers';
import { ms, Notes, signedMs, sleep, startNotedServer } from './scheduling-helpers';

jest.setTimeout(60_000);

let server: TestServer;
let notes: Notes;
async function start(config: Parameters<typeof startNotedServer>[1] = {}): Promise<void> {
  notes = new Notes();
  server = await startNotedServer(notes, config);
}
afterEach(() => server?.close());

const note = (label: string, runMs = 0) => [toAny(label), toAny(runMs)];

test('a delayed task is accepted PENDING at once, is visible and idempotent, and starts no earlier than asked', async () => {
  await start();
  const before = Date.now();
  const first = await server.client.submitTask({ taskId: 'later', method: 'note', args: note('later'), detached: true, delayMs: signedMs(400) });
  expect(first.status).toBe(TaskResponse_Status.PENDING);
  expect((await server.client.getResult({ taskId: 'later' })).status).toBe(TaskResponse_Status.PENDING);
  const again = await server.client.submitTask({ taskId: 'later', method: 'note', args: note('later'), detached: true, delayMs: signedMs(400) });
  expect(again).toEqual(first);
  const done = await server.client.waitResult({ taskId: 'later', timeoutMs: ms(5_000) });
  expect(done.status).toBe(TaskResponse_Status.SUCCESS);
  expect(notes.starts).toHaveLength(1);
  expect(notes.starts[0]!.at - before).toBeGreaterThanOrEqual(400);
});

test('start_at_ms: an absolute start time; a blocking call waits for it; a delayed task can be cancelled', async () => {
  await start();
  const at = Date.now() + 300;
  const answer = await server.client.submitTask({ method: 'note', args: note('abs'), startAtMs: ms(at) });
  expect(answer.status).toBe(TaskResponse_Status.SUCCESS);
  expect(notes.starts[0]!.at).toBeGreaterThanOrEqual(at);

  await server.client.submitTask({ taskId: 'never', method: 'note', args: note('never'), detached: true, delayMs: signedMs(60_000) });
  expect((await server.admin.getQueueStats({})).delayed).toBe(1);
  expect(await server.client.cancelTask({ taskId: 'never' })).toEqual({ cancelled: true, status: TaskResponse_Status.CANCELLED });
  expect(notes.labels()).not.toContain('never');
  expect((await server.admin.getQueueStats({})).delayed).toBe(0);
});

test('bad scheduling fields: INVALID_ARGUMENT naming the field and the rule', async () => {
  await start({ maxScheduleAheadMs: 3_600_000 });
  const cases: Array<[Parameters<TestServer['client']['submitTask']>[0], RegExp]> = [
    [{ method: 'note', delayMs: signedMs(-5) }, /delay_ms -5 is negative/],
    [{ method: 'note', delayMs: signedMs(3_600_001) }, /delay_ms 3600001 is over the limit of 3600000 ms \(--max-schedule-ahead-ms\)/],
    [{ method: 'note', startAtMs: ms(Date.now() + 86_400_000) }, /start_at_ms \d+ is more than 3600000 ms after now/],
    [{ method: 'note', priority: 1001 }, /priority 1001 is out of range: it must be from -1000 to 1000/],
    [{ method: 'note', priority: -1001 }, /priority -1001 is out of range/],
    [{ method: 'note', concurrencyKey: 'k'.repeat(129) }, /concurrency_key is 129 characters, over the limit of 128/],
  ];
  for (const [request, message] of cases) {
    const err = await expectGrpcError(server.client.submitTask(request));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toMatch(message);
  }
  expect(notes.starts).toHaveLength(0);
});

test('priorities: among waiting tasks the higher starts first; equal priorities in arrival order', async () => {
  await start({ maxConcurrentTasks: 1, priorityAgingMs: 60_000 });
  await server.client.submitTask({ method: 'note', args: note('blocker', 300), detached: true });
  await waitFor('blocker running', () => notes.starts.length === 1);
  const plan: Array<[string, number]> = [['low-1', -5], ['mid-1', 0], ['high-1', 5], ['mid-2', 0], ['high-2', 5], ['low-2', -5]];
  for (const [label, priority] of plan) await server.client.submitTask({ method: 'note', args: note(label), detached: true, priority });
  await waitFor('all ran', () => notes.starts.length === 7);
  expect(notes.labels()).toEqual(['blocker', 'high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
});

test('no starvation: a low-priority task starts under a sustained stream of higher ones, within the aging rule', async () => {
  // One slot; a stream of priority-5 tasks (10 ms each) kept 20 deep for 3 s; one priority-0 task.
  // Rule: every 40 ms waited counts one level, so after ~200 ms the low task outranks every newcomer.
  await start({ maxConcurrentTasks: 1, priorityAgingMs: 40 });
  const end = Date.now() + 3_000;
  let submitted = 0;
  const stream = (async () => {
    while (Date.now() < end) {
      const queued = submitted - notes.starts.filter((s) => s.label === 'high').length;
      if (queued < 20) {
        submitted++;
        await server.client.submitTask({ method: 'note', args: note('high', 10), detached: true, priority: 5 });
      } else await sleep(2);
    }
  })();
  await sleep(300);
  const lowSubmitted = Date.now();
  await server.client.submitTask({ taskId: 'low', method: 'note', args: note('low', 10), detached: true, priority: 0 });
  await stream;
  const low = notes.starts.find((s) => s.label === 'low');
  expect(low).toBeDefined();
  // It waited its turn (higher ones went first) but did not wait for the stream to end.
  const highBefore = notes.starts.filter((s) => s.label === 'high' && s.at >= lowSubmitted && s.at <= low!.at).length;
  expect(highBefore).toBeGreaterThan(0);
  expect(low!.at).toBeLessThan(end);
});

test('per-key fairness: a 10,000-task burst on one key delays another key\'s task by at most one slot turnover', async () => {
  // Two slots; burst tasks run 20 ms each, so the queue on key tenant-a stays thousands deep.
  await start({ maxConcurrentTasks: 2 });
  const burst: Promise<unknown>[] = [];
  for (let i = 0; i < 10_000; i++) {
    burst.push(server.client.submitTask({ method: 'note', args: note('burst', 20), detached: true, concurrencyKey: 'tenant-a' }));
    if (burst.length === 500) await Promise.all(burst.splice(0));
  }
  await Promise.all(burst);
  await server.client.submitTask({ taskId: 'other', method: 'note', args: note('other'), detached: true, concurrencyKey: 'tenant-b' });
  const accepted = (await server.app.results.get('other'))!.submittedAt;
  await waitFor('other ran', () => notes.labels().includes('other'), 30_000);
  const index = notes.starts.findIndex((s) => s.label === 'other');
  // Burst tasks that started after it was accepted and before it: at most one per slot.
  const overtaking = notes.starts.slice(0, index).filter((s) => s.at > accepted).length;
  expect(overtaking).toBeLessThanOrEqual(2);
  const stats = await server.admin.getQueueStats({});
  expect(stats.keys.find((k) => k.concurrencyKey === 'tenant-a')?.waiting).toBeGreaterThan(1_000);
  expect(stats.keys.find((k) => k.concurrencyKey === 'tenant-a')?.running).toBe(2);
  await server.admin.pauseMethod({ method: 'note' }); // the rest of the burst is cancelled at close
});

test('--key-concurrency bounds each key; other keys keep running; --method-concurrency bounds a method', async () => {
  await start({ keyConcurrency: 2, methodConcurrency: new Map([['sleep', 1]]) });
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 8; i++) calls.push(server.client.submitTask({ method: 'note', args: note('a', 60), concurrencyKey: 'a' }));
  for (let i = 0; i < 3; i++) calls.push(server.client.submitTask({ method: 'note', args: note('b', 60), concurrencyKey: 'b' }));
  const sleeps = [0, 1, 2].map(() => server.client.submitTask({ method: 'sleep', args: [toAny(100)] }));
  await waitFor('b running alongside a', () => (notes.running.get('b') ?? 0) > 0 && (notes.running.get('a') ?? 0) > 0);
  const stats = await server.admin.getQueueStats({});
  expect(stats.methods.find((m) => m.method === 'sleep')).toMatchObject({ running: 1, waiting: 2 });
  await Promise.all([...calls, ...sleeps]);
  expect(notes.maxRunning.get('a')).toBe(2);
  expect(notes.maxRunning.get('b')).toBe(2);
});

test('--method-rate-limit: at most N starts in any interval (sliding window)', async () => {
  await start({ methodRateLimits: new Map([['note', { starts: 3, intervalMs: 300 }]]) });
  await Promise.all(Array.from({ length: 9 }, (_, i) => server.client.submitTask({ method: 'note', args: note(`r${i}`) })));
  const times = notes.starts.map((s) => s.at).sort((a, b) => a - b);
  for (let i = 3; i < times.length; i++) expect(times[i]! - times[i - 3]!).toBeGreaterThanOrEqual(299);
  expect(times[8]! - times[0]!).toBeGreaterThanOrEqual(600);
});

test('pause/resume: a paused method accepts tasks but starts none; stats show it; resume starts them', async () => {
  await start();
  expect(await server.admin.pauseMethod({ method: 'note' })).toEqual({ pausedMethods: ['note'] });
  for (const label of ['p1', 'p2']) await server.client.submitTask({ taskId: label, method: 'note', args: note(label), detached: true });
  const echo = await server.client.submitTask({ method: 'echo', args: [toAny('other methods run')] });
  expect(echo.status).toBe(TaskResponse_Status.SUCCESS);
  await sleep(200);
  expect(notes.starts).toHaveLength(0);
  expect((await server.client.getResult({ taskId: 'p1' })).status).toBe(TaskResponse_Status.PENDING);
  const stats = await server.admin.getQueueStats({});
  expect(stats.methods.find((m) => m.method === 'note')).toEqual({ method: 'note', waiting: 2, running: 0, paused: true });
  expect(await server.admin.resumeMethod({ method: 'note' })).toEqual({ pausedMethods: [] });
  expect((await server.client.waitResult({ taskId: 'p2', timeoutMs: ms(5_000) })).status).toBe(TaskResponse_Status.SUCCESS);
  expect(notes.labels()).toEqual(['p1', 'p2']);
  const unknown = await expectGrpcError(server.admin.pauseMethod({ method: 'no_such' }));
  expect(unknown.code).toBe(Status.NOT_FOUND);
});

test('metrics and the dashboard overview: paused methods, queue depth per method, running per key, delayed tasks', async () => {
  await start({ metricsAddr: '127.0.0.1:0', dashboardAddr: '127.0.0.1:0', maxConcurrentTasks: 1 });
  await server.client.submitTask({ method: 'note', args: note('k-run', 2_000), detached: true, concurrencyKey: 'tenant-x' });
  await waitFor('running', () => notes.starts.length === 1);
  await server.client.submitTask({ method: 'note', args: note('queued'), detached: true });
  await server.client.submitTask({ method: 'note', args: note('later'), detached: true, delayMs: signedMs(60_000) });
  await server.admin.pauseMethod({ method: 'echo' });
  const text = await (await fetch(`http://${server.metricsAddress}/metrics`)).text();
  expect(text).toContain('task_scheduler_method_queue_depth{method="note"} 1');
  expect(text).toContain('task_scheduler_method_paused{method="echo"} 1');
  expect(text).toContain('task_scheduler_key_running{key="tenant-x"} 1');
  expect(text).toContain('task_scheduler_tasks_delayed 1');
  const overview = (await (await fetch(`http://${server.dashboardAddress}/api/overview`)).json()) as { scheduling: unknown };
  expect(overview.scheduling).toEqual({ paused: ['echo'], waitingByMethod: { note: 1 }, runningByKey: { 'tenant-x': 1 }, delayed: 1 });
});
