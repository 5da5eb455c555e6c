/**
 * SqliteResultStore in-process, on real files in a temporary directory: every record shape comes back
 * as stored, insert-if-absent, group commit (counted in the write-ahead log itself), a settled write is
 * on disk (a copy of the files taken right then holds it), bounds, TTL, `unfinished()`, stats.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { StatusCode } from '../../src/errors';
import { recordToJson } from '../../src/results/record-json';
import { SqliteResultStore, type SqliteResultStoreOptions } from '../../src/results/sqlite-result-store';
import { newRecord, startedAttempt, withAttemptError, withState, type TaskRecord, type TaskSpec } from '../../src/results/task-record';
import { normalizeRetryPolicy } from '../../src/tasks/retry-policy';

let tmp: string;
const open: SqliteResultStore[] = [];
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-sqlite-store-'));
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let files = 0;
/** A new database path in the temporary directory. */
const newFile = (): string => path.join(tmp, `store-${++files}`, 'tasks.db');

function openStore(file: string, options: Partial<SqliteResultStoreOptions> = {}): SqliteResultStore {
  const store = new SqliteResultStore({ path: file, ttlMs: 0, maxCount: 1_000_000, maxBytes: 1 << 30, synchronous: 'normal', ...options });
  open.push(store);
  return store;
}

async function reopen(store: SqliteResultStore, options: Partial<SqliteResultStoreOptions> = {}): Promise<SqliteResultStore> {
  await store.close();
  return openStore(store.path, options);
}

const identity = { method: 'add', deps: [] as string[], argsDigest: '[{"int32":1},{"int32":2}]', injectDependencyResults: false, retryKey: '' };
const spec: TaskSpec = { argsJson: '[{"int32":1},{"int32":2}]', dependencyTimeoutMs: 0, executionTimeoutMs: 0, retry: undefined };

function pending(taskId: string, submittedAt = Date.now()): TaskRecord {
  return newRecord(taskId, identity, submittedAt, spec);
}

function done(taskId: string, result = 'ok', finishedAt = Date.now()): TaskRecord {
  return withState(newRecord(taskId, identity, finishedAt - 2), 'SUCCESS', result, undefined, finishedAt - 1, finishedAt, 1);
}

/**
 * Transactions committed to `<file>-wal` so far: the commit frames (a non-zero "database size after
 * commit" in the frame header) that carry the log's current salts, read from the file as SQLite wrote
 * it. SQLite's own definition of a transaction in WAL mode, counted without touching the store.
 */
