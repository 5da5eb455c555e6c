/** The Redis store's record encoding (unit level; the scale-out tests cover it end to end). */
import { decodeRecord, encodeRecord } from '../../src/results/redis-record-codec';
import { newRecord, withState } from '../../src/results/task-record';

const pending = newRecord('t"1', { method: 'concat', deps: ['a', 'b'], argsDigest: '[{"string":"x"}]', injectDependencyResults: true, retryKey: '' }, 1_764_000_000_123);

test('every state round-trips, with the status letter the scripts read first', () => {
  const records = [
    pending,
    withState(pending, 'RUNNING', '', undefined, 1_764_000_000_200, undefined),
    withState(pending, 'SUCCESS', 'ab"x\n', undefined, 1_764_000_000_200, 1_764_000_000_300),
    withState(pending, 'FAILED', 'boom', { code: 13, message: 'Task execution failed: boom' }, 1_764_000_000_200, 1_764_000_000_300),
    withState(pending, 'CANCELLED', 'Task cancelled: t"1', { code: 1, message: 'Task cancelled: t"1' }, undefined, 1_764_000_000_300),
  ];
  expect(records.map((record) => encodeRecord(record)[0])).toEqual(['P', 'R', 'S', 'F', 'C']);
  for (const record of records) expect(decodeRecord(encodeRecord(record))).toEqual(record);
});

test('an empty deps list written by Lua cjson as {} reads back as []', () => {
  const lua = 'F{"taskId":"x","method":"sleep","deps":{},"argsDigest":"[]","injectDependencyResults":false,"status":"FAILED",' +
    '"result":"Owner replica lost: r1","failure":{"code":10,"message":"Owner replica lost: r1"},"submittedAt":1764000000123,"finishedAt":1764000000999}';
  const record = decodeRecord(lua);
  expect(record.deps).toEqual([]);
  expect(record).toMatchObject({ status: 'FAILED', result: 'Owner replica lost: r1', failure: { code: 10, message: 'Owner replica lost: r1' }, startedAt: undefined });
});
