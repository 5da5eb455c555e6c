/**
 * ListSubmittedTasks on each store (memory, SQLite, Redis): filters, newest first, paging with tokens,
 * bounds and bad requests — over gRPC with the generated client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Long from 'long';
import { TaskResponse_Status, type ListSubmittedTasksRequest, type SubmittedTask } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { uniquePrefix } from '../scale-out/replicas';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisInstance;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(path.join(tmpdir(), 'list-submitted-'));
});
afterAll(async () => {
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

const STORES: ReadonlyArray<readonly [string, () => string]> = [
  ['memory', () => 'memory'],
  ['sqlite', () => `sqlite:${path.join(dir, `${Math.random().toString(36).slice(2)}.db`)}`],
  ['redis', () => redis.url],
];

describe.each(STORES)('%s store', (_name, store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: store(), redisPrefix: uniquePrefix('list'), workerThreads: 0 });
    // 12 tasks a few ms apart: 8 succeed (4 'ping', 4 'add'), 2 fail, 2 run long (RUNNING, then cancelled).
    for (let i = 0; i < 12; i++) {
      const taskId = `job-${String(i).padStart(2, '0')}`;
      if (i === 5 || i === 9) await server.client.submitTask({ taskId, method: 'fail', args: [toAny(`bad ${i}`)] }).catch(() => undefined);
      else if (i === 10 || i === 11) await server.client.submitTask({ taskId, method: 'sleep', args: [toAny(30_000)], detached: true });
      else await server.client.submitTask({ taskId, method: i % 2 ? 'add' : 'ping', args: [toAny(i)] });
      await sleep(3);
    }
    await server.client.submitTask({ taskId: 'other-1', method: 'concat', args: [toAny('x'.repeat(3000))] });
    for (const taskId of ['job-10', 'job-11']) {
      for (let i = 0; i < 100 && (await server.client.getResult({ taskId })).status !== TaskResponse_Status.RUNNING; i++) await sleep(20);
    }
  });
  afterAll(async () => {
    await server.client.cancelTask({ taskId: 'job-10' });
    await server.client.cancelTask({ taskId: 'job-11' });
    await server.close();
  });

  const list = (request: Partial<ListSubmittedTasksRequest>) => server.client.listSubmittedTasks(request);
  const ids = (tasks: readonly SubmittedTask[]) => tasks.map((task) => task.taskId);

  test('newest first, every field of a task', async () => {
    const answer = await list({});
    expect(ids(answer.tasks)).toEqual(['other-1', 'job-11', 'job-10', 'job-09', 'job-08', 'job-07', 'job-06', 'job-05', 'job-04', 'job-03', 'job-02', 'job-01', 'job-00']);
    expect(answer.nextPageToken).toBe('');
    const add = answer.tasks.find((task) => task.taskId === 'job-03')!;
    expect(add).toMatchObject({ method: 'add', status: TaskResponse_Status.SUCCESS, result: '3', resultTruncated: false, attempts: 1, deps: [] });
    expect(add.submittedAtMs.toNumber()).toBeGreaterThan(Date.now() - 60_000);
    expect(add.startedAtMs.toNumber()).toBeGreaterThanOrEqual(add.submittedAtMs.toNumber());
    expect(add.finishedAtMs.toNumber()).toBeGreaterThanOrEqual(add.startedAtMs.toNumber());
    const running = answer.tasks.find((task) => task.taskId === 'job-11')!;
    expect(running).toMatchObject({ status: TaskResponse_Status.RUNNING, result: '', attempts: 1 });
    expect(running.finishedAtMs.isZero()).toBe(true);
    const long = answer.tasks.find((task) => task.taskId === 'other-1')!;
    expect(long.result).toBe('x'.repeat(1024));
    expect(long.resultTruncated).toBe(true);
  });

  test('filters: statuses, method, id prefix, submission time — combined', async () => {
    expect(ids((await list({ statuses: [TaskResponse_Status.FAILED] })).tasks)).toEqual(['job-09', 'job-05']);
    expect(ids((await list({ statuses: [TaskResponse_Status.RUNNING, TaskResponse_Status.FAILED] })).tasks)).toEqual(['job-11', 'job-10', 'job-09', 'job-05']);
    expect(ids((await list({ method: 'add' })).tasks)).toEqual(['job-07', 'job-03', 'job-01']);
    expect(ids((await list({ taskIdPrefix: 'other' })).tasks)).toEqual(['other-1']);
    expect(ids((await list({ taskIdPrefix: 'job-0', method: 'ping', statuses: [TaskResponse_Status.SUCCESS] })).tasks)).toEqual(['job-08', 'job-06', 'job-04', 'job-02', 'job-00']);
    const all = (await list({})).tasks;
    const at = (id: string) => all.find((task) => task.taskId === id)!.submittedAtMs;
    const between = await list({ submittedAfterMs: at('job-03'), submittedBeforeMs: at('job-06') });
    expect(ids(between.tasks)).toEqual(['job-05', 'job-04', 'job-03']);
    expect((await list({ method: 'nobody' })).tasks).toEqual([]);
  });

  test('pages: page_size bounds a page, next_page_token continues after it, until the last page', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const answer = await list({ pageSize: 4, pageToken: token });
      expect(answer.tasks.length).toBeLessThanOrEqual(4);
      seen.push(...ids(answer.tasks));
      token = answer.nextPageToken;
      pages++;
    } while (token !== '' && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(ids((await list({})).tasks));
    // Filters apply across pages.
    const first = await list({ method: 'ping', pageSize: 2 });
    expect(ids(first.tasks)).toEqual(['job-08', 'job-06']);
    expect(ids((await list({ method: 'ping', pageSize: 2, pageToken: first.nextPageToken })).tasks)).toEqual(['job-04', 'job-02']);
  });

  test('bad requests: INVALID_ARGUMENT naming the field', async () => {
    const tooBig = await expectGrpcError(list({ pageSize: 1001 }));
    expect(tooBig.code).toBe(Status.INVALID_ARGUMENT);
    expect(tooBig.details).toBe('Invalid arguments: page_size 1001 is over the limit of 1000');
    const notAState = await expectGrpcError(list({ statuses: [TaskResponse_Status.NOT_FOUND] }));
    expect(notAState.details).toBe('Invalid arguments: statuses[0]: NOT_FOUND is not a task state (PENDING, RUNNING, SUCCESS, FAILED or CANCELLED)');
    const forged = await expectGrpcError(list({ pageToken: 'not a token' }));
    expect(forged.details).toBe("Invalid arguments: page_token 'not a token' is not one this server gave out (pass next_page_token of the previous answer)");
    const backwards = await expectGrpcError(list({ submittedAfterMs: Long.fromNumber(2000, true), submittedBeforeMs: Long.fromNumber(1000, true) }));
    expect(backwards.details).toBe('Invalid arguments: submitted_before_ms 1000 is not after submitted_after_ms 2000');
  });
});
