import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { Any } from '../../generated/google/protobuf/any';
import Long from 'long';
import { InvalidArgumentsError, MAX_QUOTED_CHARS, clip } from '../errors';
import type { ArgValue } from './arg-value';
import { shortAscii } from './wire-bytes';

/**
 * Limits applied while decoding arguments, built once at start-up (the checks compare with these
 * numbers only). Each error names the limit and the CLI flag that sets it.
 */
export interface DecodeLimits {
  /** Deepest container nesting accepted: a list/map of scalars is depth 1 (SPEC §2, default 64; `--max-arg-depth`). */
  readonly maxDepth: number;
  /** Largest string (UTF-8 bytes) or bytes value, map keys included (default 1 MiB; `--max-string-bytes`). */
  readonly maxStringBytes: number;
  /** Most entries in one map or struct (default 10 000; `--max-map-entries`). */
  readonly maxMapEntries: number;
}

/** Default decode limits (SPEC §2). */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({ maxDepth: 64, maxStringBytes: 1024 * 1024, maxMapEntries: 10_000 });

/** Argument type names understood by the decoder (the part of `type_url` after its last `/`). */
export const SUPPORTED_ARG_TYPES = [
  'google.protobuf.Int32Value',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.FloatValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
  'taskscheduler.ListValue',
  'taskscheduler.MapValue',
  'google.protobuf.Value',
  'google.protobuf.Struct',
  'google.protobuf.ListValue',
] as const;

/** One of {@link SUPPORTED_ARG_TYPES}. */
export type ArgTypeName = (typeof SUPPORTED_ARG_TYPES)[number];

/**
 * Decodes a request's `Any` arguments (SPEC §2). Throws {@link InvalidArgumentsError} naming the first
 * bad argument by its 0-based path (`args[2].values[0]: …`); never throws anything else for any input.
 */
export function decodeArgs(args: readonly Any[], limits: DecodeLimits = DEFAULT_DECODE_LIMITS): ArgValue[] {
  const out = new Array<ArgValue>(args.length);
  for (let i = 0; i < args.length; i++) {
    try {
      out[i] = decodeAnyAt(args[i]!, 0, limits);
    } catch (err) {
      throw toInvalidArguments(err, `args[${i}]`);
    }
  }
  return out;
}

/** Decodes one `Any` at the top level; see {@link decodeArgs}. `path` names it in errors. */
export function decodeArg(any: Any, limits: DecodeLimits = DEFAULT_DECODE_LIMITS, path = 'arg'): ArgValue {
  try {
    return decodeAnyAt(any, 0, limits);
  } catch (err) {
    throw toInvalidArguments(err, path);
  }
}

/** The type name of a `type_url`: the part after its last `/` (any prefix is accepted). */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * A decode failure on its way up: containers prepend their path segment while it unwinds, so the
 * success path never builds path strings.
 */
class DecodeFailure {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {}
}

function toInvalidArguments(err: unknown, root: string): InvalidArgumentsError {
  if (err instanceof DecodeFailure) return new InvalidArgumentsError(`${root}${pathOf(err.segments.reverse())}: ${err.reason}`);
  // A stack overflow or anything unexpected from a codec still names the argument; never escapes raw.
  const reason = isStackOverflow(err) ? 'nested too deeply' : 'cannot be decoded';
  return new InvalidArgumentsError(`${root}: ${reason}`, { cause: err });
}

/** Segments kept at each end of a very deep path (beyond any sane depth limit: default 64). */
const PATH_ENDS = 64;

/** The path from the root; past 2 × {@link PATH_ENDS} levels the middle is elided, so the message stays small. */
function pathOf(segments: readonly string[]): string {
  if (segments.length <= 2 * PATH_ENDS) return segments.join('');
  return `${segments.slice(0, PATH_ENDS).join('')}…(${segments.length - 2 * PATH_ENDS} levels)…${segments.slice(-PATH_ENDS).join('')}`;
}

/**
 * True for V8's stack overflow (RangeError "Maximum call stack size exceeded"). No regex: near the stack's
 * edge a regex throws a SyntaxError of its own, which the next frame would then report as a decode error.
 * If this check itself overflows, the RangeError reaches the next frame up, which has room to check it.
 */
function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && err.message.includes('call stack');
}

function fail(reason: string): never {
  throw new DecodeFailure(reason);
}

