/**
 * Hand-written protobuf wire bytes for the argument tests, independent of the generated codecs, so the
 * decoder is not only checked against our own encoder.
 */
import type { Any } from '../../generated/google/protobuf/any';

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** Base-128 varint of a non-negative integer (negative int32/int64 values: pass their 64-bit two's complement). */
export function varint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && value >= 0 && value < 0x80) return Uint8Array.of(value);
  if (typeof value === 'number' && value >= 0 && value < 0x4000) return Uint8Array.of((value & 0x7f) | 0x80, value >>> 7);
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}

export function bytes(...parts: ReadonlyArray<Uint8Array | readonly number[]>): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export function tag(field: number, wireType: number): Uint8Array {
  return varint((field << 3) | wireType);
}

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);

/** A length-delimited field. */
export function lenField(field: number, body: Uint8Array | string): Uint8Array {
  const b = typeof body === 'string' ? utf8(body) : body;
  return bytes(tag(field, LEN), varint(b.length), b);
}

export function varintField(field: number, value: number | bigint): Uint8Array {
  return bytes(tag(field, VARINT), varint(value));
}

export function doubleField(field: number, value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return bytes(tag(field, FIXED64), b);
}

export function floatField(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return bytes(tag(field, FIXED32), b);
}

export function any(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value };
}

/** The bytes of an `Any` message (type_url = 1, value = 2), as nested inside ListValue/MapValue. */
export function anyBytes(typeName: string, value: Uint8Array): Uint8Array {
  return bytes(lenField(1, `type.googleapis.com/${typeName}`), lenField(2, value));
}

// Scalars, hand-encoded.
export const int32Any = (v: number): Any => any('google.protobuf.Int32Value', varintField(1, v));
export const stringAny = (s: string): Any => any('google.protobuf.StringValue', lenField(1, s));

/** taskscheduler.ListValue of already-encoded Any messages. */
export function tsList(...values: Uint8Array[]): Uint8Array {
  return bytes(...values.map((v) => lenField(1, v)));
}

/** taskscheduler.MapValue of [key, Any bytes] entries, in wire order (duplicates allowed). */
export function tsMap(...entries: Array<readonly [string, Uint8Array]>): Uint8Array {
  return bytes(...entries.map(([k, v]) => lenField(1, bytes(lenField(1, k), lenField(2, v)))));
}

// google.protobuf.Value: null_value = 1, number_value = 2, string_value = 3, bool_value = 4,
// struct_value = 5, list_value = 6. ListValue: values = 1. Struct: fields = 1 (entry: key 1, value 2).
export const jsonNull = (): Uint8Array => varintField(1, 0);
export const jsonNumber = (n: number): Uint8Array => doubleField(2, n);
export const jsonString = (s: string): Uint8Array => lenField(3, s);
export const jsonList = (...values: Uint8Array[]): Uint8Array => bytes(...values.map((v) => lenField(1, v)));
export const jsonStruct = (...entries: Array<readonly [string, Uint8Array]>): Uint8Array =>
  bytes(...entries.map(([k, v]) => lenField(1, bytes(lenField(1, k), lenField(2, v)))));

/**
 * Wraps `inner` in `levels` layers whose encoding is a pure prefix (true of every nesting here: the nested
 * message is the last field). Built in one pass, so 100,000 levels cost linear time and memory.
 * `header(innerLength, level)` returns the bytes that precede a body of `innerLength` bytes; level 0 is
 * the innermost layer.
 */
export function nest(levels: number, inner: Uint8Array, header: (innerLength: number, level: number) => Uint8Array): Uint8Array {
  const headers: Uint8Array[] = [];
  let length = inner.length;
  for (let level = 0; level < levels; level++) {
    const h = header(length, level);
    headers.push(h);
    length += h.length;
  }
  return bytes(...headers.reverse(), inner);
}

/** A container level for {@link nested}: taskscheduler List/MapValue, or JSON ListValue/Struct. */
export type ContainerKind = 'tsList' | 'tsMap' | 'jsonList' | 'jsonStruct';

