import { StatusCode } from '../../src/errors';
import { MemoryResultStore } from '../../src/results/memory-result-store';
import { estimateRecordBytes, newRecord, withState, type TaskRecord } from '../../src/results/task-record';

const identity = { method: 'add', deps: ['a', 'b'], argsDigest: '[{"int32":1}]', injectDependencyResults: true };

describe('MemoryResultStore keeps finished records packed and gives back equal TaskRecords', () => {
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
    expect((await store.stats()).bytes).toBe(estimateRecordBytes(record));
  });

  it('unfinished records are kept as they are', async () => {
    expect(await store.insert(pending)).toBeUndefined();
    expect(await store.get('t1')).toBe(pending);
    const running = withState(pending, 'RUNNING', '', undefined, submitted + 1, undefined);
    await store.update(running);
    expect(await store.get('t1')).toBe(running);
  });
});