/** Adds a path segment to a failure passing through a container (called only on the error path). */
function atSegment(err: unknown, segment: string): unknown {
  if (err instanceof DecodeFailure) err.segments.push(segment);
  return err;
}

/** `.fields["key"]`, the key JSON-quoted and cut at ~100 characters. */
function fieldSegment(key: string): string {
  return `.fields[${JSON.stringify(key.length > MAX_QUOTED_CHARS ? `${key.slice(0, MAX_QUOTED_CHARS)}…` : key)}]`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fail('string is not valid UTF-8');
  }
}

// Nested values are read straight off the wire with one BinaryReader per top-level argument, rather
// than through the generated codecs: those build an Any object, a Uint8Array view and a DataView per
// nested value and match each type name as a fresh string (bench scenario b: ~3× faster decoding).
// Field handling follows the generated codecs: last occurrence wins, unknown fields are skipped, a
// zero tag or an end-group tag ends the message.

const TAG_FIELD1_VARINT = (1 << 3) | 0;
const TAG_FIELD1_FIXED64 = (1 << 3) | 1;
const TAG_FIELD1_LEN = (1 << 3) | 2;
const TAG_FIELD1_FIXED32 = (1 << 3) | 5;
const TAG_FIELD2_LEN = (2 << 3) | 2;
const WIRE_END_GROUP = 4;
const SLASH = 0x2f;

const CODE_BY_NAME = new Map<string, number>(SUPPORTED_ARG_TYPES.map((name, code) => [name, code]));
const CODE_BY_URL = new Map<string, number>(SUPPORTED_ARG_TYPES.map((name, code) => [`type.googleapis.com/${name}`, code]));
const NAME_BYTES: readonly Uint8Array[] = SUPPORTED_ARG_TYPES.map((name) => Buffer.from(name, 'latin1'));
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function unsupportedType(name: string): never {
  return fail(`unsupported type '${clip(name)}' (supported: wrappers, taskscheduler.ListValue/MapValue, google.protobuf.Value/Struct/ListValue)`);
}

/** The code (index in {@link SUPPORTED_ARG_TYPES}) of a top-level Any's type_url. */
function codeOfUrl(typeUrl: string): number {
  if (typeUrl === '') fail('Any has an empty type_url');
  const code = CODE_BY_URL.get(typeUrl) ?? CODE_BY_NAME.get(typeNameOf(typeUrl));
  return code ?? unsupportedType(typeNameOf(typeUrl));
}

/**
 * The supported names of one length, told apart by one byte: the byte `fromEnd` places before the
 * name's end differs between all of them, and `codeByByte[byte]` is that name's code + 1 (0: none).
 */
interface NameGroup {
  readonly fromEnd: number;
  readonly codeByByte: Uint8Array;
}

function nameGroup(codes: readonly number[]): NameGroup {
  const length = NAME_BYTES[codes[0]!]!.length;
  for (let fromEnd = 0; fromEnd < length; fromEnd++) {
    const codeByByte = new Uint8Array(256);
    for (const code of codes) codeByByte[NAME_BYTES[code]![length - 1 - fromEnd]!] = code + 1;
    if (new Set(codes.map((code) => NAME_BYTES[code]![length - 1 - fromEnd])).size === codes.length) return { fromEnd, codeByByte };
  }
  throw new Error('two supported type names are equal');
}

/** {@link NameGroup}s by name length (an array indexed by length), and the lengths that have one. */
const NAME_GROUPS: readonly (NameGroup | undefined)[] = (() => {
  const byLength = new Map<number, number[]>();
  NAME_BYTES.forEach((name, code) => byLength.set(name.length, [...(byLength.get(name.length) ?? []), code]));
  const groups: (NameGroup | undefined)[] = [];
  for (const [length, codes] of byLength) groups[length] = nameGroup(codes);
  return groups;
})();
const NAME_LENGTHS: readonly number[] = NAME_GROUPS.flatMap((group, length) => (group ? [length] : []));

/**
 * The code of a nested Any's type_url, matched on its bytes `buf[start, end)` without making a string.
 * For each length a supported name has, the url must end in `/` + a name of that length (or be that
 * name): one byte check, instead of scanning the url for its last `/`; one more byte picks the only
 * candidate of that length, which is then compared in full.
 */