const TYPE_NAME: Record<ContainerKind, string> = {
  tsList: 'taskscheduler.ListValue',
  tsMap: 'taskscheduler.MapValue',
  jsonList: 'google.protobuf.ListValue',
  jsonStruct: 'google.protobuf.Struct',
};

/** The body of a container of `kind` whose single element is a scalar (depth 1). */
export function leafContainer(kind: ContainerKind): Uint8Array {
  switch (kind) {
    case 'tsList':
      return tsList(anyBytes('google.protobuf.Int32Value', varintField(1, 1)));
    case 'tsMap':
      return tsMap(['k', anyBytes('google.protobuf.Int32Value', varintField(1, 1))]);
    case 'jsonList':
      return jsonList(jsonNumber(1));
    case 'jsonStruct':
      return jsonStruct(['k', jsonNumber(1)]);
  }
}

/** Appends a varint of a non-negative safe integer to `out` (the hot path of deep-nesting builders). */
function pushVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

const URL_BYTES = new Map<ContainerKind, number[]>();
function urlBytes(kind: ContainerKind): number[] {
  let b = URL_BYTES.get(kind);
  if (b === undefined) URL_BYTES.set(kind, (b = [...utf8(`type.googleapis.com/${TYPE_NAME[kind]}`)]));
  return b;
}

/**
 * Header of a container of kind `outer` whose single element (key "k" for maps) is a container of kind
 * `inner` with a body of `innerLength` bytes. JSON containers cannot hold taskscheduler ones.
 */
export function containerHeader(outer: ContainerKind, inner: ContainerKind, innerLength: number): Uint8Array {
  const element: number[] = []; // everything of the element before the inner body
  if (outer === 'tsList' || outer === 'tsMap') {
    // Any { type_url = 1; value = 2 }
    const url = urlBytes(inner);
    element.push(0x0a);
    pushVarint(element, url.length);
    element.push(...url, 0x12);
  } else {
    if (inner === 'tsList' || inner === 'tsMap') throw new Error('a JSON container cannot hold a taskscheduler container');
    element.push(inner === 'jsonList' ? 0x32 : 0x2a); // Value { list_value = 6 | struct_value = 5 }
  }
  pushVarint(element, innerLength);
  const elementLength = element.length + innerLength;
  const out: number[] = [0x0a];
  if (outer === 'tsList' || outer === 'jsonList') {
    pushVarint(out, elementLength);
  } else {
    // Map entry { key = 1 ("k"); value = 2 (the element) }.
    const valueHead: number[] = [0x12];
    pushVarint(valueHead, elementLength);
    pushVarint(out, 3 + valueHead.length + elementLength);
    out.push(0x0a, 0x01, 0x6b, ...valueHead);
  }
  out.push(...element);
  return Uint8Array.from(out);
}

/**
 * An Any holding `kinds.length` nested containers, outermost first, the innermost holding one scalar:
 * its nesting depth (SPEC §2) is `kinds.length`.
 */
export function nested(kinds: readonly ContainerKind[]): Any {
  const n = kinds.length;
  const body = nest(n - 1, leafContainer(kinds[n - 1]!), (length, level) => containerHeader(kinds[n - 2 - level]!, kinds[n - 1 - level]!, length));
  return any(TYPE_NAME[kinds[0]!], body);
}

/** The error path segment a container adds for its single element. */
export function segment(kind: ContainerKind): string {
  return kind === 'tsList' || kind === 'jsonList' ? '.values[0]' : '.fields["k"]';
}

/** Deterministic PRNG (mulberry32), so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replaces Maps by entry arrays and Longs by strings, for readable `toEqual` on decoded values. */
export function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (v instanceof Map) return { map: [...v.entries()] };
      if (v instanceof Uint8Array) return { bytes: [...v] };
      if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v && 'unsigned' in v) return String(v);
      return v;
    }),
  );
}
