/**
 * decodeTaskRequest against the generated TaskRequest.decode: equal results for any TaskRequest the
 * generated encoder writes, and for any mangled bytes either equal results or both throwing the same
 * error (the fast path hands whatever it does not fully understand to the generated decoder).
 */
import fc from 'fast-check';
import Long from 'long';
import { TaskRequest } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { decodeTaskRequest } from '../../src/server/task-request-codec';

const seed = 20261126;

const longArb = fc.oneof(
  fc.constant(Long.UZERO),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => Long.fromString(n.toString(), true)),
  fc.integer({ min: 0, max: 2 ** 31 }).map((n) => Long.fromNumber(n, true)),
);
const textArb = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('', 'add', 'type.googleapis.com/google.protobuf.Int32Value'));
const anyArb = fc.oneof(
  fc.integer().map((n) => toAny(n)),
  fc.string().map((s) => toAny(s)),
  fc.record({ typeUrl: textArb, value: fc.uint8Array({ maxLength: 40 }) }),
  fc.constantFrom(
    ...['Int32Value', 'Int64Value', 'UInt32Value', 'UInt64Value', 'FloatValue', 'DoubleValue', 'BoolValue', 'StringValue', 'BytesValue', 'Value', 'Struct', 'ListValue'].map((name) => ({
      typeUrl: `type.googleapis.com/google.protobuf.${name}`,
      value: new Uint8Array([8, 1]),
    })),
  ),
);
const requestArb: fc.Arbitrary<TaskRequest> = fc.record({
  taskId: textArb,
  method: textArb,
  args: fc.array(anyArb, { maxLength: 5 }),
  deps: fc.array(textArb, { maxLength: 4 }),
  isAsync: fc.boolean(),
  detached: fc.boolean(),
  dependencyTimeoutMs: longArb,
  injectDependencyResults: fc.boolean(),
  executionTimeoutMs: longArb,
  retryPolicy: fc.option(
    fc.record({ maxAttempts: fc.nat(), initialBackoffMs: longArb, maxBackoffMs: longArb, backoffMultiplier: fc.double() }),
    { nil: undefined },
  ),
  awaitUnknownDeps: fc.boolean(),
  startAtMs: longArb,
  delayMs: fc.constantFrom(Long.ZERO, Long.fromNumber(5), Long.fromNumber(-5)),
  priority: fc.integer({ min: -2000, max: 2000 }),
  concurrencyKey: textArb,
});

function outcome(decode: (bytes: Uint8Array) => TaskRequest, bytes: Uint8Array): { ok: TaskRequest } | { error: string } {
  try {
    return { ok: decode(bytes) };
  } catch (err) {
    return { error: String(err) };
  }
}

test('any encoded TaskRequest decodes exactly as the generated decoder decodes it (seeded)', () => {
  fc.assert(
    fc.property(requestArb, (request) => {
      const bytes = TaskRequest.encode(request).finish();
      const fast = decodeTaskRequest(bytes);
      expect(fast).toEqual(TaskRequest.decode(bytes));
      // Also against the message itself (strings with lone surrogates come back replaced, as over the wire).
      expect(fast.args.length).toBe(request.args.length);
    }),
    { seed, numRuns: 3000 },
  );
});

test('mangled bytes: the same result or the same error as the generated decoder (seeded)', () => {
  const mangledArb = fc.tuple(requestArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 12 })).map(([request, flips, cut, tail]) => {
    const bytes = Buffer.from(TaskRequest.encode(request).finish());
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return Buffer.concat([bytes.subarray(0, bytes.length === 0 ? 0 : cut % (bytes.length + 1)), tail]);
  });
  let errors = 0;
  fc.assert(
    fc.property(mangledArb, (bytes) => {
      const expected = outcome((b) => TaskRequest.decode(b), bytes);
      if ('error' in expected) errors++;
      expect(outcome(decodeTaskRequest, bytes)).toEqual(expected);
    }),
    { seed, numRuns: 5000 },
  );
  expect(errors).toBeGreaterThan(100); // the mangling does reach the error paths
});

test('hand-written edge cases', () => {
  const cases: [string, number[]][] = [
    ['empty message', []],
    ['unknown field (varint)', [0x50, 0x01, 0x12, 0x01, 0x61]],
    ['field 1 with the wrong wire type', [0x08, 0x05, 0x12, 0x01, 0x61]],
    ['zero tag ends the message', [0x12, 0x01, 0x61, 0x00, 0x12, 0x01, 0x62]],
    ['end-group tag ends the message', [0x12, 0x01, 0x61, 0x0c, 0x12, 0x01, 0x62]],
    ['multi-byte bool', [0x30, 0x81, 0x00]],
    ['bool 2', [0x30, 0x02]],
    ['uint64 max', [0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['uint64 2^32 + 5', [0x48, 0x85, 0x80, 0x80, 0x80, 0x10]],
    ['over-long varint', [0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['truncated string', [0x12, 0x05, 0x61]],
    ['Any with an unknown field', [0x1a, 0x04, 0x18, 0x01, 0x0a, 0x00]],
    ['Any with a zero tag inside', [0x1a, 0x04, 0x00, 0x00, 0x12, 0x00]],
    ['non-ASCII method', [0x12, 0x03, 0xc3, 0xa9, 0x61]],
    ['invalid UTF-8 method', [0x12, 0x02, 0xff, 0x61]],
    ['last method wins', [0x12, 0x01, 0x61, 0x12, 0x01, 0x62]],
  ];
  for (const [name, bytes] of cases) {
    const input = new Uint8Array(bytes);
    expect({ name, outcome: outcome(decodeTaskRequest, input) }).toEqual({ name, outcome: outcome((b) => TaskRequest.decode(b), input) });
  }
  // The usual case: the known type URL comes back as the one interned string.
  const decoded = decodeTaskRequest(TaskRequest.encode({ ...TaskRequest.fromPartial({ method: 'add' }), args: [toAny(1), toAny(2)] }).finish());
  expect(decoded.args.map((any) => any.typeUrl)).toEqual(['type.googleapis.com/google.protobuf.Int32Value', 'type.googleapis.com/google.protobuf.Int32Value']);
});
