/**
 * Property-based checks (fast-check) of the argument decoder: any bytes under any type_url, any
 * nesting, any limits → an ArgValue or an `Invalid arguments` InvalidArgumentsError, never another
 * exception, never a stack overflow escaping; what decodes stays within the configured limits and
 * prints as canonical JSON; what was encoded from a value decodes back to it. Shared by the jest
 * run (seeded, short) and `npm run fuzz` (long). No jest here: failures throw.
 */
import fc from 'fast-check';
import type { Any } from '../generated/google/protobuf/any';
import { arg, type ArgValue } from '../src/args/arg-value';
import { canonicalJson } from '../src/args/canonical-json';
import { DEFAULT_DECODE_LIMITS, SUPPORTED_ARG_TYPES, decodeArgs, type DecodeLimits } from '../src/args/decode-arg';
import { encodeArg, TYPE_URL_PREFIX } from '../src/args/encode-arg';
import { InvalidArgumentsError } from '../src/errors';
import { nested, type ContainerKind } from '../test/args/wire';

export type Outcome = 'accepted' | 'rejected';

function fail(message: string): never {
  throw new Error(message);
}

const describeArgs = (args: readonly Any[]) => args.map((a) => `${JSON.stringify(a.typeUrl)}:${Buffer.from(a.value).toString('hex').slice(0, 200)}`).join(', ');

/** Decodes and classifies; anything but an ArgValue[] or an `Invalid arguments: args[i]…` error throws. */
export function classify(args: readonly Any[], limits: DecodeLimits = DEFAULT_DECODE_LIMITS): { outcome: Outcome; values?: ArgValue[]; message?: string } {
  let values: ArgValue[];
  try {
    values = decodeArgs(args, limits);
  } catch (err) {
    if (!(err instanceof InvalidArgumentsError)) fail(`decodeArgs threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${describeArgs(args)}`);
    if (!/^Invalid arguments: args\[\d+\]/.test(err.message)) fail(`bad message ${JSON.stringify(err.message)} for ${describeArgs(args)}`);
    if (err.message.length > 16_384) fail(`message of ${err.message.length} characters for ${describeArgs(args)}`);
    return { outcome: 'rejected', message: err.message };
  }
  if (values.length !== args.length) fail(`decoded ${values.length} of ${args.length} args`);
  JSON.parse(canonicalJson(values)); // total over decoded values
  return { outcome: 'accepted', values };
}

/** Depth, longest string/bytes (UTF-8 bytes, keys included) and largest map of a decoded value. */
export function measure(value: ArgValue): { depth: number; stringBytes: number; mapEntries: number } {
  switch (value.kind) {
    case 'string':
      return { depth: 0, stringBytes: Buffer.byteLength(value.value, 'utf8'), mapEntries: 0 };
    case 'bytes':
      return { depth: 0, stringBytes: value.value.length, mapEntries: 0 };
    case 'list':
    case 'map': {
      let depth = 0;
      let stringBytes = 0;
      let mapEntries = value.kind === 'map' ? value.value.size : 0;
      const items = value.kind === 'list' ? value.value : [...value.value.values()];
      if (value.kind === 'map') for (const key of value.value.keys()) stringBytes = Math.max(stringBytes, Buffer.byteLength(key, 'utf8'));
      for (const item of items) {
        const m = measure(item);
        depth = Math.max(depth, m.depth);
        stringBytes = Math.max(stringBytes, m.stringBytes);
        mapEntries = Math.max(mapEntries, m.mapEntries);
      }
      return { depth: depth + 1, stringBytes, mapEntries };
    }
    default:
      return { depth: 0, stringBytes: 0, mapEntries: 0 };
  }
}

const KEYS = ['a', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'é', 'k\nv'];

/** Arbitrary ArgValue trees (depth ≤ 4), hostile map keys included. */
export const argValueArb: fc.Arbitrary<ArgValue> = fc.letrec<{ value: ArgValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((n) => arg.int32(n)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => arg.int64(n)),
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => arg.uint32(n)),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => arg.uint64(n)),
    fc.float({ noDefaultInfinity: false }).map((n) => arg.float(n)),
    fc.double().map((n) => arg.double(n)),
    fc.boolean().map((b) => arg.bool(b)),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => arg.string(s)),
    fc.uint8Array({ maxLength: 12 }).map((b) => arg.bytes(b)),
    fc.constant(arg.null()),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => arg.list(items)),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('value')), { maxLength: 4 }).map((entries) => arg.map(entries)),
  ),
})).value;

/** type_urls: every supported name under a few prefixes, near misses, and arbitrary text. */
export const typeUrlArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(TYPE_URL_PREFIX, '', '/', 'x/y/', 'https://example.com/'), fc.constantFrom(...SUPPORTED_ARG_TYPES)).map(([p, n]) => p + n),
  fc.constantFrom('', 'google.protobuf.Any', 'taskscheduler.TaskRequest', 'Int32Value', 'google.protobuf.Empty', `${TYPE_URL_PREFIX}google.protobuf.StringValue/`, 'google.protobuf.int32value'),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

type Mutation = readonly ['flip' | 'truncate' | 'insert' | 'bit', number, number];
const mutationArb: fc.Arbitrary<Mutation> = fc.tuple(fc.constantFrom('flip', 'truncate', 'insert', 'bit' as const), fc.nat(), fc.integer({ min: 0, max: 255 }));

