/**
 * Black-box fuzzing of a running server over HTTP/2: random TaskRequests, byte-mutated TaskRequests,
 * and malformed gRPC framing / HTTP/2 requests. Every reply must be a response, a SPEC §4 status, or
 * grpc-js's own answer to broken framing (spec-status.ts); no call may hang. Cases come from fast-check
 * arbitraries sampled with a seed, so a run reproduces.
 */
import type http2 from 'node:http2';
import fc from 'fast-check';
import Long from 'long';
import { TaskRequest } from '../generated/taskscheduler/task_scheduler';
import { encodeArg } from '../src/args/encode-arg';
import { argValueArb, mutate, typeUrlArb } from './decoder-properties';
import { connectRaw, frame, rawCall, type RawReply, type RawRequest } from './raw-grpc';
import { classifyStatus, STATUS_NAMES, type ReplyClass } from './spec-status';

export const SUBMIT = '/taskscheduler.TaskScheduler/SubmitTask';
const HEALTH_CHECK = '/grpc.health.v1.Health/Check';

/** Methods the fuzzer calls: every built-in, the example plugin's, and the empty name. */
const METHODS = ['ping', 'echo', 'add', 'remove', 'concat', 'fail', 'echo_string', 'echo_bytes', 'echo_bool', 'process_collection', 'process_nested_list', 'process_complex_map', 'process_person_map', 'sum_list', 'delete', 'sleep', 'fib', 'fibonacci', 'long_running_task', 'plugin_example::multiply', 'plugin_example::delayed_echo', ''];

/** A TaskRequest whose every wait is bounded (execution and dependency timeouts ≤ 300 ms). */
export function taskRequestArb(idPrefix: string): fc.Arbitrary<TaskRequest> {
  const poolId = fc.integer({ min: 0, max: 30 }).map((n) => `${idPrefix}${n}`);
  const ms = (min: number) => fc.integer({ min, max: 300 }).map((n) => Long.fromNumber(n, true));
  return fc.record({
    taskId: fc.oneof(fc.constant(''), poolId, fc.string({ unit: 'binary', maxLength: 300 })),
    method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }),
    args: fc.array(fc.oneof(argValueArb.map(encodeArg), fc.record({ typeUrl: typeUrlArb, value: fc.uint8Array({ maxLength: 32 }) })), { maxLength: 5 }),
    deps: fc.array(fc.oneof(poolId, fc.string({ maxLength: 10 })), { maxLength: 3 }),
    detached: fc.boolean(),
    dependencyTimeoutMs: ms(0),
    executionTimeoutMs: ms(1),
    injectDependencyResults: fc.boolean(),
    isAsync: fc.boolean(),
    awaitUnknownDeps: fc.boolean(),
    // Mostly absent; otherwise a policy with short backoffs (every wait stays bounded), or an invalid one.
    retryPolicy: fc.option(
      fc.record({
        maxAttempts: fc.integer({ min: 0, max: 4 }),
        initialBackoffMs: fc.integer({ min: 1, max: 50 }).map((n) => Long.fromNumber(n, true)),
        maxBackoffMs: fc.integer({ min: 0, max: 100 }).map((n) => Long.fromNumber(n, true)),
        backoffMultiplier: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 3, noNaN: true })),
      }),
      { nil: undefined, freq: 4 },
    ),
    // Scheduling: mostly none; otherwise short delays (bounded waits), priorities and keys, some invalid.
    startAtMs: fc.constant(Long.UZERO),
    delayMs: fc.oneof({ weight: 4, arbitrary: fc.constant(Long.ZERO) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 50 }).map((n) => Long.fromNumber(n)) }),
    priority: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -1200, max: 1200 }) }),
    concurrencyKey: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.string({ maxLength: 140 }) }),
  });
}

/** One fuzz case. */
export type FuzzCase =
  | { readonly kind: 'request'; readonly request: TaskRequest }
  | { readonly kind: 'mutated'; readonly bytes: Uint8Array }
  | { readonly kind: 'framing'; readonly name: string; readonly raw: RawRequest };

const ping = TaskRequest.encode(TaskRequest.fromPartial({ method: 'ping' })).finish();

