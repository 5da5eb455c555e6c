import fc from 'fast-check';
import Long from 'long';
import { arg, type ArgValue } from '../../src/args/arg-value';
import { canonicalArg, canonicalJson } from '../../src/args/canonical-json';
import { decodeArgs } from '../../src/args/decode-arg';
import { any, anyBytes, lenField, tsMap, varintField } from './wire';

describe('canonicalJson (SPEC §5b)', () => {
  it.each<[ArgValue, string]>([
    [arg.int32(5), '{"int32":5}'],
    [arg.int32(-2147483648), '{"int32":-2147483648}'],
    [arg.int64('-9223372036854775808'), '{"int64":"-9223372036854775808"}'],
    [arg.int64('9223372036854775807'), '{"int64":"9223372036854775807"}'],
    [arg.uint32(4294967295), '{"uint32":4294967295}'],
    [arg.uint64(Long.MAX_UNSIGNED_VALUE), '{"uint64":"18446744073709551615"}'],
    [arg.float(1.5), '{"float":1.5}'],
    [arg.float(0.1), '{"float":0.1}'],
    [arg.float(-1 / 3), '{"float":-0.33333334}'],
    [arg.float(16777217), '{"float":16777216}'],
    [arg.float(1e-45), '{"float":1e-45}'],
    [arg.float(3.4028234663852886e38), '{"float":3.4028235e+38}'],
    [arg.double(0.1), '{"double":0.1}'],
    [arg.double(1 / 3), '{"double":0.3333333333333333}'],
    [arg.double(1e21), '{"double":1e+21}'],
    [arg.double(-0), '{"double":0}'],
    [arg.double(NaN), '{"double":"NaN"}'],
    [arg.double(Infinity), '{"double":"Infinity"}'],
    [arg.double(-Infinity), '{"double":"-Infinity"}'],
    [arg.float(NaN), '{"float":"NaN"}'],
    [arg.float(Infinity), '{"float":"Infinity"}'],
    [arg.float(-Infinity), '{"float":"-Infinity"}'],
    [arg.bool(true), '{"bool":true}'],
    [arg.bool(false), '{"bool":false}'],
    [arg.string('héllo'), '{"string":"héllo"}'],
    [arg.string(''), '{"string":""}'],
    [arg.string('a"b\\c\n\u0001'), '{"string":"a\\"b\\\\c\\n\\u0001"}'],
    [arg.string('\ud800'), '{"string":"\\ud800"}'],
    [arg.bytes(Uint8Array.of(0, 1, 2)), '{"bytes":"AAEC"}'],
    [arg.bytes(Uint8Array.of(0xfb, 0xff)), '{"bytes":"+/8="}'],
    [arg.bytes(new Uint8Array(0)), '{"bytes":""}'],
    [arg.null(), '{"null":null}'],
    [arg.list([]), '{"list":[]}'],
    [arg.map([]), '{"map":{}}'],
  ])('%p → %s', (v, expected) => {
    expect(canonicalArg(v)).toBe(expected);
    expect(canonicalJson([v])).toBe(`[${expected}]`);
  });

  it('a float that was never rounded prints as its float32 value', () => {
    expect(canonicalArg({ kind: 'float', value: 0.1 })).toBe('{"float":0.1}');
    expect(canonicalArg({ kind: 'float', value: 0.10000000149011612 })).toBe('{"float":0.1}');
  });

  it('an empty argument list is []', () => {
    expect(canonicalJson([])).toBe('[]');
  });

  it('several arguments, nested, with no spaces', () => {
    const args = [
      arg.int32(1),
      arg.list([arg.string('a'), arg.list([arg.null(), arg.uint64(7)]), arg.map([['k', arg.bool(false)]])]),
      arg.map([
        ['b', arg.map([['y', arg.double(2)], ['x', arg.list([])]])],
        ['a', arg.float(0.25)],
      ]),
    ];
    expect(canonicalJson(args)).toBe(
      '[{"int32":1},{"list":[{"string":"a"},{"list":[{"null":null},{"uint64":"7"}]},{"map":{"k":{"bool":false}}}]},{"map":{"a":{"float":0.25},"b":{"map":{"x":{"list":[]},"y":{"double":2}}}}}]',
    );
    expect(JSON.parse(canonicalJson(args))).toHaveLength(3);
  });

  it('bytes of a view print only the view, not its whole buffer', () => {
    const view = Uint8Array.of(0xff, 0xff, 0, 1, 2, 0xff).subarray(2, 5);
    expect(canonicalArg(arg.bytes(view))).toBe('{"bytes":"AAEC"}');
  });

  it('map keys are sorted by UTF-16 code units, not code points or locale', () => {
    // U+1F600 is the surrogate pair D83D DE00: it sorts before U+FF61 by code units, after it by code points.
    const v = arg.map([
      ['\uFF61', arg.int32(1)],
      ['\u{1F600}', arg.int32(2)],
      ['b', arg.int32(3)],
      ['B', arg.int32(4)],
      ['é', arg.int32(5)],
      ['', arg.int32(6)],
      ['a', arg.int32(7)],
      ['aa', arg.int32(8)],
    ]);
    expect(canonicalArg(v)).toBe(
      '{"map":{"":{"int32":6},"B":{"int32":4},"a":{"int32":7},"aa":{"int32":8},"b":{"int32":3},"é":{"int32":5},"\u{1F600}":{"int32":2},"\uFF61":{"int32":1}}}',
    );
  });

  it('map keys are JSON-escaped, and "__proto__" is printed as an ordinary key', () => {
    const v = arg.map([
      ['q"\n', arg.null()],
      ['__proto__', arg.int32(1)],
    ]);
    expect(canonicalArg(v)).toBe('{"map":{"__proto__":{"int32":1},"q\\"\\n":{"null":null}}}');
    const parsed = JSON.parse(canonicalArg(v)) as { map: Record<string, unknown> };
    expect(Object.keys(parsed.map)).toEqual(['__proto__', 'q"\n']);
  });

  it('decoded maps print the same whatever the wire order', () => {
    const one = anyBytes('google.protobuf.Int32Value', varintField(1, 1));
    const two = anyBytes('google.protobuf.StringValue', lenField(1, 'two'));
    const a = decodeArgs([any('taskscheduler.MapValue', tsMap(['x', one], ['\u{1F600}', two], ['\uFF61', one]))]);
    const b = decodeArgs([any('taskscheduler.MapValue', tsMap(['\uFF61', one], ['x', one], ['\u{1F600}', two]))]);
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('[{"map":{"x":{"int32":1},"\u{1F600}":{"string":"two"},"\uFF61":{"int32":1}}}]');
  });

  it('is deterministic for a deep value and does not depend on Map insertion order', () => {
    const build = (keys: string[]): ArgValue => arg.map(keys.map((k) => [k, arg.list([arg.string(k), arg.int64(k.length)])] as const));
    expect(canonicalJson([build(['c', 'a', 'b'])])).toBe(canonicalJson([build(['b', 'c', 'a'])]));
  });

  it('strings and keys are quoted exactly as JSON.stringify quotes them, short or long (quoting fast path)', () => {
    // Any UTF-16 code unit: controls, quotes, backslashes and lone surrogates must all take the escaping path.
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
    const text = fc.oneof(fc.string({ unit: codeUnit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }));
    fc.assert(
      fc.property(text, text, (value, key) => {
        expect(canonicalJson([arg.string(value)])).toBe(`[{"string":${JSON.stringify(value)}}]`);
        expect(canonicalArg(arg.map([[key, arg.null()]]))).toBe(`{"map":{${JSON.stringify(key)}:{"null":null}}}`);
        const other = `${key}~`;
        const [first, second] = [key, other].sort();
        expect(canonicalArg(arg.map([[other, arg.bool(true)], [key, arg.bool(false)]]))).toBe(
          `{"map":{${JSON.stringify(first)}:{"bool":${first === key ? 'false' : 'true'}},${JSON.stringify(second)}:{"bool":${first === key ? 'true' : 'false'}}}}`,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('map keys come out in Array#sort order for any keys, few (insertion sort) or many', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
    const keys = fc.uniqueArray(fc.oneof(fc.string({ unit: codeUnit, maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 40 });
    fc.assert(
      fc.property(keys, (ks) => {
        const expected = [...ks].sort().map((k) => `${JSON.stringify(k)}:{"string":${JSON.stringify(k)}}`).join(',');
        expect(canonicalArg(arg.map(ks.map((k) => [k, arg.string(k)] as const)))).toBe(`{"map":{${expected}}}`);
      }),
      { numRuns: 500 },
    );
  });

  it('empty and one-entry maps, and every scalar inside a container', () => {
    expect(canonicalArg(arg.map([]))).toBe('{"map":{}}');
    expect(canonicalArg(arg.list([arg.map([]), arg.map([['k', arg.map([])]])]))).toBe('{"list":[{"map":{}},{"map":{"k":{"map":{}}}}]}');
    const scalars = [arg.int32(-1), arg.uint32(7), arg.int64('-5'), arg.uint64('5'), arg.float(0.1), arg.double(Number.NaN), arg.bytes(Uint8Array.of(1)), arg.null()];
    expect(canonicalArg(arg.map(scalars.map((s, i) => [`k${i}`, s] as const)))).toBe(
      '{"map":{"k0":{"int32":-1},"k1":{"uint32":7},"k2":{"int64":"-5"},"k3":{"uint64":"5"},"k4":{"float":0.1},"k5":{"double":"NaN"},"k6":{"bytes":"AQ=="},"k7":{"null":null}}}',
    );
  });
});
