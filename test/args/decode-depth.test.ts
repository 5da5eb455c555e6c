import type { Any } from '../../generated/google/protobuf/any';
import { ListValue as JsonListValue, Value } from '../../generated/google/protobuf/struct';
import { canonicalJson } from '../../src/args/canonical-json';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, decodeArgs } from '../../src/args/decode-arg';
import { encodeArg } from '../../src/args/encode-arg';
import { arg, type ArgValue } from '../../src/args/arg-value';
import { InvalidArgumentsError } from '../../src/errors';
import { type ContainerKind, any, anyBytes, bytes, lenField, nested, segment, tsList } from './wire';

/** The error decodeArgs throws; fails on success and on any other exception type. */
function rejection(args: readonly Any[], limits?: DecodeLimits): InvalidArgumentsError {
  let thrown: unknown;
  try {
    decodeArgs(args, limits);
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error('decodeArgs accepted the arguments');
  if (!(thrown instanceof InvalidArgumentsError)) throw new Error(`expected InvalidArgumentsError, got ${String(thrown)}`);
  return thrown;
}

/** Depth of a decoded value: a container of scalars is 1 (SPEC §2). */
function depthOf(v: ArgValue): number {
  if (v.kind === 'list') return 1 + Math.max(0, ...v.value.map(depthOf));
  if (v.kind === 'map') return 1 + Math.max(0, ...[...v.value.values()].map(depthOf));
  return 0;
}

const repeat = (kind: ContainerKind, n: number): ContainerKind[] => Array<ContainerKind>(n).fill(kind);
/** taskscheduler containers on the outside, JSON containers inside (JSON cannot hold Any). */
const mixed = (n: number): ContainerKind[] =>
  Array.from({ length: n }, (_, i) => (i < n / 2 ? (i % 2 === 0 ? 'tsList' : 'tsMap') : i % 2 === 0 ? 'jsonList' : 'jsonStruct'));
const tooDeep = (kinds: readonly ContainerKind[], limit: number): string =>
  `Invalid arguments: args[0]${kinds.slice(0, limit).map(segment).join('')}: nesting deeper than the limit of ${limit} (--max-arg-depth)`;

describe('nesting depth (SPEC §2: 64 accepted, 65 rejected by default)', () => {
  it('the default limit is 64 and frozen', () => {
    expect(DEFAULT_DECODE_LIMITS.maxDepth).toBe(64);
    expect(Object.isFrozen(DEFAULT_DECODE_LIMITS)).toBe(true);
  });

  describe.each<[string, (n: number) => ContainerKind[]]>([
    ['taskscheduler.ListValue', (n) => repeat('tsList', n)],
    ['taskscheduler.MapValue', (n) => repeat('tsMap', n)],
    ['google.protobuf.ListValue (JSON)', (n) => repeat('jsonList', n)],
    ['google.protobuf.Struct (JSON)', (n) => repeat('jsonStruct', n)],
    ['a mix of all four', mixed],
  ])('%s', (_name, kinds) => {
    it('64 levels are accepted and decode to depth 64', () => {
      const [v] = decodeArgs([nested(kinds(64))]);
      expect(depthOf(v!)).toBe(64);
    });

    it('65 levels are rejected, naming the path to the 65th container', () => {
      const k = kinds(65);
      expect(rejection([nested(k)]).message).toBe(tooDeep(k, 64));
    });

    // Built once per kind (about a second): a pure prefix of headers, so 100,000 levels stay linear.
    let deep: Any | undefined;
    const deepInput = (): Any => (deep ??= nested(kinds(100_000)));

    it('100,000 levels are rejected with InvalidArgumentsError, not a stack overflow', () => {
      expect(rejection([deepInput()]).message).toBe(tooDeep(kinds(100_000), 64));
    });

    it('100,000 levels with no effective limit still end in InvalidArgumentsError', () => {
      const err = rejection([deepInput()], { ...DEFAULT_DECODE_LIMITS, maxDepth: Number.MAX_SAFE_INTEGER });
      expect(err.message).toMatch(/^Invalid arguments: args\[0\]/);
      expect(err.message).toMatch(/: nested too deeply$/);
    });
  });

  it('the limit is configurable', () => {
    const k = repeat('tsList', 10);
    expect(depthOf(decodeArgs([nested(k)], { ...DEFAULT_DECODE_LIMITS, maxDepth: 10 })[0]!)).toBe(10);
    expect(rejection([nested(k)], { ...DEFAULT_DECODE_LIMITS, maxDepth: 9 }).message).toBe(tooDeep(k, 9));
    expect(depthOf(decodeArgs([nested(repeat('jsonList', 100))], { ...DEFAULT_DECODE_LIMITS, maxDepth: 100 })[0]!)).toBe(100);
    expect(rejection([nested(repeat('tsMap', 2))], { ...DEFAULT_DECODE_LIMITS, maxDepth: 1 }).message).toBe('Invalid arguments: args[0].fields["k"]: nesting deeper than the limit of 1 (--max-arg-depth)');
  });

  it('maxDepth 0 accepts scalars only', () => {
    const int = any('google.protobuf.Int32Value', Uint8Array.of(0x08, 0x05));
    expect(decodeArgs([int], { ...DEFAULT_DECODE_LIMITS, maxDepth: 0 })).toEqual([{ kind: 'int32', value: 5 }]);
    expect(rejection([int, any('taskscheduler.ListValue', new Uint8Array(0))], { ...DEFAULT_DECODE_LIMITS, maxDepth: 0 }).message).toBe(
      'Invalid arguments: args[1]: nesting deeper than the limit of 0 (--max-arg-depth)',
    );
    expect(rejection([any('google.protobuf.Struct', new Uint8Array(0))], { ...DEFAULT_DECODE_LIMITS, maxDepth: 0 }).detail).toBe('args[0]: nesting deeper than the limit of 0 (--max-arg-depth)');
  });

  it('an empty container counts as one level', () => {
    expect(decodeArgs([any('taskscheduler.ListValue', new Uint8Array(0))], { ...DEFAULT_DECODE_LIMITS, maxDepth: 1 })).toEqual([{ kind: 'list', value: [] }]);
    const listOfEmpty = any('taskscheduler.ListValue', tsList(anyBytes('taskscheduler.ListValue', new Uint8Array(0))));
    expect(rejection([listOfEmpty], { ...DEFAULT_DECODE_LIMITS, maxDepth: 1 }).detail).toBe('args[0].values[0]: nesting deeper than the limit of 1 (--max-arg-depth)');
  });

  it('a google.protobuf.Value adds no level: its JSON list is one level', () => {
    const v = Value.encode(Value.wrap([[1]])).finish(); // Value{list[list[1]]}: depth 2
    expect(canonicalJson(decodeArgs([any('google.protobuf.Value', v)], { ...DEFAULT_DECODE_LIMITS, maxDepth: 2 }))).toBe('[{"list":[{"list":[{"double":1}]}]}]');
    expect(rejection([any('google.protobuf.Value', v)], { ...DEFAULT_DECODE_LIMITS, maxDepth: 1 }).detail).toBe('args[0].values[0]: nesting deeper than the limit of 1 (--max-arg-depth)');
    // taskscheduler.ListValue holding a google.protobuf.Value holding a JSON list: depth 2.
    const outer = any('taskscheduler.ListValue', tsList(anyBytes('google.protobuf.Value', Value.encode(Value.wrap([1])).finish())));
    expect(decodeArgs([outer], { ...DEFAULT_DECODE_LIMITS, maxDepth: 2 })[0]!.kind).toBe('list');
    expect(rejection([outer], { ...DEFAULT_DECODE_LIMITS, maxDepth: 1 }).detail).toBe('args[0].values[0]: nesting deeper than the limit of 1 (--max-arg-depth)');
  });

  it('a top-level Value holding 64 JSON lists is accepted, 65 rejected', () => {
    const deepArray = (n: number): unknown => (n === 1 ? [1] : [deepArray(n - 1)]);
    const wrap = (n: number): Any => any('google.protobuf.Value', Value.encode(Value.wrap(deepArray(n))).finish());
    expect(depthOf(decodeArgs([wrap(64)])[0]!)).toBe(64);
    expect(rejection([wrap(65)]).detail).toBe(`args[0]${'.values[0]'.repeat(64)}: nesting deeper than the limit of 64 (--max-arg-depth)`);
    const list = JsonListValue.encode(JsonListValue.wrap([deepArray(63)])).finish();
    expect(depthOf(decodeArgs([any('google.protobuf.ListValue', list)])[0]!)).toBe(64);
  });

  it('depth is the deepest branch: siblings do not add up', () => {
    const deep63 = encodeArg(nestedList(63));
    const wide = arg.list([nestedList(63), nestedList(63), arg.list(Array.from({ length: 1000 }, () => arg.list([arg.int32(1)])))]);
    const [v] = decodeArgs([encodeArg(wide)]);
    expect(depthOf(v!)).toBe(64);
    const pair = any('taskscheduler.ListValue', bytes(lenField(1, anyBytes('taskscheduler.ListValue', deep63.value)), lenField(1, anyBytes('taskscheduler.ListValue', encodeArg(nestedList(64)).value))));
    expect(rejection([pair]).detail).toBe(`args[0].values[1]${'.values[0]'.repeat(63)}: nesting deeper than the limit of 64 (--max-arg-depth)`);
  });

  it('each argument is measured on its own', () => {
    const k = repeat('tsList', 64);
    expect(decodeArgs([nested(k), nested(k), nested(repeat('jsonStruct', 64))])).toHaveLength(3);
    expect(rejection([nested(k), nested(repeat('tsList', 65))]).message).toBe(tooDeep(repeat('tsList', 65), 64).replace('args[0]', 'args[1]'));
  });
});

/** arg.list nested `n` levels deep around one int32. */
function nestedList(n: number): ArgValue {
  let v: ArgValue = arg.list([arg.int32(1)]);
  for (let i = 1; i < n; i++) v = arg.list([v]);
  return v;
}