function codeOfUrlBytes(buf: Uint8Array, start: number, end: number): number {
  if (start === end) fail('Any has an empty type_url');
  for (let l = 0; l < NAME_LENGTHS.length; l++) {
    const length = NAME_LENGTHS[l]!;
    const nameStart = end - length;
    if (nameStart < start || (nameStart > start && buf[nameStart - 1] !== SLASH)) continue;
    const group = NAME_GROUPS[length]!;
    const code = group.codeByByte[buf[end - 1 - group.fromEnd]!]! - 1;
    if (code < 0) continue;
    const name = NAME_BYTES[code]!;
    let i = length - 1;
    while (i >= 0 && buf[nameStart + i] === name[i]) i--;
    if (i < 0) return code;
  }
  let nameStart = end;
  while (nameStart > start && buf[nameStart - 1] !== SLASH) nameStart--;
  return unsupportedType(lossyUtf8.decode(buf.subarray(nameStart, end)));
}

/** Skips a field the message does not know; false for a tag that ends the message (0 or end-group). */
function skipUnknown(reader: BinaryReader, tag: number): boolean {
  if (tag === 0 || (tag & 7) === WIRE_END_GROUP) return false;
  reader.skip(tag & 7);
  return true;
}

/** Reads a length prefix and returns where the delimited bytes end (bounds-checked). */
function delimitedEnd(reader: BinaryReader, end: number): number {
  const length = reader.uint32();
  const fieldEnd = reader.pos + length;
  if (fieldEnd > end || fieldEnd > reader.len) throw new RangeError('premature EOF');
  return fieldEnd;
}

/** A top-level argument. `depth` = number of containers enclosing it (0). */
function decodeAnyAt(any: Any, depth: number, limits: DecodeLimits): ArgValue {
  const code = codeOfUrl(any.typeUrl);
  const reader = new BinaryReader(any.value, decodeUtf8Strict);
  return readValue(code, reader, any.value, any.value.length, depth, limits);
}

/** A nested `Any` occupying the reader's bytes up to `end`; leaves the reader at `end`. */
function readAny(reader: BinaryReader, buf: Uint8Array, end: number, depth: number, limits: DecodeLimits): ArgValue {
  let urlStart = 0;
  let urlEnd = 0;
  let valueStart = 0;
  let valueEnd = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === TAG_FIELD1_LEN) {
      urlEnd = delimitedEnd(reader, end);
      urlStart = reader.pos;
      reader.pos = urlEnd;
    } else if (tag === TAG_FIELD2_LEN) {
      valueEnd = delimitedEnd(reader, end);
      valueStart = reader.pos;
      reader.pos = valueEnd;
    } else if (!skipUnknown(reader, tag)) {
      break;
    }
  }
  if (reader.pos > end) throw new RangeError('premature EOF');
  const code = codeOfUrlBytes(buf, urlStart, urlEnd);
  reader.pos = valueStart;
  const value = readValue(code, reader, buf, valueEnd, depth, limits);
  reader.pos = end;
  return value;
}