/** Malformed framing and HTTP/2 requests, each carrying (or meant to carry) a valid ping. */
const framingArb: fc.Arbitrary<{ name: string; raw: RawRequest }> = fc.oneof(
  fc.integer({ min: 1, max: 1000 }).map((extra) => ({ name: 'length prefix longer than the body', raw: { path: SUBMIT, body: frame(ping, { declaredLength: ping.length + extra }) } })),
  fc.integer({ min: 0x0100_0000, max: 0xffff_ffff }).map((declared) => ({ name: 'huge declared length', raw: { path: SUBMIT, body: frame(ping, { declaredLength: declared }) } })),
  fc.constant({ name: 'compressed flag without grpc-encoding', raw: { path: SUBMIT, body: frame(ping, { compressed: true }) } }),
  fc.uint8Array({ maxLength: 64 }).map((junk) => ({ name: 'gzip flag over garbage', raw: { path: SUBMIT, body: frame(junk, { compressed: true }), headers: { 'grpc-encoding': 'gzip' } } })),
  fc.constant({ name: 'unknown grpc-encoding', raw: { path: SUBMIT, body: frame(ping, { compressed: true }), headers: { 'grpc-encoding': 'zstd-x' } } }),
  fc.integer({ min: 1, max: 4 }).map((n) => ({ name: 'truncated prefix', raw: { path: SUBMIT, body: frame(ping).subarray(0, n) } })),
  fc.constant({ name: 'empty body', raw: { path: SUBMIT, body: Buffer.alloc(0) } }),
  fc.constant({ name: 'two messages in a unary call', raw: { path: SUBMIT, body: Buffer.concat([frame(ping), frame(ping)]) } }),
  fc.constantFrom('text/html', 'application/json', 'application/grpc+json', 'garbage\u0001').map((type) => ({ name: 'wrong content-type', raw: { path: SUBMIT, body: frame(ping), headers: { 'content-type': type } } })),
  fc.constant({ name: 'no content-type', raw: { path: SUBMIT, body: frame(ping), headers: { 'content-type': null } } }),
  fc.constantFrom('/taskscheduler.TaskScheduler/Nope', '/x', '/', '/taskscheduler.TaskScheduler/SubmitTask/extra').map((path) => ({ name: 'unknown path', raw: { path, body: frame(ping) } })),
  fc.constant({ name: 'GET instead of POST', raw: { path: SUBMIT, body: Buffer.alloc(0), headers: { ':method': 'GET' } } }),
  fc.integer({ min: 1, max: 6 }).map((n) => ({ name: 'reset after a partial write', raw: { path: SUBMIT, body: frame(ping).subarray(0, n), resetAfterWrite: true } })),
  fc.uint8Array({ maxLength: 200 }).map((junk) => ({ name: 'random body bytes', raw: { path: SUBMIT, body: Buffer.from(junk) } })),
  fc.constantFrom('abc', '-1S', '99999999999H', '1n').map((timeout) => ({ name: 'garbage grpc-timeout', raw: { path: SUBMIT, body: frame(ping), headers: { 'grpc-timeout': timeout } } })),
  fc.integer({ min: 1024, max: 16_000 }).map((n) => ({ name: 'large metadata value', raw: { path: SUBMIT, body: frame(ping), headers: { 'x-junk': 'j'.repeat(n) } } })),
);