function walCommits(file: string): number {
  const wal = `${file}-wal`;
  if (!existsSync(wal)) return 0;
  const bytes = readFileSync(wal);
  if (bytes.length < 32) return 0;
  const pageSize = bytes.readUInt32BE(8);
  const salt1 = bytes.readUInt32BE(16);
  const salt2 = bytes.readUInt32BE(20);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= bytes.length; at += 24 + pageSize) {
    if (bytes.readUInt32BE(at + 8) !== salt1 || bytes.readUInt32BE(at + 12) !== salt2) break; // left from before a reset
    if (bytes.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

/** What a crash right now would leave: the database and its log copied aside, as they are on disk. */
function snapshot(file: string): string {
  const copy = path.join(tmp, `snapshot-${++files}`, 'tasks.db');
  mkdirSync(path.dirname(copy), { recursive: true });
  copyFileSync(file, copy);
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
  return copy;
}

describe('every record shape comes back from disk as it was stored', () => {
  const submitted = Date.now() - 10_000;
  const retry = normalizeRetryPolicy({ maxAttempts: 4, initialBackoffMs: 250, maxBackoffMs: 2_000, backoffMultiplier: 3 }, 100);
  const withPolicy = newRecord(
    'shape',
    { method: 'plugin_example::multiply', deps: ['dep-1', 'dép 2 ✓'], argsDigest: 'sha256:abc', injectDependencyResults: true, retryKey: '4/250/2000/3' },
    submitted,
    { argsJson: '[{"string":"héllo\\n\\u0000"},{"int64":"9007199254740993"}]', dependencyTimeoutMs: 1_500, executionTimeoutMs: 60_000, retry },
  );
  const running1 = startedAttempt(withPolicy, submitted + 10);
  const retrying = withState(running1, 'PENDING', '', undefined, running1.startedAt, undefined, 1, withAttemptError(running1, 'Task execution failed: boom', submitted + 20), submitted + 270);
  const running2 = startedAttempt(retrying, submitted + 300);
  const shapes: Array<[string, TaskRecord]> = [
    ['PENDING with a spec, a retry policy and dependencies', withPolicy],
    ['PENDING without a spec (no policy, no deps)', newRecord('shape', identity, submitted)],
    ['RUNNING, first attempt', running1],
    ['PENDING in a retry backoff, with the failed attempt', retrying],
    ['RUNNING, second attempt', running2],
    ['SUCCESS after a retry (attempt errors kept, spec dropped)', withState(running2, 'SUCCESS', '𝌆 result "quoted"', undefined, running2.startedAt, submitted + 400)],
    ['FAILED with its failure and every attempt error', withState(running2, 'FAILED', 'boom again', { code: StatusCode.INTERNAL, message: 'Task execution failed: boom again' }, running2.startedAt, submitted + 500, 2, withAttemptError(running2, 'Task execution failed: boom again', submitted + 500))],
    ['FAILED interrupted', withState(running1, 'FAILED', 'Interrupted: the server stopped while the task was running (attempt 1 of 1)', { code: StatusCode.ABORTED, message: 'Interrupted: the server stopped while the task was running (attempt 1 of 1)' }, running1.startedAt, submitted + 600)],
    ['CANCELLED before it started', withState(withPolicy, 'CANCELLED', 'Task cancelled: shape', { code: StatusCode.CANCELLED, message: 'Task cancelled: shape' }, undefined, submitted + 700)],
    ['SUCCESS with a 1 MB result', withState(running1, 'SUCCESS', 'x'.repeat(1 << 20), undefined, running1.startedAt, submitted + 800)],
  ];

  it.each(shapes)('%s', async (_name, record) => {
    const store = openStore(newFile());
    expect(await store.insert(record)).toBeUndefined();
    expect(await store.get('shape')).toStrictEqual(record);
    const again = await reopen(store);
    expect(await again.get('shape')).toStrictEqual(record);
    expect(await again.unfinished()).toStrictEqual(record.status === 'PENDING' || record.status === 'RUNNING' ? [record] : []);
  });

  it('a lifecycle of updates leaves the last record, and each transition is on disk once its promise settles', async () => {
    const store = openStore(newFile());
    await store.insert(withPolicy);
    for (const record of [running1, retrying, running2]) {
      await store.update(record);
      const crashed = openStore(snapshot(store.path));
      expect(await crashed.get('shape')).toStrictEqual(record);
      expect(await crashed.unfinished()).toStrictEqual([record]);
      await crashed.close();
    }
  });
});

describe('insert-if-absent', () => {
  it('answers the existing record (unfinished or finished) and leaves it as it is', async () => {
    const store = openStore(newFile());
    const first = pending('p');
    expect(await store.insert(first)).toBeUndefined();
    expect(await store.insert(done('p', 'other'))).toStrictEqual(first);
    expect(await store.get('p')).toStrictEqual(first);
    const finished = done('f', 'first');
    await store.update(finished);
    expect(await store.insert(pending('f'))).toStrictEqual(finished);
    expect(await store.get('f')).toStrictEqual(finished);
    expect(await store.stats()).toEqual({ count: 1, bytes: Buffer.byteLength(recordToJson(finished)) });
  });

  it('takes the id of an expired record (before the purge has run), keeping the counts right', async () => {
    const store = openStore(newFile(), { ttlMs: 60_000, purgeIntervalMs: 3_600_000 });
    const old = done('e', 'old', Date.now() - 61_000);
    await store.update(old);
    expect(await store.get('e')).toBeUndefined();
    expect((await store.stats()).count).toBe(1); // expired, not purged yet
    const fresh = pending('e');
    expect(await store.insert(fresh)).toBeUndefined();
    expect(await store.get('e')).toStrictEqual(fresh);
    expect(await store.stats()).toEqual({ count: 0, bytes: 0 }); // counts finished records only
    expect(await (await reopen(store, { ttlMs: 60_000 })).get('e')).toStrictEqual(fresh);
  });

  it('two inserts of one id in the same tick: the first is stored, the second gets it', async () => {
    const store = openStore(newFile());
    const [a, b] = await Promise.all([store.insert(pending('same', 1)), store.insert(pending('same', 2))]);
    expect(a).toBeUndefined();
    expect(b?.submittedAt).toBe(1);
  });
});

describe('group commit', () => {
  it('the writes of one tick are one transaction in the write-ahead log; awaited one by one, one each', async () => {
    const store = openStore(newFile());
    const before = walCommits(store.path);
    const writes = Array.from({ length: 300 }, (_, i) => store.insert(pending(`batch-${i}`)));
    writes.push(store.update(done('batch-0')).then(() => undefined), store.delete('batch-1').then(() => undefined));
    await Promise.all(writes);
    expect(walCommits(store.path) - before).toBe(1);

    const between = walCommits(store.path);
    for (let i = 0; i < 40; i++) await store.insert(pending(`one-${i}`));
    expect(walCommits(store.path) - between).toBe(40);
    expect((await store.unfinished()).length).toBe(298 + 40);
  });

  it('nothing settles within the tick of the call, everything after one setImmediate; settled means on disk', async () => {
    const store = openStore(newFile());
    await store.insert(pending('warm-up'));
    let settled = 0;
    const writes = Array.from({ length: 50 }, (_, i) => store.insert(pending(`w-${i}`)).then(() => settled++));
    await Promise.resolve();
    expect(settled).toBe(0);
    // A crash now loses them: they are not on disk yet.
    const early = openStore(snapshot(store.path));
    expect(await early.get('w-0')).toBeUndefined();
    expect(await early.get('warm-up')).toBeDefined();
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.resolve();
    expect(settled).toBe(50);
    await Promise.all(writes);
    // A crash now keeps them all.
    const late = openStore(snapshot(store.path));
    expect((await late.unfinished()).map((record) => record.taskId).sort()).toEqual(['warm-up', ...Array.from({ length: 50 }, (_, i) => `w-${i}`)].sort());
  });

  it('close() commits what is queued', async () => {
    const store = openStore(newFile());
    void store.insert(pending('late'));
    const again = await reopen(store);
    expect((await again.get('late'))?.status).toBe('PENDING');
  });
});

describe('bounds: the oldest finished records go first, unfinished ones never', () => {
  it('--max-results counts finished records only', async () => {
    const store = openStore(newFile(), { maxCount: 3 });
    const now = Date.now();
    for (let i = 0; i < 5; i++) await store.insert(pending(`u${i}`));
    // Finished out of order: eviction follows finishedAt, not the order of writes.
    for (const [id, at] of [['c', now - 1_000], ['a', now - 3_000], ['b', now - 2_000]] as const) await store.update(done(id, id, at));
    expect((await store.stats()).count).toBe(3);
    await store.update(done('d', 'd', now));
    expect(await store.get('a')).toBeUndefined();
    for (const id of ['b', 'c', 'd']) expect((await store.get(id))?.status).toBe('SUCCESS');
    for (let i = 0; i < 5; i++) expect((await store.get(`u${i}`))?.status).toBe('PENDING');
    // Many at once (one batch): still the oldest.
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.update(done(`n${i}`, 'n', now + 10 + i))));
    expect(await store.stats()).toMatchObject({ count: 3 });
    expect((await store.unfinished()).length).toBe(5);
    for (const id of ['n7', 'n8', 'n9']) expect((await store.get(id))?.status).toBe('SUCCESS');
    expect(await store.get('n6')).toBeUndefined();
    // The bound holds across a restart with a smaller one.
    const smaller = await reopen(store, { maxCount: 1 });
    expect(await smaller.stats()).toMatchObject({ count: 1 });
    expect((await smaller.get('n9'))?.status).toBe('SUCCESS');
    expect((await smaller.unfinished()).length).toBe(5);
  });

  it('--max-result-bytes counts the stored JSON of finished records', async () => {
    const size = Buffer.byteLength(recordToJson(done('r0', 'x'.repeat(1_000))));
    const store = openStore(newFile(), { maxBytes: 3 * size + 10 });
    const now = Date.now();
    await store.insert({ ...pending('big-unfinished'), spec: { ...spec, argsJson: `["${'y'.repeat(10 * size)}"]` } });
    for (let i = 0; i < 6; i++) await store.update(done(`r${i}`, 'x'.repeat(1_000), now + i));
    expect(await store.stats()).toEqual({ count: 3, bytes: 3 * size });
    for (let i = 0; i < 3; i++) expect(await store.get(`r${i}`)).toBeUndefined();
    for (let i = 3; i < 6; i++) expect((await store.get(`r${i}`))?.result).toHaveLength(1_000);
    expect((await store.get('big-unfinished'))?.status).toBe('PENDING');
    // A finished record replacing itself is counted once.
    await store.update(done('r5', 'x'.repeat(1_000), now + 5));
    expect(await store.stats()).toEqual({ count: 3, bytes: 3 * size });
  });
});

