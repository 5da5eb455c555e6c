import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { Any } from '../../generated/google/protobuf/any';
import {
  BoolValue,
  BytesValue,
  DoubleValue,
  FloatValue,
  Int32Value,
  Int64Value,
  StringValue,
  UInt32Value,
  UInt64Value,
} from '../../generated/google/protobuf/wrappers';
import { ListValue, MapValue } from '../../generated/taskscheduler/task_scheduler';
import { InvalidArgumentsError, MAX_QUOTED_CHARS, clip } from '../errors';
import type { ArgValue } from './arg-value';

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

const SUPPORTED = new Set<string>(SUPPORTED_ARG_TYPES);

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

/** `depth` = number of containers enclosing this value. */
function decodeAnyAt(any: Any, depth: number, limits: DecodeLimits): ArgValue {
  const typeUrl = any.typeUrl;
  if (typeUrl === '') fail('Any has an empty type_url');
  const name = typeNameOf(typeUrl);
  if (!SUPPORTED.has(name)) {
    fail(`unsupported type '${clip(name)}' (supported: wrappers, taskscheduler.ListValue/MapValue, google.protobuf.Value/Struct/ListValue)`);
  }
  return decodeKnown(name as ArgTypeName, any.value, depth, limits);
}

function decodeKnown(name: ArgTypeName, bytes: Uint8Array, depth: number, limits: DecodeLimits): ArgValue {
  try {
    switch (name) {
      case 'google.protobuf.Int32Value':
        return { kind: 'int32', value: Int32Value.decode(bytes).value };
      case 'google.protobuf.Int64Value':
        return { kind: 'int64', value: Int64Value.decode(bytes).value };
      case 'google.protobuf.UInt32Value':
        return { kind: 'uint32', value: UInt32Value.decode(bytes).value };
      case 'google.protobuf.UInt64Value':
        return { kind: 'uint64', value: UInt64Value.decode(bytes).value };
      case 'google.protobuf.FloatValue':
        return { kind: 'float', value: FloatValue.decode(bytes).value };
      case 'google.protobuf.DoubleValue':
        return { kind: 'double', value: DoubleValue.decode(bytes).value };
      case 'google.protobuf.BoolValue':
        return { kind: 'bool', value: BoolValue.decode(bytes).value };
      case 'google.protobuf.StringValue': {
        // The generated reader replaces bad UTF-8 with U+FFFD; SPEC §2 rejects it instead.
        const value = StringValue.decode(new BinaryReader(bytes, decodeUtf8Strict)).value;
        // The wrapper's size bounds the string's: the exact count only runs for wrappers over the limit.
        if (bytes.length > limits.maxStringBytes) checkStringSize(value, limits);
        return { kind: 'string', value };
      }
      case 'google.protobuf.BytesValue': {
        const value = BytesValue.decode(bytes).value;
        if (value.length > limits.maxStringBytes) failSize('bytes', value.length, limits);
        return { kind: 'bytes', value };
      }
      case 'taskscheduler.ListValue': {
        const inner = enter(depth, limits);
        const values = ListValue.decode(bytes).values;
        const out = new Array<ArgValue>(values.length);
        for (let i = 0; i < values.length; i++) {
          try {
            out[i] = decodeAnyAt(values[i]!, inner, limits);
          } catch (err) {
            throw atSegment(err, `.values[${i}]`);
          }
        }
        return { kind: 'list', value: out };
      }
      case 'taskscheduler.MapValue': {
        const inner = enter(depth, limits);
        const out = new Map<string, ArgValue>();
        const fields = MapValue.decode(new BinaryReader(bytes, decodeUtf8Strict)).fields;
        if (fields.size > limits.maxMapEntries) failEntries(limits);
        for (const [key, value] of fields) {
          try {
            if (key.length * 3 > limits.maxStringBytes) checkStringSize(key, limits, 'key');
            out.set(key, decodeAnyAt(value, inner, limits));
          } catch (err) {
            throw atSegment(err, fieldSegment(key));
          }
        }
        return { kind: 'map', value: out };
      }
      case 'google.protobuf.Value':
        return readJsonValue(new BinaryReader(bytes), bytes.length, depth, limits);
      case 'google.protobuf.Struct': {
        const reader = new BinaryReader(bytes);
        return readJsonStruct(reader, bytes.length, enter(depth, limits), limits);
      }
      case 'google.protobuf.ListValue': {
        const reader = new BinaryReader(bytes);
        return readJsonList(reader, bytes.length, enter(depth, limits), limits);
      }
      default:
        return assertNever(name);
    }
  } catch (err) {
    if (err instanceof DecodeFailure) throw err;
    if (isStackOverflow(err)) fail('nested too deeply');
    return fail(`cannot decode ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Depth of a container opened at `depth`; fails past the limit. */
function enter(depth: number, limits: DecodeLimits): number {
  const inner = depth + 1;
  if (inner > limits.maxDepth) fail(`nesting deeper than the limit of ${limits.maxDepth} (--max-arg-depth)`);
  return inner;
}

/** Fails when `value` is over the string limit in UTF-8 bytes (called only when it may be). */
function checkStringSize(value: string, limits: DecodeLimits, what = 'string'): void {
  const size = Buffer.byteLength(value, 'utf8');
  if (size > limits.maxStringBytes) failSize(what, size, limits);
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
function readJsonValue(reader: BinaryReader, length: number, depth: number, limits: DecodeLimits): ArgValue {
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
      const raw = reader.bytes();
      if (raw.length > limits.maxStringBytes) failSize('string', raw.length, limits);
      result = { kind: 'string', value: decodeUtf8Strict(raw) };
    } else if (field === 4 && wireType === WIRE_VARINT) {
      result = { kind: 'bool', value: reader.bool() };
    } else if (field === 5 && wireType === WIRE_LEN) {
      result = readJsonStruct(reader, reader.uint32(), enter(depth, limits), limits);
    } else if (field === 6 && wireType === WIRE_LEN) {
      result = readJsonList(reader, reader.uint32(), enter(depth, limits), limits);
    } else {
      reader.skip(wireType, field);
    }
  }
  checkEnd(reader, end);
  return result ?? fail('google.protobuf.Value has no kind set');
}

/** Reads the body of a google.protobuf.Struct; `depth` already counts the struct itself. */
function readJsonStruct(reader: BinaryReader, length: number, depth: number, limits: DecodeLimits): ArgValue {
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
        const raw = reader.bytes();
        if (raw.length > limits.maxStringBytes) failSize('key', raw.length, limits);
        key = decodeUtf8Strict(raw);
      } else if (entryField === 2 && entryWire === WIRE_LEN) {
        const valueLength = reader.uint32();
        try {
          value = readJsonValue(reader, valueLength, depth, limits);
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
function readJsonList(reader: BinaryReader, length: number, depth: number, limits: DecodeLimits): ArgValue {
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
      out.push(readJsonValue(reader, valueLength, depth, limits));
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