/** A message of type `code` in the reader's bytes up to `end`. Errors name the type. */
function readValue(code: number, reader: BinaryReader, buf: Uint8Array, end: number, depth: number, limits: DecodeLimits): ArgValue {
  const name = SUPPORTED_ARG_TYPES[code]!;
  try {
    switch (name) {
      case 'taskscheduler.ListValue':
        return readList(reader, buf, end, enter(depth, limits), limits);
      case 'taskscheduler.MapValue':
        return readMap(reader, buf, end, enter(depth, limits), limits);
      case 'google.protobuf.Value':
        return readJsonValue(reader, buf, end - reader.pos, depth, limits);
      case 'google.protobuf.Struct':
        return readJsonStruct(reader, buf, end - reader.pos, enter(depth, limits), limits);
      case 'google.protobuf.ListValue':
        return readJsonList(reader, buf, end - reader.pos, enter(depth, limits), limits);
      default:
        return readWrapper(name, reader, buf, end, limits);
    }
  } catch (err) {
    if (err instanceof DecodeFailure) throw err;
    if (isStackOverflow(err)) fail('nested too deeply');
    return fail(`cannot decode ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

type WrapperName = Exclude<ArgTypeName, 'taskscheduler.ListValue' | 'taskscheduler.MapValue' | 'google.protobuf.Value' | 'google.protobuf.Struct' | 'google.protobuf.ListValue'>;

/** A google.protobuf wrapper: field 1 holds the value; absent means the type's zero. */
function readWrapper(name: WrapperName, reader: BinaryReader, buf: Uint8Array, end: number, limits: DecodeLimits): ArgValue {
  const fieldTag = fieldTagOf(name);
  let value: ArgValue | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === fieldTag) value = readWrapped(name, reader, buf, limits);
    else if (!skipUnknown(reader, tag)) break;
  }
  if (reader.pos > end) throw new RangeError('premature EOF');
  return value ?? zeroOf(name);
}

function fieldTagOf(name: WrapperName): number {
  switch (name) {
    case 'google.protobuf.FloatValue':
      return TAG_FIELD1_FIXED32;
    case 'google.protobuf.DoubleValue':
      return TAG_FIELD1_FIXED64;
    case 'google.protobuf.StringValue':
    case 'google.protobuf.BytesValue':
      return TAG_FIELD1_LEN;
    default:
      return TAG_FIELD1_VARINT;
  }
}

function zeroOf(name: WrapperName): ArgValue {
  switch (name) {
    case 'google.protobuf.Int32Value':
      return { kind: 'int32', value: 0 };
    case 'google.protobuf.Int64Value':
      return { kind: 'int64', value: Long.ZERO };
    case 'google.protobuf.UInt32Value':
      return { kind: 'uint32', value: 0 };
    case 'google.protobuf.UInt64Value':
      return { kind: 'uint64', value: Long.UZERO };
    case 'google.protobuf.FloatValue':
      return { kind: 'float', value: 0 };
    case 'google.protobuf.DoubleValue':
      return { kind: 'double', value: 0 };
    case 'google.protobuf.BoolValue':
      return { kind: 'bool', value: false };
    case 'google.protobuf.StringValue':
      return { kind: 'string', value: '' };
    case 'google.protobuf.BytesValue':
      return { kind: 'bytes', value: new Uint8Array(0) };
    default:
      return assertNever(name);
  }
}

/** The value of field 1, the reader just past its tag. */
function readWrapped(name: WrapperName, reader: BinaryReader, buf: Uint8Array, limits: DecodeLimits): ArgValue {
  switch (name) {
    case 'google.protobuf.Int32Value':
      return { kind: 'int32', value: reader.int32() };
    case 'google.protobuf.Int64Value':
      return { kind: 'int64', value: Long.fromString(reader.int64().toString()) };
    case 'google.protobuf.UInt32Value':
      return { kind: 'uint32', value: reader.uint32() };
    case 'google.protobuf.UInt64Value':
      return { kind: 'uint64', value: Long.fromString(reader.uint64().toString(), true) };
    case 'google.protobuf.FloatValue':
      return { kind: 'float', value: reader.float() };
    case 'google.protobuf.DoubleValue':
      return { kind: 'double', value: reader.double() };
    case 'google.protobuf.BoolValue':
      return { kind: 'bool', value: reader.bool() };
    case 'google.protobuf.StringValue':
      // Strict UTF-8: SPEC §2 rejects bad UTF-8 rather than replacing it. Sized on its bytes first.
      return { kind: 'string', value: readString(reader, buf, 'string', limits) };
    case 'google.protobuf.BytesValue':
      return { kind: 'bytes', value: sizedBytes(reader, 'bytes', limits) };
    default:
      return assertNever(name);
  }
}

/** The body of a taskscheduler.ListValue; `depth` already counts the list itself. */
function readList(reader: BinaryReader, buf: Uint8Array, end: number, depth: number, limits: DecodeLimits): ArgValue {
  const out: ArgValue[] = [];
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === TAG_FIELD1_LEN) {
      const itemEnd = delimitedEnd(reader, end);
      try {
        out.push(readAny(reader, buf, itemEnd, depth, limits));
      } catch (err) {
        throw atSegment(err, `.values[${out.length}]`);
      }
    } else if (!skipUnknown(reader, tag)) {
      break;
    }
  }
  if (reader.pos > end) throw new RangeError('premature EOF');
  return { kind: 'list', value: out };
}

/** The body of a taskscheduler.MapValue; `depth` already counts the map itself. */
function readMap(reader: BinaryReader, buf: Uint8Array, end: number, depth: number, limits: DecodeLimits): ArgValue {
  // One pass, each value decoded as its entry is read (no side table of spans: bench b). A repeated key
  // keeps its first place and its last value (Map#set). As with the generated codec, which builds the
  // whole map before anything looks at an Any, a value that is overwritten later must not fail the
  // map: such a failure is dropped when the key comes again with a value (looked up on the error path only).
  const out = new Map<string, ArgValue>();
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag !== TAG_FIELD1_LEN) {
      if (!skipUnknown(reader, tag)) break;
      continue;
    }
    const entryEnd = delimitedEnd(reader, end);
    let key = '';
    let valueStart = -1;
    let valueEnd = -1;
    while (reader.pos < entryEnd) {
      const entryTag = reader.uint32();
      if (entryTag === TAG_FIELD1_LEN) {
        key = readString(reader, buf, 'key', limits);
      } else if (entryTag === TAG_FIELD2_LEN) {
        valueEnd = delimitedEnd(reader, entryEnd);
        valueStart = reader.pos;
        reader.pos = valueEnd;
      } else if (!skipUnknown(reader, entryTag)) {
        break;
      }
    }
    if (reader.pos > entryEnd) throw new RangeError('premature EOF');
    // An entry without a value is dropped, as the generated codec does.
    if (valueStart >= 0) {
      reader.pos = valueStart;
      let value: ArgValue;
      try {
        value = readAny(reader, buf, valueEnd, depth, limits);
      } catch (err) {
        if (!keyComesAgain(buf, entryEnd, end, key)) throw atSegment(err, fieldSegment(key));
        value = OVERWRITTEN; // holds the key's first place until its last value replaces it
      }
      out.set(key, value);
      if (out.size > limits.maxMapEntries) failEntries(limits);
    }
    reader.pos = entryEnd;
  }
  if (reader.pos > end) throw new RangeError('premature EOF');
  reader.pos = end;
  return { kind: 'map', value: out };
}

/** Placeholder for a map value that failed to decode and is overwritten by a later entry. */
const OVERWRITTEN: ArgValue = Object.freeze({ kind: 'null', value: null });

/**
 * Whether a MapValue entry after `from` (up to `end`) has key `key` and a value, i.e. overwrites it.
 * Error path only; malformed framing answers false (the caller then reports its own failure).
 */
function keyComesAgain(buf: Uint8Array, from: number, end: number, key: string): boolean {
  const reader = new BinaryReader(buf, decodeUtf8Strict);
  reader.pos = from;
  try {
    while (reader.pos < end) {
      const tag = reader.uint32();
      if (tag !== TAG_FIELD1_LEN) {
        if (!skipUnknown(reader, tag)) return false;
        continue;
      }
      const entryEnd = delimitedEnd(reader, end);
      let entryKey = '';
      let hasValue = false;
      while (reader.pos < entryEnd) {
        const entryTag = reader.uint32();
        if (entryTag === TAG_FIELD1_LEN) entryKey = reader.string();
        else if (entryTag === TAG_FIELD2_LEN) {
          reader.pos = delimitedEnd(reader, entryEnd);
          hasValue = true;
        } else if (!skipUnknown(reader, entryTag)) break;
      }
      if (hasValue && entryKey === key) return true;
      reader.pos = entryEnd;
    }
  } catch {
    // Malformed framing further on: not an overwrite.
  }
  return false;
}

/** Depth of a container opened at `depth`; fails past the limit. */
function enter(depth: number, limits: DecodeLimits): number {
  const inner = depth + 1;
  if (inner > limits.maxDepth) fail(`nesting deeper than the limit of ${limits.maxDepth} (--max-arg-depth)`);
  return inner;
}

/** A length-delimited UTF-8 string (strict), refused past `--max-string-bytes`; `buf` is the reader's bytes. */
function readString(reader: BinaryReader, buf: Uint8Array, what: string, limits: DecodeLimits): string {
  const length = reader.uint32();
  const start = reader.pos;
  const end = start + length;
  if (end > reader.len) throw new RangeError('premature EOF');
  if (length > limits.maxStringBytes) failSize(what, length, limits);
  reader.pos = end;
  return shortAscii(buf, start, end) ?? decodeUtf8Strict(buf.subarray(start, end));
}

/** A length-delimited field's bytes (a view, no copy), refused past `--max-string-bytes`. */
function sizedBytes(reader: BinaryReader, what: string, limits: DecodeLimits): Uint8Array {
  const bytes = reader.bytes();
  if (bytes.length > limits.maxStringBytes) failSize(what, bytes.length, limits);
  return bytes;
}

function failSize(what: string, size: number, limits: DecodeLimits): never {
  return fail(`${what} of ${size} bytes is over the limit of ${limits.maxStringBytes} bytes (--max-string-bytes)`);
}

function failEntries(limits: DecodeLimits): never {
  return fail(`map has more than the limit of ${limits.maxMapEntries} entries (--max-map-entries)`);
}

// google.protobuf.Value / Struct / ListValue are walked on the wire rather than through the generated
// codecs: those recurse without our depth limit (and cap at 100 frames, below 64 JSON levels) and unwrap
// Structs into plain objects, where a "__proto__" key would be lost.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/** Reads a google.protobuf.Value occupying `length` bytes at the reader's position. */
function readJsonValue(reader: BinaryReader, buf: Uint8Array, length: number, depth: number, limits: DecodeLimits): ArgValue {
  const end = reader.pos + length;
  let result: ArgValue | undefined;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WIRE_VARINT) {
      reader.int32();
      result = { kind: 'null', value: null };
    } else if (field === 2 && wireType === WIRE_FIXED64) {
      result = { kind: 'double', value: reader.double() };
    } else if (field === 3 && wireType === WIRE_LEN) {
      result = { kind: 'string', value: readString(reader, buf, 'string', limits) };
    } else if (field === 4 && wireType === WIRE_VARINT) {
      result = { kind: 'bool', value: reader.bool() };
    } else if (field === 5 && wireType === WIRE_LEN) {
      result = readJsonStruct(reader, buf, reader.uint32(), enter(depth, limits), limits);
    } else if (field === 6 && wireType === WIRE_LEN) {
      result = readJsonList(reader, buf, reader.uint32(), enter(depth, limits), limits);
    } else {
      reader.skip(wireType, field);
    }
  }
  checkEnd(reader, end);
  return result ?? fail('google.protobuf.Value has no kind set');
}

/** Reads the body of a google.protobuf.Struct; `depth` already counts the struct itself. */
function readJsonStruct(reader: BinaryReader, buf: Uint8Array, length: number, depth: number, limits: DecodeLimits): ArgValue {
  const end = reader.pos + length;
  const out = new Map<string, ArgValue>();
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field !== 1 || wireType !== WIRE_LEN) {
      reader.skip(wireType, field);
      continue;
    }
    // Read the length first: `reader.pos + reader.uint32()` would take the position before the varint.
    const entryLength = reader.uint32();
    const entryEnd = reader.pos + entryLength;
    let key = '';
    let value: ArgValue | undefined;
    while (reader.pos < entryEnd) {
      const [entryField, entryWire] = reader.tag();
      if (entryField === 1 && entryWire === WIRE_LEN) {
        key = readString(reader, buf, 'key', limits);
      } else if (entryField === 2 && entryWire === WIRE_LEN) {
        const valueLength = reader.uint32();
        try {
          value = readJsonValue(reader, buf, valueLength, depth, limits);
        } catch (err) {
          throw atSegment(err, fieldSegment(key));
        }
      } else {
        reader.skip(entryWire, entryField);
      }
    }
    checkEnd(reader, entryEnd);
    if (value === undefined) throw atSegment(new DecodeFailure('struct field has no value'), fieldSegment(key));
    out.set(key, value);
    if (out.size > limits.maxMapEntries) failEntries(limits);
  }
  checkEnd(reader, end);
  return { kind: 'map', value: out };
}

/** Reads the body of a google.protobuf.ListValue; `depth` already counts the list itself. */
function readJsonList(reader: BinaryReader, buf: Uint8Array, length: number, depth: number, limits: DecodeLimits): ArgValue {
  const end = reader.pos + length;
  const out: ArgValue[] = [];
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field !== 1 || wireType !== WIRE_LEN) {
      reader.skip(wireType, field);
      continue;
    }
    const valueLength = reader.uint32();
    try {
      out.push(readJsonValue(reader, buf, valueLength, depth, limits));
    } catch (err) {
      throw atSegment(err, `.values[${out.length}]`);
    }
  }
  checkEnd(reader, end);
  return { kind: 'list', value: out };
}

function checkEnd(reader: BinaryReader, end: number): void {
  if (reader.pos !== end || end > reader.len) fail('truncated or malformed message');
}

function assertNever(value: never): never {
  throw new Error(`unhandled argument type: ${String(value)}`);
}