describe('TTL', () => {
  it('an expired record reads as absent at once and is purged within the purge interval', async () => {
    const store = openStore(newFile(), { ttlMs: 400, purgeIntervalMs: 100 });
    await store.update(done('stale', 'old', Date.now() - 1_000));
    await store.update(done('fresh', 'new'));
    await store.insert(pending('never'));
    expect(await store.get('stale')).toBeUndefined();
    expect((await store.get('fresh'))?.result).toBe('new');
    const expiresAt = Date.now() + 400;
    await sleep(450);
    expect(await store.get('fresh')).toBeUndefined();
    // Purged within an interval (100 ms) of expiring; allow for a slow machine.
    const deadline = expiresAt + 100 + 1_000;
    while ((await store.stats()).count > 0 && Date.now() < deadline) await sleep(20);
    expect(await store.stats()).toEqual({ count: 0, bytes: 0 });
    expect((await store.get('never'))?.status).toBe('PENDING'); // unfinished records do not expire
    await store.close();
    const raw = new BetterSqlite3(store.path, { readonly: true });
    try {
      expect(raw.prepare('SELECT id FROM tasks').all()).toEqual([{ id: 'never' }]);
    } finally {
      raw.close();
    }
  });

  it('a restart purges what expired while the server was down, before anything else', async () => {
    const store = openStore(newFile(), { ttlMs: 300, purgeIntervalMs: 3_600_000 });
    await store.update(done('a', 'a'));
    await store.update(done('b', 'b'));
    await store.update(done('c', 'c', Date.now() + 60_000));
    await store.close();
    await sleep(400);
    const again = openStore(store.path, { ttlMs: 300, purgeIntervalMs: 3_600_000 });
    expect((await again.stats()).count).toBe(1);
    await again.close();
    const raw = new BetterSqlite3(store.path, { readonly: true });
    try {
      expect(raw.prepare('SELECT id FROM tasks').all()).toEqual([{ id: 'c' }]);
    } finally {
      raw.close();
    }
  });
});

