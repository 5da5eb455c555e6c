/** The direct TaskResponse/ResultResponse encoders must write exactly what the generated ones write. */
import fc from 'fast-check';
import { ResultResponse, TaskResponse, TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { encodeResultResponse, encodeTaskResponse } from '../../src/server/result-responses';
import { startTestServer } from '../helpers/start-server';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Any UTF-16 code unit, lone surrogates included (both encoders must replace them with U+FFFD). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: codeUnit, maxLength: 300 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 20_000 }),
);
const attempts = fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffffffff }));
const status = fc.constantFrom(...Object.values(TaskResponse_Status).filter((v): v is TaskResponse_Status => typeof v === 'number'));

test('TaskResponse: same bytes as the generated encoder for any task id, status and result', () => {
  fc.assert(
    fc.property(text, status, text, attempts, (taskId, st, result, n) => {
      const message = { taskId, status: st, result, attempts: n };
      expect(hex(encodeTaskResponse(message))).toBe(hex(TaskResponse.encode(message).finish()));
    }),
    { numRuns: 500 },
  );
});

test('ResultResponse: same bytes as the generated encoder for any status and result', () => {
  fc.assert(
    fc.property(status, text, attempts, (st, result, n) => {
      const message = { status: st, result, attempts: n, progress: undefined };
      expect(hex(encodeResultResponse(message))).toBe(hex(ResultResponse.encode(message).finish()));
    }),
    { numRuns: 500 },
  );
});

test('edge cases: empty fields, varint length boundaries, unexpected enum values', () => {
  const cases = [
    { taskId: '', status: 0, result: '', attempts: 0 },
    { taskId: 'a', status: TaskResponse_Status.PENDING, result: '', attempts: 0 },
    ...[127, 128, 16_383, 16_384, 2_097_152].map((n) => ({ taskId: 't', status: TaskResponse_Status.SUCCESS, result: 'x'.repeat(n), attempts: 1 })),
    ...[127, 128, 16_383, 16_384, 0xffffffff].map((n) => ({ taskId: 't', status: TaskResponse_Status.FAILED, result: 'r', attempts: n })),
    { taskId: 'é€😀', status: TaskResponse_Status.FAILED, result: '\ud800 lone \udfff', attempts: 3 },
    { taskId: 'neg', status: -1 as TaskResponse_Status, result: 'r', attempts: 1 },
    { taskId: 'big', status: 300 as TaskResponse_Status, result: 'r', attempts: 1 },
  ];
  for (const message of cases) {
    expect(hex(encodeTaskResponse(message))).toBe(hex(TaskResponse.encode(message).finish()));
    const asResult = { ...message, progress: undefined };
    expect(hex(encodeResultResponse(asResult))).toBe(hex(ResultResponse.encode(asResult).finish()));
  }
  const withProgress = { status: TaskResponse_Status.RUNNING, result: '', attempts: 1, progress: { fraction: 0.5, message: 'half' } };
  expect(hex(encodeResultResponse(withProgress))).toBe(hex(ResultResponse.encode(withProgress).finish()));
});

test('over gRPC: long non-ASCII results arrive intact through SubmitTask, GetResult and WaitResult', async () => {
  const server = await startTestServer();
  try {
    const long = `ünï ${'€'.repeat(200)} 😀`;
    const submitted = await server.client.submitTask({ taskId: 'rr-1', method: 'concat', args: [toAny(long), toAny('!')] });
    expect(submitted).toEqual({ taskId: 'rr-1', status: TaskResponse_Status.SUCCESS, result: `${long}!`, attempts: 1 });
    expect(await server.client.getResult({ taskId: 'rr-1' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: `${long}!`, attempts: 1 });
    expect(await server.client.waitResult({ taskId: 'rr-1' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: `${long}!`, attempts: 1 });
    expect(await server.client.getResult({ taskId: 'no-such' })).toEqual({ status: TaskResponse_Status.NOT_FOUND, result: '', attempts: 0 });
  } finally {
    await server.close();
  }
});
