import type { ArgValue } from './arg-value';
import { formatFloat32 } from './format-float';

/**
 * Canonical JSON of decoded arguments (SPEC §5b), used by the `echo` task and as the identity of a
 * request's arguments for idempotency: a JSON array with one single-key object per argument, 64-bit
 * integers as decimal strings, floats as their shortest float32 decimal, NaN/±Infinity as strings,
 * bytes as standard base64, map keys sorted by UTF-16 code units, no spaces.
 */
export function canonicalJson(args: readonly ArgValue[]): string {
  // Built as parts and joined once: `+=` would leave a rope of small strings, and this text is kept
  // (as the idempotency digest, and as echo's result) for every stored task.
  const parts: string[] = [];
  writeList(args, parts);
  return parts.join('');
}

/** Canonical JSON of one argument, e.g. `{"int32":5}`. */
export function canonicalArg(value: ArgValue): string {
  const parts: string[] = [];
  writeArg(value, parts);
  return parts.join('');
}

function writeList(values: readonly ArgValue[], parts: string[]): void {
  parts.push('[');
  for (let i = 0; i < values.length; i++) {
    if (i > 0) parts.push(',');
    writeArg(values[i]!, parts);
  }
  parts.push(']');
}

function writeArg(value: ArgValue, parts: string[]): void {
  switch (value.kind) {
    case 'int32':
    case 'uint32':
      parts.push('{"', value.kind, '":', String(value.value), '}');
      return;
    case 'int64':
    case 'uint64':
      parts.push('{"', value.kind, '":"', value.value.toString(), '"}');
      return;
    case 'float':
      parts.push('{"float":', jsonNumber(value.value, formatFloat32), '}');
      return;
    case 'double':
      parts.push('{"double":', jsonNumber(value.value, String), '}');
      return;
    case 'bool':
      parts.push(value.value ? '{"bool":true}' : '{"bool":false}');
      return;
    case 'string':
      parts.push('{"string":', JSON.stringify(value.value), '}');
      return;
    case 'bytes':
      parts.push('{"bytes":"', Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength).toString('base64'), '"}');
      return;
    case 'list':
      parts.push('{"list":');
      writeList(value.value, parts);
      parts.push('}');
      return;
    case 'map': {
      // Default sort compares UTF-16 code units, as SPEC §5b asks.
      const keys = [...value.value.keys()].sort();
      parts.push('{"map":{');
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) parts.push(',');
        parts.push(JSON.stringify(keys[i]), ':');
        writeArg(value.value.get(keys[i]!)!, parts);
      }
      parts.push('}}');
      return;
    }
    case 'null':
      parts.push('{"null":null}');
      return;
    default:
      assertNever(value);
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
