import Long from 'long';
import type { Any } from '../../generated/google/protobuf/any';
import { Value } from '../../generated/google/protobuf/struct';
import { arg, type ArgKind, type ArgValue } from '../../src/args/arg-value';
import { canonicalJson } from '../../src/args/canonical-json';
import { DEFAULT_DECODE_LIMITS, SUPPORTED_ARG_TYPES, decodeArgs, type DecodeLimits } from '../../src/args/decode-arg';
import { encodeArg } from '../../src/args/encode-arg';
import { InvalidArgumentsError } from '../../src/errors';
import { prng } from './wire';

const KINDS: readonly ArgKind[] = ['int32', 'int64', 'uint32', 'uint64', 'float', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null'];

type Outcome = 'accepted' | 'rejected';

/** Decodes and classifies: returns normally or throws InvalidArgumentsError — anything else fails the test. */
function classify(args: readonly Any[], limits?: DecodeLimits): Outcome {
  let decoded: ArgValue[];
  try {
    decoded = decodeArgs(args, limits);
  } catch (err) {
    if (!(err instanceof InvalidArgumentsError)) {
      throw new Error(`decodeArgs threw ${String(err)} for ${args.map((a) => `${a.typeUrl}:${Buffer.from(a.value).toString('hex')}`).join(', ')}`);
    }
    expect(err.message).toMatch(/^Invalid arguments: args\[\d+\]/);
    return 'rejected';
  }
  expect(decoded).toHaveLength(args.length);
  for (const d of decoded) expect(KINDS).toContain(d.kind);
  // Whatever decodes must also print: canonicalJson is total over decoded values.
  expect(() => JSON.parse(canonicalJson(decoded))).not.toThrow();
  return 'accepted';
}

/** Random bytes biased towards tags, length prefixes and varint continuation bytes. */
function randomBytes(next: () => number, maxLength: number): Uint8Array {
  const interesting = [0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x11, 0x12, 0x1a, 0x20, 0x2a, 0x32, 0x7f, 0x80, 0xc3, 0xff];
  const out = new Uint8Array(Math.floor(next() * (maxLength + 1)));
  for (let i = 0; i < out.length; i++) {
    out[i] = next() < 0.6 ? interesting[Math.floor(next() * interesting.length)]! : Math.floor(next() * 256);
  }
  return out;
}

/** A random ArgValue tree (depth ≤ `depth`). */
function randomArg(next: () => number, depth: number): ArgValue {
  const pick = Math.floor(next() * (depth > 0 ? 13 : 10));
  const int = (bits: number): bigint => BigInt.asIntN(bits, BigInt(Math.floor(next() * 2 ** 32)) * BigInt(Math.floor(next() * 2 ** 32)));
  switch (pick) {
    case 0:
      return arg.int32(Number(int(32)));
    case 1:
      return arg.int64(int(64));
    case 2:
      return arg.uint32(Number(BigInt.asUintN(32, int(32))));
    case 3:
      return arg.uint64(BigInt.asUintN(64, int(64)));
    case 4:
      return arg.float((next() - 0.5) * 10 ** Math.floor(next() * 20 - 10));
    case 5:
      return arg.double(next() < 0.1 ? [NaN, Infinity, -Infinity][Math.floor(next() * 3)]! : (next() - 0.5) * 1e6);
    case 6:
      return arg.bool(next() < 0.5);
    case 7:
      return arg.string(String.fromCodePoint(...Array.from({ length: Math.floor(next() * 6) }, () => [0x41, 0xe9, 0x20ac, 0x1f600, 0x22][Math.floor(next() * 5)]!)));
    case 8:
      return arg.bytes(randomBytes(next, 6));
    case 9:
      return arg.null();
    case 10:
    case 11:
      return arg.list(Array.from({ length: Math.floor(next() * 4) }, () => randomArg(next, depth - 1)));
    default:
      return arg.map(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [['a', '__proto__', 'constructor', 'é', ''][i]!, randomArg(next, depth - 1)] as const));
  }
}

function mutate(next: () => number, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  switch (Math.floor(next() * 4)) {
    case 0: // flip a byte
      if (out.length > 0) out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
      return out;
    case 1: // truncate
      return out.subarray(0, Math.floor(next() * out.length));
    case 2: {
      // insert a byte
      const at = Math.floor(next() * (out.length + 1));
      return Uint8Array.from([...out.subarray(0, at), Math.floor(next() * 256), ...out.subarray(at)]);
    }
    default: // flip a bit
      if (out.length > 0) out[Math.floor(next() * out.length)]! ^= 1 << Math.floor(next() * 8);
      return out;
  }
}

describe('decodeArgs fuzz: returns or throws InvalidArgumentsError, never anything else', () => {
  it('random bytes under every supported type name (4000 cases)', () => {
    const next = prng(0x5eed);
    const seen = new Set<Outcome>();
    for (let i = 0; i < 4000; i++) {
      const name = SUPPORTED_ARG_TYPES[Math.floor(next() * SUPPORTED_ARG_TYPES.length)]!;
      const prefix = ['type.googleapis.com/', '', 'x/y/'][Math.floor(next() * 3)]!;
      seen.add(classify([{ typeUrl: prefix + name, value: randomBytes(next, 24) }]));
    }
    expect([...seen].sort()).toEqual(['accepted', 'rejected']);
  });

  it('random type names and multi-argument requests', () => {
    const next = prng(42);
    const names = [...SUPPORTED_ARG_TYPES, 'google.protobuf.Any', 'taskscheduler.TaskRequest', '', 'Int32Value', 'google.protobuf.Empty'];
    for (let i = 0; i < 1000; i++) {
      const args = Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({ typeUrl: names[Math.floor(next() * names.length)]!, value: randomBytes(next, 12) }));
      classify(args);
    }
  });

  it('mutations of valid encodings (3000 cases, nested containers and JSON values)', () => {
    const next = prng(7);
    const seen = new Set<Outcome>();
    for (let i = 0; i < 3000; i++) {
      const base =
        next() < 0.7
          ? encodeArg(randomArg(next, 4))
          : { typeUrl: 'type.googleapis.com/google.protobuf.Value', value: Value.encode(Value.wrap({ a: [1, 'x', null, { b: [true] }], '': 2 })).finish() };
      let value = base.value;
      const rounds = 1 + Math.floor(next() * 3);
      for (let r = 0; r < rounds; r++) value = mutate(next, value);
      seen.add(classify([{ typeUrl: base.typeUrl, value }], next() < 0.2 ? { ...DEFAULT_DECODE_LIMITS, maxDepth: Math.floor(next() * 4) } : undefined));
    }
    expect([...seen].sort()).toEqual(['accepted', 'rejected']);
  });

  it('unmutated random trees round-trip exactly (canonical JSON and 64-bit values)', () => {
    const next = prng(2024);
    for (let i = 0; i < 500; i++) {
      const original = randomArg(next, 4);
      const [decoded] = decodeArgs([encodeArg(original)]);
      expect(canonicalJson([decoded!])).toBe(canonicalJson([original]));
      if (original.kind === 'int64' || original.kind === 'uint64') {
        expect(decoded!.kind).toBe(original.kind);
        expect(Long.isLong(decoded!.value) && decoded!.value.equals(original.value) && decoded!.value.unsigned === original.value.unsigned).toBe(true);
      }
    }
  });
});
