/**
 * Recurring schedules and delayed tasks across restarts and replicas, over real gRPC: a per-second
 * cron (croner reads a seconds field) so each test takes seconds; SQLite restarts; three replicas on
 * one real redis-server, counting runs per task id from inside the task.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import os from 'node:os';
import path from 'node:path';
import { toAny } from '../../src/args/encode-arg';
import { MissedFirePolicy } from '../../generated/taskscheduler/task_scheduler_admin';
import { TaskRequest, TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { waitFor } from '../lifecycle/lifecycle-helpers';
import { uniquePrefix } from '../scale-out/replicas';
import { ms, Notes, signedMs, sleep, startNotedServer } from './scheduling-helpers';

jest.setTimeout(60_000);

const template = (label: string): TaskRequest => TaskRequest.fromPartial({ method: 'note', args: [toAny(label), toAny(0)] });
const EVERY_SECOND = '* * * * * *';
const FIRE_ID = /^tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/;

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.allSettled(servers.map((server) => server.close()));
  servers = [];
});

describe('memory store', () => {
  test('a per-second schedule fires on time, one task per fire with an id from name + fire time; delete stops it', async () => {
    const notes = new Notes();
    const server = await startNotedServer(notes);
    servers.push(server);
    const created = await server.admin.createSchedule({ schedule: { name: 'tick', cron: EVERY_SECOND, timeZone: 'Europe/Berlin', task: template('tick') } });
    expect(created.nextFireAtMs.toNumber()).toBeGreaterThan(Date.now() - 1_000);
    await waitFor('3 fires', () => notes.starts.length >= 3, 10_000);
    const fires = notes.starts.slice(0, 3);
    for (const fire of fires) {
      expect(fire.taskId).toMatch(FIRE_ID);
      const due = Date.parse(fire.taskId.slice('tick@'.length));
      expect(fire.at).toBeGreaterThanOrEqual(due);
      expect(fire.at - due).toBeLessThan(1_000); // on time: before the next fire is due
    }
    expect(Date.parse(fires[2]!.taskId.slice(5)) - Date.parse(fires[0]!.taskId.slice(5))).toBe(2_000);
    const listed = await server.admin.listSchedules({});
    expect(listed.schedules.map((s) => [s.name, s.cron, s.timeZone, s.task?.method])).toEqual([['tick', EVERY_SECOND, 'Europe/Berlin', 'note']]);
    expect(listed.schedules[0]!.lastFireAtMs.toNumber()).toBeGreaterThan(0);
    expect((await server.client.getResult({ taskId: fires[0]!.taskId })).status).toBe(TaskResponse_Status.SUCCESS);

    expect(await server.admin.deleteSchedule({ name: 'tick' })).toEqual({ deleted: true });
    const count = notes.starts.length;
    await sleep(1_500);
    expect(notes.starts.length).toBe(count);
    expect(await server.admin.deleteSchedule({ name: 'tick' })).toEqual({ deleted: false });
  });

  test('bad schedules: INVALID_ARGUMENT naming the field and the rule', async () => {
    const server = await startNotedServer(new Notes());
    servers.push(server);
    const cases: Array<[Parameters<TestServer['admin']['createSchedule']>[0], Status, RegExp]> = [
      [{ schedule: { name: 'x', cron: 'every minute', task: template('x') } }, Status.INVALID_ARGUMENT, /cron 'every minute' is not a valid cron expression/],
      [{ schedule: { name: 'x', cron: '* * * * *', timeZone: 'Mars/Olympus', task: template('x') } }, Status.INVALID_ARGUMENT, /time_zone 'Mars\/Olympus' is not a known IANA time zone/],
      [{ schedule: { name: 'bad name!', cron: '* * * * *', task: template('x') } }, Status.INVALID_ARGUMENT, /schedule name 'bad name!' must be 1-128 characters/],
      [{ schedule: { name: 'x', cron: '* * * * *' } }, Status.INVALID_ARGUMENT, /schedule.task is required/],
      [{}, Status.INVALID_ARGUMENT, /schedule is required/],
      [{ schedule: { name: 'x', cron: '* * * * *', task: { method: 'no_such' } } }, Status.NOT_FOUND, /Method not found: no_such/],
      [{ schedule: { name: 'x', cron: '* * * * *', task: { method: 'note', priority: 5000 } } }, Status.INVALID_ARGUMENT, /priority 5000 is out of range/],
    ];
    for (const [request, code, message] of cases) {
      const err = await expectGrpcError(server.admin.createSchedule(request));
      expect([err.code, err.details]).toEqual([code, expect.stringMatching(message)]);
    }
    expect((await server.admin.listSchedules({})).schedules).toEqual([]);
  });
});

describe('SQLite store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ts-schedules-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a delayed task survives a restart and runs once, no earlier than its start time', async () => {
    const store = `sqlite:${path.join(dir, 'tasks.db')}`;
    const notes = new Notes();
    const first = await startNotedServer(notes, { store });
    const startAt = Date.now() + 1_500;
    await first.client.submitTask({ taskId: 'delayed', method: 'note', args: [toAny('delayed'), toAny(0)], detached: true, startAtMs: ms(startAt) });
    await first.close();
    const second = await startNotedServer(notes, { store });
    servers.push(second);
    expect((await second.client.getResult({ taskId: 'delayed' })).status).toBe(TaskResponse_Status.PENDING);
    expect((await second.client.waitResult({ taskId: 'delayed', timeoutMs: ms(10_000) })).status).toBe(TaskResponse_Status.SUCCESS);
    expect(notes.runs.get('delayed')).toBe(1);
    expect(notes.starts[0]!.at).toBeGreaterThanOrEqual(startAt);
  });

  test('schedules persist; run_once submits one task for the latest fire missed while down, skip none', async () => {
    const store = `sqlite:${path.join(dir, 'tasks.db')}`;
    const notes = new Notes();
    const first = await startNotedServer(notes, { store });
    await first.admin.createSchedule({ schedule: { name: 'tick', cron: EVERY_SECOND, task: template('tick'), missedFirePolicy: MissedFirePolicy.MISSED_FIRE_RUN_ONCE } });
    await first.admin.createSchedule({ schedule: { name: 'skip', cron: EVERY_SECOND, task: template('skip') } });
    await waitFor('a fire of each', () => notes.labels().includes('tick') && notes.labels().includes('skip'), 10_000);
    await first.close();
    const stoppedAt = Date.now();
    await sleep(2_600);
    const before = notes.starts.length;
    const second = await startNotedServer(notes, { store });
    servers.push(second);
    const restartedAt = Date.now();
    expect((await second.admin.listSchedules({})).schedules.map((s) => s.name)).toEqual(['skip', 'tick']);
    await waitFor('the catch-up fire', () => notes.starts.slice(before).some((s) => s.label === 'tick'), 5_000);
    const catchUp = notes.starts.slice(before).find((s) => s.label === 'tick')!;
    const due = Date.parse(catchUp.taskId.slice('tick@'.length));
    // The latest fire missed while down (not the first one), submitted at start.
    expect(due).toBeGreaterThan(stoppedAt + 1_000);
    expect(due).toBeLessThanOrEqual(restartedAt);
    const skipped = notes.starts.slice(before).filter((s) => s.label === 'skip').map((s) => Date.parse(s.taskId.slice('skip@'.length)));
    for (const at of skipped) expect(at).toBeGreaterThan(restartedAt - 1_000);
  });
});

describe('three replicas on Redis', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.close());

  async function replicas(notes: Notes): Promise<TestServer[]> {
    const prefix = uniquePrefix('sched');
    for (let i = 0; i < 3; i++) servers.push(await startNotedServer(notes, { store: redis.url, redisPrefix: prefix, leaseMs: 1_000 }));
    return servers;
  }

  test('a schedule made on one replica fires from all of them, yet each fire runs exactly once', async () => {
    const notes = new Notes();
    const r = await replicas(notes);
    await r[0]!.admin.createSchedule({ schedule: { name: 'tick', cron: EVERY_SECOND, task: template('tick') } });
    // The others read the schedule list every 2 s.
    await waitFor('listed on every replica', async () => (await Promise.all(r.map((s) => s.admin.listSchedules({})))).every((l) => l.schedules.length === 1), 10_000);
    const from = Date.now();
    await sleep(4_000);
    const fires = [...notes.runs].filter(([id]) => Date.parse(id.slice(5)) >= from);
    expect(fires.length).toBeGreaterThanOrEqual(3);
    for (const [id, runs] of notes.runs) expect([id, runs]).toEqual([expect.stringMatching(FIRE_ID), 1]);
    await r[1]!.admin.deleteSchedule({ name: 'tick' });
  });

  test('a delayed task submitted on every replica is one task, run once, after its delay', async () => {
    const notes = new Notes();
    const r = await replicas(notes);
    const before = Date.now();
    const answers = await Promise.all(r.map((s) => s.client.submitTask({ taskId: 'once', method: 'note', args: [toAny('once'), toAny(0)], detached: true, delayMs: signedMs(500) })));
    for (const answer of answers) expect(answer.status).toBe(TaskResponse_Status.PENDING);
    expect((await r[2]!.client.waitResult({ taskId: 'once', timeoutMs: ms(10_000) })).status).toBe(TaskResponse_Status.SUCCESS);
    await sleep(300);
    expect(notes.runs.get('once')).toBe(1);
    expect(notes.starts[0]!.at - before).toBeGreaterThanOrEqual(500);
  });
});

describe('global limits on Redis (per key, per method, start rates)', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.close());

  test('--key-concurrency 2 across three replicas is never exceeded (counted inside the tasks); a lost replica\'s slots do not count', async () => {
    const notes = new Notes();
    const prefix = uniquePrefix('keys');
    // A replica that was lost while holding both slots of key k: its lease key does not exist.
    const client = new Redis(redis.url);
    await client.hset(`${prefix}ks:k`, 'lost-replica', 2);
    client.disconnect();
    for (let i = 0; i < 3; i++) servers.push(await startNotedServer(notes, { store: redis.url, redisPrefix: prefix, leaseMs: 1_000, keyConcurrency: 2 }));
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 24; i++) {
      calls.push(servers[i % 3]!.client.submitTask({ method: 'note', args: [toAny('k'), toAny(60)], concurrencyKey: 'k' }));
      calls.push(servers[i % 3]!.client.submitTask({ method: 'note', args: [toAny('other'), toAny(60)], concurrencyKey: 'other' }));
    }
    const answers = await Promise.all(calls);
    expect(answers).toHaveLength(48);
    expect(notes.maxRunning.get('k')).toBe(2);
    expect(notes.maxRunning.get('other')).toBe(2);
  });

  test('--method-concurrency note=3 holds across three replicas (a lost replica\'s slots do not count)', async () => {
    const notes = new Notes();
    const prefix = uniquePrefix('methods');
    const client = new Redis(redis.url);
    await client.hset(`${prefix}ms:note`, 'lost-replica', 3);
    client.disconnect();
    for (let i = 0; i < 3; i++) {
      servers.push(await startNotedServer(notes, { store: redis.url, redisPrefix: prefix, leaseMs: 1_000, methodConcurrency: new Map([['note', 3]]) }));
    }
    const answers = await Promise.all(Array.from({ length: 36 }, (_, i) => servers[i % 3]!.client.submitTask({ method: 'note', args: [toAny('m'), toAny(60)] })));
    for (const answer of answers) expect(answer.status).toBe(TaskResponse_Status.SUCCESS);
    // Each replica alone would run 3 at once, 9 in all.
    expect(notes.maxRunning.get('m')).toBe(3);
  });

  test('--method-rate-limit and --key-rate-limit hold across three replicas: never more starts in any window than allowed', async () => {
    const notes = new Notes();
    const prefix = uniquePrefix('rates');
    const rate = { starts: 4, intervalMs: 1_000 };
    for (let i = 0; i < 3; i++) {
      servers.push(await startNotedServer(notes, { store: redis.url, redisPrefix: prefix, leaseMs: 1_000, methodRateLimits: new Map([['note', rate]]), keyRateLimit: { starts: 2, intervalMs: 1_000 } }));
    }
    const calls: Promise<unknown>[] = [];
    // 18 starts of the method in all; 6 of them on key t (at most 2 a second of those).
    for (let i = 0; i < 18; i++) calls.push(servers[i % 3]!.client.submitTask({ method: 'note', args: [toAny(i % 3 === 0 ? 't' : 'free'), toAny(0)], concurrencyKey: i % 3 === 0 ? 't' : '' }));
    const before = Date.now();
    await Promise.all(calls);
    const took = Date.now() - before;
    const most = (starts: readonly number[], windowMs: number): number => {
      let best = 0;
      for (const from of starts) best = Math.max(best, starts.filter((at) => at >= from && at < from + windowMs).length);
      return best;
    };
    const all = notes.starts.map((start) => start.at).sort((a, b) => a - b);
    const keyed = notes.starts.filter((start) => start.label === 't').map((start) => start.at).sort((a, b) => a - b);
    expect(all).toHaveLength(18);
    // Starts are counted on Redis's clock, the times here on the tasks' (the same machine); 50 ms for
    // the way from the count to the task. Each replica alone would allow 12 a second.
    expect(most(all, rate.intervalMs - 50)).toBeLessThanOrEqual(4);
    expect(most(keyed, 1_000 - 50)).toBeLessThanOrEqual(2);
    // 18 starts at 4 a second need at least 4 full windows after the first.
    expect(took).toBeGreaterThanOrEqual(3_900);
  });
});
