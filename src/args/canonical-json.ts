import type { ArgValue } from './arg-value';
import { formatFloat32 } from './format-float';

/**
 * Canonical JSON of decoded arguments (SPEC §5b), used by the `echo` task and as the identity of a
 * request's arguments for idempotency: a JSON array with one single-key object per argument, 64-bit
 * integers as decimal strings, floats as their shortest float32 decimal, NaN/±Infinity as strings,
 * bytes as standard base64, map keys sorted by UTF-16 code units, no spaces.
 */
export function canonicalJson(args: readonly ArgValue[]): string {
  let out = '[';
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ',';
    out += canonicalArg(args[i]!);
  }
  return out + ']';
}

/** Canonical JSON of one argument, e.g. `{"int32":5}`. */
export function canonicalArg(value: ArgValue): string {
  switch (value.kind) {
    case 'int32':
    case 'uint32':
      return `{"${value.kind}":${value.value}}`;
    case 'int64':
    case 'uint64':
      return `{"${value.kind}":"${value.value.toString()}"}`;
    case 'float':
      return `{"float":${jsonNumber(value.value, formatFloat32)}}`;
    case 'double':
      return `{"double":${jsonNumber(value.value, String)}}`;
    case 'bool':
      return value.value ? '{"bool":true}' : '{"bool":false}';
    case 'string':
      return `{"string":${JSON.stringify(value.value)}}`;
    case 'bytes':
      return `{"bytes":"${Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength).toString('base64')}"}`;
    case 'list':
      return `{"list":${canonicalJson(value.value)}}`;
    case 'map': {
      // Default sort compares UTF-16 code units, as SPEC §5b asks.
      const keys = [...value.value.keys()].sort();
      let out = '{"map":{';
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out += ',';
        out += `${JSON.stringify(keys[i])}:${canonicalArg(value.value.get(keys[i]!)!)}`;
      }
      return out + '}}';
    }
    case 'null':
      return '{"null":null}';
    default:
      return assertNever(value);
  }
}

function jsonNumber(n: number, format: (n: number) => string): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"Infinity"';
  if (n === -Infinity) return '"-Infinity"';
  return format(n);
}

function assertNever(value: never): never {
  throw new Error(`unhandled ArgValue kind: ${JSON.stringify(value)}`);
}
