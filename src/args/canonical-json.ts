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

// Each scalar is pushed as one string (fewer, larger parts: bench b), and the JSON text is still made
// flat by the one join at the end.
function writeArg(value: ArgValue, parts: string[]): void {
  switch (value.kind) {
    case 'int32':
      parts.push(`{"int32":${value.value}}`);
      return;
    case 'uint32':
      parts.push(`{"uint32":${value.value}}`);
      return;
    case 'int64':
      parts.push(`{"int64":"${value.value.toString()}"}`);
      return;
    case 'uint64':
      parts.push(`{"uint64":"${value.value.toString()}"}`);
      return;
    case 'float':
      parts.push(`{"float":${jsonNumber(value.value, formatFloat32)}}`);
      return;
    case 'double':
      parts.push(`{"double":${jsonNumber(value.value, String)}}`);
      return;
    case 'bool':
      parts.push(value.value ? '{"bool":true}' : '{"bool":false}');
      return;
    case 'string':
      parts.push(`{"string":${quote(value.value)}}`);
      return;
    case 'bytes':
      parts.push(`{"bytes":"${Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength).toString('base64')}"}`);
      return;
    case 'list':
      parts.push('{"list":');
      writeList(value.value, parts);
      parts.push('}');
      return;
    case 'map':
      writeMap(value.value, parts);
      return;
    case 'null':
      parts.push('{"null":null}');
      return;
    default:
      assertNever(value);
  }
}

function writeMap(map: ReadonlyMap<string, ArgValue>, parts: string[]): void {
  if (map.size === 0) {
    parts.push('{"map":{}}');
    return;
  }
  if (map.size === 1) {
    // Nothing to sort: no key array to build.
    map.forEach((entry, key) => {
      parts.push(`{"map":{${quote(key)}:`);
      writeArg(entry, parts);
    });
    parts.push('}}');
    return;
  }
  const keys = sortKeys([...map.keys()]);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    parts.push(`${i === 0 ? '{"map":{' : ','}${quote(key)}:`);
    writeArg(map.get(key)!, parts);
  }
  parts.push('}}');
}

/** Up to this many keys are sorted by insertion: Array#sort allocates work space (~700 B per call). */
const INSERTION_SORT_KEYS = 16;

/** Sorts in place by UTF-16 code units (SPEC §5b), as `Array#sort` without a comparator and `<` do. */
function sortKeys(keys: string[]): string[] {
  if (keys.length > INSERTION_SORT_KEYS) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** Longest string the quoting fast path scans; longer ones go straight to JSON.stringify. */
const QUOTE_SCAN_CHARS = 32;

/**
 * A JSON string literal, exactly as `JSON.stringify(text)`: short text with nothing to escape (no
 * control character, quote, backslash or surrogate) is wrapped in quotes without the call (bench b).
 */
function quote(text: string): string {
  if (text.length > QUOTE_SCAN_CHARS) return JSON.stringify(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
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
