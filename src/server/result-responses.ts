/**
 * The TaskScheduler service definition the server registers: the generated one, with a direct encoder
 * for the two responses that carry a task's result (TaskResponse, ResultResponse).
 *
 * Why: the generated encoder writes through a BinaryWriter that starts at 128 bytes and reserves three
 * bytes per character of a string before it knows its UTF-8 length, so a result of a few hundred
 * characters grows (re-allocates and copies) its buffer four times, then `finish()` slices a copy and
 * nice-grpc copies that into a Buffer: ~4 µs per `echo` answer of bench b's ~350-character result, and
 * ~1.2 µs for add's "3". Here the size is computed first and the message written once into one Buffer
 * (~0.6 µs). Bytes are identical to the generated encoder's (test/server/result-responses.test.ts); any
 * value this encoder does not expect (a negative enum) goes through the generated encoder.
 */
import { ResultResponse, TaskResponse, TaskSchedulerDefinition } from '../../generated/taskscheduler/task_scheduler';
import { writeVarint32 } from '../args/wire-bytes';

const TAG_TASK_ID = (1 << 3) | 2;
const TAG_STATUS = (2 << 3) | 0;
const TAG_RESULT = (3 << 3) | 2;
const TAG_ATTEMPTS = (4 << 3) | 0;
const TAG_RESULT_STATUS = (1 << 3) | 0;
const TAG_RESULT_RESULT = (2 << 3) | 2;
const TAG_RESULT_ATTEMPTS = (3 << 3) | 0;

/** Bytes of a varint of `n` (0 ≤ n < 2^32). */
function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** A non-negative enum value below 128: one varint byte, as int32 encodes it. */
function isSmallEnum(n: number): boolean {
  return n >= 0 && n < 0x80 && Number.isInteger(n);
}

/** A uint32 field value this encoder writes (anything else goes through the generated encoder). */
function isUint32(n: number): boolean {
  return n >= 0 && n <= 0xffffffff && Number.isInteger(n);
}

/** Bytes of an optional uint32 field (absent when 0). */
function uint32FieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

/** A length-delimited string field; `bytes` is its UTF-8 length (Buffer#write replaces lone surrogates as TextEncoder does). */
function writeString(buf: Buffer, pos: number, tag: number, value: string, bytes: number): number {
  buf[pos++] = tag;
  pos = writeVarint32(buf, pos, bytes);
  return pos + buf.write(value, pos, bytes, 'utf8');
}

/** TaskResponse, byte for byte as `TaskResponse.encode(message).finish()`. */
export function encodeTaskResponse(message: TaskResponse): Uint8Array {
  if (!isSmallEnum(message.status) || !isUint32(message.attempts)) return TaskResponse.encode(message).finish();
  const idBytes = message.taskId === '' ? 0 : Buffer.byteLength(message.taskId, 'utf8');
  const resultBytes = message.result === '' ? 0 : Buffer.byteLength(message.result, 'utf8');
  const size =
    (message.taskId === '' ? 0 : 1 + varintSize(idBytes) + idBytes) +
    (message.status === 0 ? 0 : 2) +
    (message.result === '' ? 0 : 1 + varintSize(resultBytes) + resultBytes) +
    uint32FieldSize(message.attempts);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (message.taskId !== '') pos = writeString(buf, pos, TAG_TASK_ID, message.taskId, idBytes);
  if (message.status !== 0) {
    buf[pos++] = TAG_STATUS;
    buf[pos++] = message.status;
  }
  if (message.result !== '') pos = writeString(buf, pos, TAG_RESULT, message.result, resultBytes);
  if (message.attempts !== 0) {
    buf[pos++] = TAG_ATTEMPTS;
    writeVarint32(buf, pos, message.attempts);
  }
  return buf;
}

/** ResultResponse, byte for byte as `ResultResponse.encode(message).finish()`. */
export function encodeResultResponse(message: ResultResponse): Uint8Array {
  // Progress (rare: tasks that report it) goes through the generated encoder.
  if (!isSmallEnum(message.status) || !isUint32(message.attempts) || message.progress !== undefined) {
    return ResultResponse.encode(message).finish();
  }
  const resultBytes = message.result === '' ? 0 : Buffer.byteLength(message.result, 'utf8');
  const size = (message.status === 0 ? 0 : 2) + (message.result === '' ? 0 : 1 + varintSize(resultBytes) + resultBytes) + uint32FieldSize(message.attempts);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (message.status !== 0) {
    buf[pos++] = TAG_RESULT_STATUS;
    buf[pos++] = message.status;
  }
  if (message.result !== '') pos = writeString(buf, pos, TAG_RESULT_RESULT, message.result, resultBytes);
  if (message.attempts !== 0) {
    buf[pos++] = TAG_RESULT_ATTEMPTS;
    writeVarint32(buf, pos, message.attempts);
  }
  return buf;
}

// The generated message types with `encode` replaced. nice-grpc calls `encode(fromPartial(value)).finish()`
// (functions taken off the object, unbound), so `fromPartial`, which fills absent fields, stays generated.
const taskResponseType = {
  decode: TaskResponse.decode,
  fromPartial: TaskResponse.fromPartial,
  encode: (message: TaskResponse) => ({ finish: () => encodeTaskResponse(message) }),
};
const resultResponseType = {
  decode: ResultResponse.decode,
  fromPartial: ResultResponse.fromPartial,
  encode: (message: ResultResponse) => ({ finish: () => encodeResultResponse(message) }),
};

/** The generated TaskScheduler definition with the result-carrying responses encoded directly. */
export const TaskSchedulerServiceDefinition = {
  ...TaskSchedulerDefinition,
  methods: {
    ...TaskSchedulerDefinition.methods,
    submitTask: { ...TaskSchedulerDefinition.methods.submitTask, responseType: taskResponseType },
    getResult: { ...TaskSchedulerDefinition.methods.getResult, responseType: resultResponseType },
    waitResult: { ...TaskSchedulerDefinition.methods.waitResult, responseType: resultResponseType },
  },
} as const;
