import { setTimeout as sleep } from 'node:timers/promises';
import { StatusCode } from '../../src/errors';
import { MemoryResultStore } from '../../src/results/memory-result-store';
import { newRecord, withState, type TaskRecord } from '../../src/results/task-record';

const identity = { method: 'add', deps: ['a', 'b'], argsDigest: '[{"int32":1}]', injectDependencyResults: true, retryKey: '' };

function done(taskId: string, result = 'ok'): TaskRecord {
  return withState(newRecord(taskId, { ...identity, deps: [] }, Date.now()), 'SUCCESS', result, undefined, Date.now(), Date.now());
}

describe('MemoryResultStore keeps finished records encoded and gives back equal TaskRecords', () => {
  let store: MemoryResultStore;
  beforeEach(() => {
    store = new MemoryResultStore({ maxCount: 100, maxBytes: 1_000_000, ttlMs: 0 });
  });
  afterEach(() => store.close());

  const submitted = Date.now();
  const pending = newRecord('t1', identity, submitted);
  const finished: TaskRecord[] = [
    withState(pending, 'SUCCESS', '3', undefined, submitted + 2, submitted + 5),
    withState(pending, 'FAILED', 'boom', { code: StatusCode.INTERNAL, message: 'Task execution failed: boom' }, submitted + 1, submitted + 9),
    withState(pending, 'CANCELLED', 'Task cancelled: t1', { code: StatusCode.CANCELLED, message: 'Task cancelled: t1' }, undefined, submitted + 3),
    // Offsets beyond V8's small integers, and a clock that stepped back, still come back exactly.
    withState(pending, 'SUCCESS', 'late', undefined, submitted + 40 * 86_400_000, submitted + 41 * 86_400_000),
    withState(pending, 'SUCCESS', 'back', undefined, submitted - 1_500, submitted - 1_000),
    withState({ ...pending, injectDependencyResults: false, deps: [] }, 'SUCCESS', '', undefined, submitted, submitted),
  ];

  it.each(finished.map((record) => [`${record.status} ${JSON.stringify(record.result)}`, record] as const))('%s', async (_name, record) => {
    await store.update(record);
    expect(await store.get('t1')).toEqual(record);
    expect(await store.insert(record)).toEqual(record); // insert-if-absent answers the stored record
    const stats = await store.stats();
    expect(stats.count).toBe(1);
    // Memory as allocated: one chunk, a 16th of maxBytes rounded down to a power of two (the
    // encoding itself is pinned by record-log.test.ts).
    expect(stats.bytes).toBe(32_768);
  });

  it('unfinished records are kept as they are, and a finished one replaces them', async () => {
    expect(await store.insert(pending)).toBeUndefined();
    expect(await store.get('t1')).toBe(pending);
    const running = withState(pending, 'RUNNING', '', undefined, submitted + 1, undefined);
    await store.update(running);
    expect(await store.get('t1')).toBe(running);
    await store.update(finished[0]!);
    expect(await store.get('t1')).toEqual(finished[0]);
    expect((await store.stats()).count).toBe(1);
  });

  it('delete removes finished and unfinished records', async () => {
    await store.update(done('f'));
    await store.insert(newRecord('p', identity, submitted));
    expect(await store.delete('f')).toBe(true);
    expect(await store.delete('p')).toBe(true);
    expect(await store.delete('f')).toBe(false);
    expect(await store.get('f')).toBeUndefined();
    expect(await store.get('p')).toBeUndefined();
    expect((await store.stats()).count).toBe(0);
  });
});

describe('MemoryResultStore bounds', () => {
  it('evicts the least recently stored finished records beyond maxCount, never unfinished ones', async () => {
    const store = new MemoryResultStore({ maxCount: 3, maxBytes: 1_000_000, ttlMs: 0 });
    try {
      await store.insert(newRecord('running', identity, Date.now()));
      for (const id of ['a', 'b', 'c']) await store.update(done(id));
      // 'running' counts towards the bound, so only two finished records fit beside it.
      expect(await store.get('a')).toBeUndefined();
      expect((await store.get('b'))?.status).toBe('SUCCESS');
      expect((await store.get('running'))?.status).toBe('PENDING');
      // Storing 'b' again makes it the newest: 'c' goes next.
      await store.update(done('b', 'again'));
      await store.update(done('d'));
      expect(await store.get('c')).toBeUndefined();
      expect((await store.get('b'))?.result).toBe('again');
      expect((await store.get('d'))?.status).toBe('SUCCESS');
      expect((await store.stats()).count).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('evicts the oldest finished records beyond maxBytes', async () => {
    const store = new MemoryResultStore({ maxCount: 1000, maxBytes: 10_000, ttlMs: 0 });
    try {
      for (let i = 0; i < 10; i++) await store.update(done(`r${i}`, 'x'.repeat(2_000)));
      const stats = await store.stats();
      expect(stats.bytes).toBeLessThanOrEqual(10_000);
      expect(stats.count).toBe(4); // ~2.07 KB each
      expect(await store.get('r5')).toBeUndefined();
      expect((await store.get('r6'))?.result).toHaveLength(2_000);
      expect((await store.get('r9'))?.result).toHaveLength(2_000);
    } finally {
      await store.close();
    }
  });

  it('a record reads as absent from the moment its TTL passes, is purged soon after, and its id can be used again', async () => {
    const store = new MemoryResultStore({ maxCount: 1000, maxBytes: 1_000_000, ttlMs: 150, purgeIntervalMs: 60_000 });
    try {
      await store.update(done('short'));
      expect((await store.get('short'))?.status).toBe('SUCCESS');
      await sleep(200);
      expect(await store.get('short')).toBeUndefined();
      expect((await store.stats()).count).toBe(1); // not purged yet (the purge timer is a minute away)
      expect(await store.insert(done('short', 'new'))).toBeUndefined(); // an expired id is free again
      expect((await store.get('short'))?.result).toBe('new');
      expect((await store.stats()).count).toBe(1);
    } finally {
      await store.close();
    }
    const purging = new MemoryResultStore({ maxCount: 1000, maxBytes: 1_000_000, ttlMs: 100, purgeIntervalMs: 50 });
    try {
      for (let i = 0; i < 50; i++) await purging.update(done(`p${i}`));
      await sleep(300);
      const purged = await purging.stats();
      expect(purged.count).toBe(0);
      expect(purged.bytes).toBeLessThanOrEqual(2 * 32_768); // the emptied chunk and a spare, kept for reuse
    } finally {
      await purging.close();
    }
  });
});
