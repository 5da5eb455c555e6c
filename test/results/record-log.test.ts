/**
 * RecordLog: finished records encoded off the V8 heap. Round trips, byte accounting, eviction order,
 * dead records, TTL, chunk roll-over and index growth — and a seeded model-based property test against
 * a plain Map holding the same records in store order.
 */
import fc from 'fast-check';
import { StatusCode } from '../../src/errors';
import { RecordLog } from '../../src/results/record-log';
import { newRecord, withState, type TaskRecord } from '../../src/results/task-record';

const T0 = 1_764_000_000_000;

function finished(taskId: string, result = 'ok', extra: Partial<TaskRecord> = {}): TaskRecord {
  const pending = newRecord(taskId, { method: 'echo', deps: [], argsDigest: '[1,2]', injectDependencyResults: false, retryKey: '' }, T0);
  return { ...withState(pending, 'SUCCESS', result, undefined, T0 + 1, T0 + 2), ...extra };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The documented layout: a 48-byte header, the id as 16 bytes when it is a lowercase UUID, then each
 * string as a LEB128 length and its UTF-8 bytes.
 */
function encodedSize(record: TaskRecord): number {
  if (UUID.test(record.taskId)) return 16 + encodedSize({ ...record, taskId: '' }) - 1;
  const attemptErrors = record.attemptErrors ? JSON.stringify(record.attemptErrors) : '';
  const strings = [record.taskId, record.method, record.argsDigest, record.result, record.failure?.message ?? '', record.retryKey, attemptErrors, record.trace ?? '', ...record.deps];
  return strings.reduce((sum, text) => {
    const bytes = Buffer.byteLength(text);
    return sum + bytes + (bytes < 0x80 ? 1 : bytes < 0x4000 ? 2 : 3);
  }, 48);
}

describe('RecordLog', () => {
  test('every field comes back exactly, including Unicode, deps, failures and absent times', () => {
    const log = new RecordLog();
    const records: TaskRecord[] = [
      finished('plain'),
      finished('ünïcødé-✓-😀-日本', 'résultat 😀\u0000 with a NUL', { deps: ['dep-😀', '', 'x'.repeat(300)], injectDependencyResults: true }),
      { ...finished('failed'), status: 'FAILED', result: 'boom', failure: { code: StatusCode.INTERNAL, message: 'Task execution failed: boom' } },
      { ...finished('cancelled'), status: 'CANCELLED', result: 'Task cancelled: cancelled', failure: { code: StatusCode.CANCELLED, message: 'Task cancelled: cancelled' }, startedAt: undefined },
      { ...finished('times'), submittedAt: T0, startedAt: T0 - 1_500, finishedAt: T0 + 41 * 86_400_000 },
      finished('empty', ''),
      finished('long', 'r'.repeat(20_000)),
      {
        ...finished('retried'),
        status: 'FAILED',
        result: 'third',
        failure: { code: StatusCode.INTERNAL, message: 'Task execution failed: third' },
        retryKey: '3/100/1000/2',
        attempts: 3,
        attemptErrors: [{ attempt: 1, at: T0 + 5, error: 'first' }, { attempt: 2, at: T0 + 9, error: 'sécond 😀' }, { attempt: 3, at: T0 + 20, error: 'third' }],
        trace: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nvendor=opaque',
      },
    ];
    let bytes = 0;
    for (const record of records) {
      log.put(record, Infinity);
      bytes += encodedSize(record);
    }
    for (const record of records) expect(log.get(record.taskId, 0)).toEqual(record);
    expect(log.size).toBe(records.length);
    expect(log.recordBytes).toBe(bytes);
    expect(log.bytes).toBe(1 << 20); // one shared chunk holds them all
    expect(log.get('unknown', 0)).toBeUndefined();
  });

  test('lowercase UUID ids are kept as 16 bytes; anything UUID-like but different keeps its exact text', () => {
    const log = new RecordLog();
    const ids = [
      '0f8e2a9c-1b3d-4e5f-8a7b-9c0d1e2f3a4b',
      '0F8E2A9C-1B3D-4E5F-8A7B-9C0D1E2F3A4B', // uppercase: not the compact form
      '0f8e2a9c-1b3d-4e5f-8a7b-9c0d1e2f3a4g', // not hex
      '0f8e2a9c1-b3d-4e5f-8a7b-9c0d1e2f3a4b', // dash moved
      '0f8e2a9c-1b3d-4e5f-8a7b-9c0d1e2f3a4', // 35 characters
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ];
    for (const id of ids) log.put(finished(id), Infinity);
    for (const id of ids) expect(log.get(id, 0)).toEqual(finished(id));
    expect(log.recordBytes).toBe(ids.reduce((sum, id) => sum + encodedSize(finished(id)), 0));
    expect(encodedSize(finished(ids[0]!))).toBe(encodedSize(finished(ids[1]!)) - 21);
    expect(log.get('0f8e2a9c-1b3d-4e5f-8a7b-9c0d1e2f3a4c', 0)).toBeUndefined();
    expect(log.delete(ids[0]!)).toBe(true);
    expect(log.get(ids[0]!, 0)).toBeUndefined();
  });

  test('evictOldest drops records in the order they were stored, and empties to zero bytes', () => {
    const log = new RecordLog();
    for (let i = 0; i < 5; i++) log.put(finished(`r${i}`), Infinity);
    expect(log.evictOldest()).toBe(true);
    expect(log.evictOldest()).toBe(true);
    expect(['r0', 'r1', 'r2', 'r3', 'r4'].map((id) => log.get(id, 0)?.taskId)).toEqual([undefined, undefined, 'r2', 'r3', 'r4']);
    while (log.evictOldest());
    expect(log.size).toBe(0);
    expect(log.recordBytes).toBe(0);
    expect(log.bytes).toBe(1 << 20); // the emptied chunk, kept for the next records
    // Usable again after emptying.
    log.put(finished('again'), Infinity);
    expect(log.get('again', 0)?.result).toBe('ok');
  });

  test('a deleted record is gone at once; its bytes come back when the oldest end passes it', () => {
    const log = new RecordLog();
    for (const id of ['a', 'b', 'c']) log.put(finished(id), Infinity);
    const each = encodedSize(finished('a'));
    expect(log.delete('b')).toBe(true);
    expect(log.delete('b')).toBe(false);
    expect(log.get('b', 0)).toBeUndefined();
    expect(log.size).toBe(2);
    expect(log.recordBytes).toBe(3 * each);
    // Evicting the oldest live record ('a') also passes the dead 'b'.
    expect(log.evictOldest()).toBe(true);
    expect(log.recordBytes).toBe(each);
    expect(log.get('c', 0)?.taskId).toBe('c');
  });

  test('a record reads as absent once expired, and purgeExpired drops exactly the expired prefix', () => {
    const log = new RecordLog();
    log.put(finished('t10'), 10);
    log.put(finished('t20'), 20);
    log.put(finished('t30'), 30);
    expect(log.get('t10', 9.9)?.taskId).toBe('t10');
    expect(log.get('t10', 10)).toBeUndefined(); // expired, though not purged yet
    expect(log.size).toBe(3);
    expect(log.purgeExpired(20)).toBe(2);
    expect(log.size).toBe(1);
    expect(log.get('t30', 20)?.taskId).toBe('t30');
    expect(log.delete('t10')).toBe(false); // purged, not just hidden
  });

  test('records larger than a chunk, and many chunks, round-trip and are reclaimed', () => {
    const log = new RecordLog();
    const big = finished('big', 'B'.repeat(3 << 20)); // 3 MiB: a chunk of its own
    log.put(finished('before', 'x'.repeat(700_000)), Infinity);
    log.put(big, Infinity);
    for (let i = 0; i < 40; i++) log.put(finished(`fill-${i}`, String(i).repeat(50_000)), Infinity); // ~2 MB across chunks
    expect(log.get('big', 0)).toEqual(big);
    expect(log.get('fill-39', 0)?.result).toBe('39'.repeat(50_000));
    expect(log.get('before', 0)?.result.length).toBe(700_000);
    // Memory as allocated: the 3 MiB record's chunk is its exact size (not 3 bytes per character).
    expect(log.bytes - log.recordBytes).toBeLessThan(1 << 20); // only chunk tails a record did not fit in
    while (log.evictOldest());
    expect(log.recordBytes).toBe(0);
    // What stays: the emptied newest chunk and one spare, for reuse.
    expect(log.bytes).toBeLessThanOrEqual(2 << 20);
    expect(log.get('big', 0)).toBeUndefined();
  });

  test('a large record of wide characters is held in a chunk of its exact UTF-8 size, and counted as such', () => {
    const log = new RecordLog();
    const wide = finished('wide', '€'.repeat(1 << 20)); // 3 MiB of UTF-8, 1 Mi UTF-16 units
    log.put(wide, Infinity);
    expect(log.get('wide', 0)).toEqual(wide);
    // The chunk: the header and each of the 8 strings with room for a 5-byte length (before: 3 bytes a unit).
    const strings = [wide.taskId, wide.method, wide.argsDigest, wide.result, '', '', '', ''];
    expect(log.bytes).toBe(48 + strings.reduce((sum, text) => sum + 5 + Buffer.byteLength(text), 0));
    expect(log.bytes - log.recordBytes).toBeLessThan(32);
  });

  test('the index grows past its initial size and shrinks after a purge, keeping every record findable', () => {
    const log = new RecordLog();
    for (let i = 0; i < 20_000; i++) log.put(finished(`id-${i}`, String(i)), i < 19_000 ? 1 : 100);
    for (let i = 0; i < 20_000; i += 997) expect(log.get(`id-${i}`, 0)?.result).toBe(String(i));
    expect(log.purgeExpired(50)).toBe(19_000);
    for (let i = 19_000; i < 20_000; i++) expect(log.get(`id-${i}`, 0)?.result).toBe(String(i));
    for (let i = 0; i < 19_000; i += 101) expect(log.get(`id-${i}`, 0)).toBeUndefined();
  });
});

/** Half the ids are lowercase UUIDs (kept compact), half plain text. */
function idOf(n: number): string {
  return n % 2 === 0 ? `k${n}` : `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

type Op =
  | { readonly kind: 'append'; readonly id: number; readonly result: string }
  | { readonly kind: 'delete'; readonly id: number }
  | { readonly kind: 'evict' }
  | { readonly kind: 'purge' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), id: fc.nat(40), result: fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 1000, maxLength: 3000 })) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.nat(40) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'evict' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'purge' as const }), weight: 1 },
);

test('any sequence of appends, deletes, evictions and purges behaves like a Map in store order (seeded)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const log = new RecordLog();
      // The model: id → [record, expiry], in store order (a Map keeps insertion order; re-storing moves to the end).
      const model = new Map<string, [TaskRecord, number]>();
      let clock = 0;
      for (const op of ops) {
        clock++;
        if (op.kind === 'append') {
          const record = finished(idOf(op.id), op.result);
          model.delete(record.taskId);
          log.put(record, clock + 50);
          model.set(record.taskId, [record, clock + 50]);
        } else if (op.kind === 'delete') {
          const id = idOf(op.id);
          expect(log.delete(id)).toBe(model.delete(id));
        } else if (op.kind === 'evict') {
          const oldest = model.keys().next();
          expect(log.evictOldest()).toBe(!oldest.done);
          if (!oldest.done) model.delete(oldest.value);
        } else {
          let expired = 0;
          for (const [id, [, expiry]] of model) {
            if (expiry > clock) break;
            model.delete(id);
            expired++;
          }
          expect(log.purgeExpired(clock)).toBe(expired);
        }
        expect(log.size).toBe(model.size);
      }
      for (let n = 0; n <= 40; n++) {
        const entry = model.get(idOf(n));
        expect(log.get(idOf(n), clock)).toEqual(entry && entry[1] > clock ? entry[0] : undefined);
      }
      while (log.evictOldest());
      expect(log.recordBytes).toBe(0);
    }),
    { seed: 20261126, numRuns: 300 },
  );
});
