import Long from 'long';
import { Any } from '../../generated/google/protobuf/any';
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
import { arg, type ArgValue } from './arg-value';

/** The `type.googleapis.com/` prefix protobuf uses for `Any.type_url`. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/**
 * Packs an {@link ArgValue} into an `Any` (the reverse of `decodeArg`): wrappers for scalars,
 * `taskscheduler.ListValue`/`MapValue` for containers, `google.protobuf.Value` (null) for null.
 */
export function encodeArg(value: ArgValue): Any {
  switch (value.kind) {
    case 'int32':
      return pack('google.protobuf.Int32Value', Int32Value.encode({ value: value.value }).finish());
    case 'int64':
      return pack('google.protobuf.Int64Value', Int64Value.encode({ value: value.value }).finish());
    case 'uint32':
      return pack('google.protobuf.UInt32Value', UInt32Value.encode({ value: value.value }).finish());
    case 'uint64':
      return pack('google.protobuf.UInt64Value', UInt64Value.encode({ value: value.value }).finish());
    case 'float':
      return pack('google.protobuf.FloatValue', FloatValue.encode({ value: value.value }).finish());
    case 'double':
      return pack('google.protobuf.DoubleValue', DoubleValue.encode({ value: value.value }).finish());
    case 'bool':
      return pack('google.protobuf.BoolValue', BoolValue.encode({ value: value.value }).finish());
    case 'string':
      return pack('google.protobuf.StringValue', StringValue.encode({ value: value.value }).finish());
    case 'bytes':
      return pack('google.protobuf.BytesValue', BytesValue.encode({ value: value.value }).finish());
    case 'list':
      return pack('taskscheduler.ListValue', ListValue.encode({ values: value.value.map(encodeArg) }).finish());
    case 'map': {
      const fields = new Map<string, Any>();
      for (const [key, item] of value.value) fields.set(key, encodeArg(item));
      return pack('taskscheduler.MapValue', MapValue.encode({ fields }).finish());
    }
    case 'null':
      // google.protobuf.Value{null_value: NULL_VALUE}: field 1, varint 0.
      return pack('google.protobuf.Value', Uint8Array.of(0x08, 0x00));
    default:
      return assertNever(value);
  }
}

/** Packs several arguments; see {@link encodeArg}. */
export function encodeArgs(values: readonly ArgValue[]): Any[] {
  return values.map(encodeArg);
}

/** A JS value that {@link toArgValue} can map to an {@link ArgValue} without an explicit kind. */
export type JsArg =
  | ArgValue
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | Long
  | null
  | readonly JsArg[]
  | ReadonlyMap<string, JsArg>
  | { readonly [key: string]: JsArg };

/**
 * Maps a plain JS value to an {@link ArgValue}: integers that fit int32 → int32, other safe integers →
 * int64 (bigint/Long too; unsigned Longs → uint64), other numbers (incl. unsafe integers) → double, strings, booleans, bytes, `null`,
 * arrays → list, Maps and plain objects → map. An ArgValue passes through unchanged.
 */
export function toArgValue(value: JsArg): ArgValue {
  if (value === null) return arg.null();
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff
        ? arg.int32(value)
        : Number.isSafeInteger(value)
          ? arg.int64(value)
          : arg.double(value);
    case 'bigint':
      return arg.int64(value);
    case 'boolean':
      return arg.bool(value);
    case 'string':
      return arg.string(value);
    default:
      break;
  }
  if (value instanceof Uint8Array) return arg.bytes(value);
  if (Long.isLong(value)) return value.unsigned ? arg.uint64(value) : arg.int64(value);
  if (Array.isArray(value)) return arg.list(value.map(toArgValue));
  if (value instanceof Map) {
    const out = new Map<string, ArgValue>();
    for (const [key, item] of value as ReadonlyMap<string, JsArg>) out.set(key, toArgValue(item));
    return arg.map(out);
  }
  if (isArgValue(value)) return value;
  const out = new Map<string, ArgValue>();
  for (const [key, item] of Object.entries(value as { readonly [key: string]: JsArg })) out.set(key, toArgValue(item));
  return arg.map(out);
}

/** Packs a plain JS value (or an ArgValue) into an `Any`; see {@link toArgValue}. */
export function toAny(value: JsArg): Any {
  return encodeArg(toArgValue(value));
}

const KINDS = new Set(['int32', 'int64', 'uint32', 'uint64', 'float', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null']);
function isArgValue(value: object): value is ArgValue {
  const keys = Object.keys(value);
  return keys.length === 2 && 'kind' in value && 'value' in value && KINDS.has(String((value as { kind: unknown }).kind));
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: TYPE_URL_PREFIX + typeName, value };
}

function assertNever(value: never): never {
  throw new Error(`unhandled ArgValue kind: ${JSON.stringify(value)}`);
}