/** Applies byte-level mutations (positions taken modulo the length). */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const [kind, at, value] of mutations) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 'truncate') out = out.subarray(0, i);
    else if (kind === 'insert') out = Uint8Array.from([...out.subarray(0, i), value, ...out.subarray(i)]);
    else if (out.length > 0) out[i] = kind === 'flip' ? value : out[i]! ^ (1 << (value % 8));
  }
  return out;
}

const containerArb = fc.tuple(
  fc.array(fc.constantFrom<ContainerKind>('tsList', 'tsMap'), { maxLength: 400 }),
  fc.array(fc.constantFrom<ContainerKind>('jsonList', 'jsonStruct'), { maxLength: 400 }),
).map(([ts, json]) => [...ts, ...json]).filter((kinds) => kinds.length > 0); // JSON containers hold only JSON

/** Fast-check run settings: a seed (reproducible) and either a run count or a time budget. */
export interface PropertyRun {
  readonly seed: number;
  readonly numRuns?: number;
  /** Stop each property after this long (long fuzz runs). */
  readonly timeLimitMs?: number;
}

/** One named property and how many cases it tried. */
export interface PropertyResult {
  readonly name: string;
  readonly cases: number;
  readonly accepted: number;
  readonly rejected: number;
}

/**
 * Runs every decoder property; throws (fast-check's report: seed, path, counterexample) on the first
 * failure. Counts accepted/rejected so callers can show both sides were exercised.
 */
export function runDecoderProperties(run: PropertyRun): PropertyResult[] {
  const results: PropertyResult[] = [];
  const check = <T>(name: string, arb: fc.Arbitrary<T>, body: (value: T) => Outcome | Outcome[], runs = run.numRuns) => {
    let accepted = 0;
    let rejected = 0;
    let cases = 0;
    const property = fc.property(arb, (value) => {
      cases++;
      for (const outcome of ([] as Outcome[]).concat(body(value))) outcome === 'accepted' ? accepted++ : rejected++;
    });
    const params: fc.Parameters<[T]> = { seed: run.seed, ...(runs !== undefined ? { numRuns: runs } : {}) };
    if (run.timeLimitMs !== undefined) {
      params.numRuns = Number.MAX_SAFE_INTEGER;
      params.interruptAfterTimeLimit = run.timeLimitMs;
      params.markInterruptAsFailure = false;
    }
    fc.assert(property, params);
    results.push({ name, cases, accepted, rejected });
  };

  check('any bytes under any type_url (1-3 args)', fc.array(fc.tuple(typeUrlArb, fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 3 }), (args) =>
    classify(args.map(([typeUrl, value]) => ({ typeUrl, value }))).outcome,
  );

  check('mutated encodings of any value', fc.tuple(argValueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })), ([value, mutations]) => {
    const any = encodeArg(value);
    return classify([{ typeUrl: any.typeUrl, value: mutate(any.value, mutations) }]).outcome;
  });

  check('any value round-trips (canonical JSON equal)', argValueArb, (value) => {
    const got = classify([encodeArg(value)]);
    if (got.outcome !== 'accepted') fail(`a valid encoding was rejected: ${got.message}`);
    if (canonicalJson(got.values!) !== canonicalJson([value])) fail(`round trip changed ${canonicalJson([value])} into ${canonicalJson(got.values!)}`);
    return 'accepted';
  });

  check('any nesting against any depth limit (up to 800 levels)', fc.tuple(containerArb, fc.integer({ min: 0, max: 900 })), ([kinds, maxDepth]) => {
    const got = classify([nested(kinds)], { ...DEFAULT_DECODE_LIMITS, maxDepth });
    if (kinds.length > maxDepth && got.outcome === 'accepted') fail(`depth ${kinds.length} accepted with limit ${maxDepth}`);
    if (kinds.length <= maxDepth && got.outcome === 'rejected' && !/nested too deeply/.test(got.message!)) fail(`depth ${kinds.length} rejected with limit ${maxDepth}: ${got.message}`);
    if (got.outcome === 'rejected' && !/nesting deeper than the limit of \d+ \(--max-arg-depth\)$|nested too deeply$/.test(got.message!)) fail(`unexpected depth message ${got.message}`);
    return got.outcome;
  });

  check('very deep nesting without a limit never overflows the stack uncaught', fc.integer({ min: 5_000, max: 60_000 }), (depth) => {
    const kinds = Array<ContainerKind>(depth).fill(depth % 2 === 0 ? 'tsList' : 'jsonList');
    return classify([nested(kinds)], { ...DEFAULT_DECODE_LIMITS, maxDepth: Number.MAX_SAFE_INTEGER }).outcome;
  }, Math.min(run.numRuns ?? 20, 20));

  const limitsArb = fc.record({ maxDepth: fc.integer({ min: 0, max: 5 }), maxStringBytes: fc.integer({ min: 0, max: 24 }), maxMapEntries: fc.integer({ min: 0, max: 4 }) });
  check('any value against any limits: accepted iff within them, and the error names the limit', fc.tuple(argValueArb, limitsArb), ([value, limits]) => {
    const got = classify([encodeArg(value)], limits);
    const m = measure(value);
    const within = m.depth <= limits.maxDepth && m.stringBytes <= limits.maxStringBytes && m.mapEntries <= limits.maxMapEntries;
    if (within !== (got.outcome === 'accepted')) fail(`${canonicalJson([value])} (${JSON.stringify(m)}) with ${JSON.stringify(limits)}: ${got.outcome} ${got.message ?? ''}`);
    if (got.outcome === 'rejected' && !/\(--max-(arg-depth|string-bytes|map-entries)\)$/.test(got.message!)) fail(`limit error names no limit: ${got.message}`);
    return got.outcome;
  });
  return results;
}