describe('unfinished() and stats', () => {
  it('unfinished() returns exactly the PENDING and RUNNING rows', async () => {
    const store = openStore(newFile());
    const records = Array.from({ length: 20 }, (_, i) => pending(`t${i}`));
    await Promise.all(records.map((record) => store.insert(record)));
    const now = Date.now();
    for (let i = 0; i < 20; i++) {
      const record = records[i]!;
      if (i % 4 === 1) await store.update(startedAttempt(record, now));
      if (i % 4 === 2) await store.update(done(record.taskId));
      if (i % 4 === 3) await store.update(withState(startedAttempt(record, now), 'FAILED', 'x', { code: StatusCode.INTERNAL, message: 'Task execution failed: x' }, now, now + 1));
    }
    await store.delete('t4');
    const expected = [0, 1, 5, 8, 9, 12, 13, 16, 17].map((i) => `t${i}`);
    const again = await reopen(store);
    const unfinished = await again.unfinished();
    expect(unfinished.map((record) => record.taskId).sort()).toEqual(expected.sort());
    for (const record of unfinished) expect(record.status).toBe(Number(record.taskId.slice(1)) % 4 === 1 ? 'RUNNING' : 'PENDING');
  });

  it('stats count and size the finished records and survive a reopen', async () => {
    const store = openStore(newFile());
    const finished = Array.from({ length: 30 }, (_, i) => done(`s${i}`, 'r'.repeat(i)));
    for (const record of finished) await store.update(record);
    await store.insert(pending('p'));
    await store.delete('s0');
    const bytes = finished.slice(1).reduce((sum, record) => sum + Buffer.byteLength(recordToJson(record)), 0);
    expect(await store.stats()).toEqual({ count: 29, bytes });
    expect(await (await reopen(store)).stats()).toEqual({ count: 29, bytes });
  });

  it('a closed store refuses writes with UNAVAILABLE naming the file', async () => {
    const store = openStore(newFile());
    await store.close();
    await expect(store.insert(pending('x'))).rejects.toThrow(`Result store unavailable: SQLite store ${store.path} is closed`);
  });
});