export function fuzzCaseArb(idPrefix: string): fc.Arbitrary<FuzzCase> {
  const request = taskRequestArb(idPrefix);
  return fc.oneof(
    { weight: 5, arbitrary: request.map((r): FuzzCase => ({ kind: 'request', request: r })) },
    {
      weight: 3,
      arbitrary: fc.tuple(request, fc.array(fc.tuple(fc.constantFrom('flip', 'truncate', 'insert', 'bit' as const), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
        .map(([r, mutations]): FuzzCase => ({ kind: 'mutated', bytes: mutate(TaskRequest.encode(r).finish(), mutations) })),
    },
    { weight: 2, arbitrary: framingArb.map((f): FuzzCase => ({ kind: 'framing', ...f })) },
  );
}

/** Counts of one fuzz run. */
export interface FuzzReport {
  readonly cases: number;
  /** Per case kind (`request`, `mutated`, `framing: <name>`). */
  readonly byKind: Record<string, number>;
  /** Per reply (`OK`, `INVALID_ARGUMENT`, `http 415`, `reset`…). */
  readonly byReply: Record<string, number>;
  /** Per class (ok/spec/transport/http/reset). */
  readonly byClass: Record<string, number>;
  /** Replies that were none of the acceptable ones, or hangs (the first 20 distinct ones). */
  readonly violations: string[];
  readonly violationCount: number;
}

function describeReply(reply: RawReply): { label: string; cls: ReplyClass } {
  if (reply.timedOut) return { label: 'hang', cls: 'violation' };
  if (reply.grpcStatus !== undefined) {
    const cls = classifyStatus(reply.grpcStatus, reply.grpcMessage);
    const name = STATUS_NAMES[reply.grpcStatus] ?? `status ${reply.grpcStatus}`;
    return { label: cls === 'ok' ? name : `${name} (${cls})`, cls };
  }
  if (reply.httpStatus !== undefined && reply.httpStatus !== 200) return { label: `http ${reply.httpStatus}`, cls: 'http' };
  if (reply.streamError !== undefined) return { label: 'reset', cls: 'reset' };
  return { label: 'no status', cls: 'violation' };
}

/** The raw request of a case; every one carries a 5 s gRPC deadline so the server bounds it too. */
function toRaw(c: FuzzCase): RawRequest {
  const deadline = { 'grpc-timeout': '5S' };
  switch (c.kind) {
    case 'request':
      return { path: SUBMIT, body: frame(TaskRequest.encode(c.request).finish()), headers: deadline };
    case 'mutated':
      return { path: SUBMIT, body: frame(c.bytes), headers: deadline };
    case 'framing':
      return { ...c.raw, headers: { ...deadline, ...c.raw.headers } };
  }
}

/** How to run. */
export interface FuzzOptions {
  readonly address: string;
  readonly seed: number;
  /** Stop after this long… */
  readonly durationMs: number;
  /** …or this many cases, whichever first. */
  readonly maxCases?: number;
  /** Calls in flight at once (default 8). */
  readonly concurrency?: number;
  /** Task-id namespace (default `fz-`). */
  readonly idPrefix?: string;
  /** Called every second with the cases so far (progress, memory samples). */
  readonly onTick?: (cases: number) => void;
}

/** Runs the fuzzer against `address` and returns its counts (never throws for a bad reply: see `violations`). */
export async function fuzzServer(options: FuzzOptions): Promise<FuzzReport> {
  const arb = fuzzCaseArb(options.idPrefix ?? 'fz-');
  const byKind: Record<string, number> = {};
  const byReply: Record<string, number> = {};
  const byClass: Record<string, number> = {};
  const violations: string[] = [];
  let violationCount = 0;
  let cases = 0;
  let batch = 0;
  let queue: FuzzCase[] = [];
  const next = (): FuzzCase => {
    if (queue.length === 0) queue = fc.sample(arb, { seed: options.seed + batch++, numRuns: 100 });
    return queue.pop()!;
  };
  const deadline = Date.now() + options.durationMs;
  const more = () => Date.now() < deadline && (options.maxCases === undefined || cases < options.maxCases);
  let session: http2.ClientHttp2Session | undefined;
  let connecting: Promise<http2.ClientHttp2Session> | undefined;
  const sessionNow = async (): Promise<http2.ClientHttp2Session> => {
    if (session && !session.closed && !session.destroyed) return session;
    // A protocol error may make the server send GOAWAY: open a new session (counted, not a violation).
    connecting ??= connectRaw(options.address).then((s) => {
      s.on('error', () => undefined);
      session = s;
      connecting = undefined;
      return s;
    });
    return connecting;
  };
  const tick = setInterval(() => options.onTick?.(cases), 1000);
  const worker = async () => {
    while (more()) {
      const c = next();
      cases++;
      const kind = c.kind === 'framing' ? `framing: ${c.name}` : c.kind;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      const reply = await rawCall(await sessionNow(), toRaw(c));
      const { label, cls } = describeReply(reply);
      byReply[label] = (byReply[label] ?? 0) + 1;
      byClass[cls] = (byClass[cls] ?? 0) + 1;
      if (cls === 'violation') {
        violationCount++;
        const detail = `${kind}: ${label} ${JSON.stringify(reply.grpcMessage.slice(0, 200))} (http ${reply.httpStatus}, ${reply.streamError ?? 'no stream error'})`;
        if (violations.length < 20 && !violations.includes(detail)) violations.push(detail);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  } finally {
    clearInterval(tick);
    session?.close();
  }
  return { cases, byKind, byReply, byClass, violations, violationCount };
}

/** grpc.health.v1 Check over a fresh raw session: true when it answers SERVING. */
export async function healthServing(address: string): Promise<boolean> {
  const session = await connectRaw(address);
  try {
    const reply = await rawCall(session, { path: HEALTH_CHECK, body: frame(new Uint8Array(0)), timeoutMs: 10_000 });
    // HealthCheckResponse { status = 1 (SERVING) } is 08 01 behind the 5-byte prefix.
    return reply.grpcStatus === 0 && reply.body.equals(frame(Uint8Array.of(0x08, 0x01)));
  } finally {
    session.close();
  }
}
