import Long from 'long';
import type { ArgValue } from './arg-value';

/**
 * The decoded arguments of their canonical JSON (SPEC §5b; what {@link canonicalJson} writes): the
 * inverse of `canonicalJson`, so a durable store can keep a task's arguments as that text and run the
 * task again after a restart. Exact for every kind — 64-bit integers come back as the same `Long`s,
 * floats as the same float32 values, NaN and ±Infinity from their strings — except that a negative
 * zero float or double reads back as zero (JSON writes both as `0`) and map entries come back in
 * JavaScript's property order (maps are unordered in protobuf too).
 *
 * Throws a TypeError naming the path on text `canonicalJson` cannot have written: the text comes from
 * the server's own store, so that means a corrupt record.
 */
export function parseCanonicalJson(json: string): ArgValue[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new TypeError('canonical JSON of arguments: expected an array');
  return parsed.map((item, i) => toArg(item, `args[${i}]`));
}

function toArg(item: unknown, path: string): ArgValue {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(path, 'expected an object with one kind key');
  const keys = Object.keys(item);
  if (keys.length !== 1) throw bad(path, 'expected exactly one kind key');
  const kind = keys[0]!;
  const value: unknown = (item as Record<string, unknown>)[kind];
  switch (kind) {
    case 'int32':
    case 'uint32':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad(path, `${kind} is not an integer`);
      return { kind, value };
    case 'int64':
    case 'uint64':
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw bad(path, `${kind} is not a decimal string`);
      return { kind, value: Long.fromString(value, kind === 'uint64') };
    case 'float':
      return { kind, value: Math.fround(number(value, path)) };
    case 'double':
      return { kind, value: number(value, path) };
    case 'bool':
      if (typeof value !== 'boolean') throw bad(path, 'bool is not a boolean');
      return { kind, value };
    case 'string':
      if (typeof value !== 'string') throw bad(path, 'string is not a string');
      return { kind, value };
    case 'bytes': {
      if (typeof value !== 'string') throw bad(path, 'bytes is not a base64 string');
      const buf = Buffer.from(value, 'base64');
      return { kind, value: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
    }
    case 'list':
      if (!Array.isArray(value)) throw bad(path, 'list is not an array');
      return { kind, value: value.map((entry, i) => toArg(entry, `${path}.values[${i}]`)) };
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(path, 'map is not an object');
      const map = new Map<string, ArgValue>();
      for (const key of Object.keys(value)) map.set(key, toArg((value as Record<string, unknown>)[key], `${path}.fields[${JSON.stringify(key)}]`));
      return { kind, value: map };
    }
    case 'null':
      if (value !== null) throw bad(path, 'null is not null');
      return { kind, value: null };
    default:
      throw bad(path, `unknown kind ${JSON.stringify(kind.slice(0, 40))}`);
  }
}

function number(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw bad(path, 'not a number');
}

function bad(path: string, why: string): TypeError {
  return new TypeError(`canonical JSON of arguments: ${path}: ${why}`);
}
