import Long from 'long';
import { arg, type ArgValue } from '../../src/args/arg-value';
import { canonicalJson } from '../../src/args/canonical-json';
import { decodeArgs } from '../../src/args/decode-arg';
import { TYPE_URL_PREFIX, encodeArg, encodeArgs, toAny, toArgValue, type JsArg } from '../../src/args/encode-arg';
import { anyBytes, bytes, lenField, tsList, tsMap, varintField } from './wire';

const roundTrip = (v: ArgValue): ArgValue => decodeArgs([encodeArg(v)])[0]!;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encodeArg → decodeArgs round-trips every kind', () => {
  it.each<[string, ArgValue]>([
    ['int32 min', arg.int32(-2147483648)],
    ['int32 max', arg.int32(2147483647)],
    ['int32 0', arg.int32(0)],
    ['uint32 max', arg.uint32(4294967295)],
    ['bool true', arg.bool(true)],
    ['bool false', arg.bool(false)],
    ['string "héllo 😀"', arg.string('héllo \u{1F600}')],
    ['empty string', arg.string('')],
    ['double 0.1', arg.double(0.1)],
    ['double max', arg.double(Number.MAX_VALUE)],
    ['double min denormal', arg.double(5e-324)],
    ['double -Infinity', arg.double(-Infinity)],
    ['float 0.1 (fround)', arg.float(0.1)],
    ['float 3.4028234663852886e38', arg.float(3.4028234663852886e38)],
    ['null', arg.null()],
    ['empty list', arg.list([])],
    ['empty map', arg.map([])],
  ])('%s', (_name, v) => {
    expect(roundTrip(v)).toEqual(v);
  });

  it.each<[string, ArgValue]>([
    ['int64 min', arg.int64('-9223372036854775808')],
    ['int64 max', arg.int64('9223372036854775807')],
    ['int64 -1', arg.int64(-1)],
    ['uint64 max (unsigned Long)', arg.uint64(Long.MAX_UNSIGNED_VALUE)],
    ['uint64 2^63', arg.uint64(1n << 63n)],
  ])('%s stays exact', (_name, v) => {
    const back = roundTrip(v);
    expect(back.kind).toBe(v.kind);
    const [a, b] = [back.value as Long, v.value as Long];
    expect(a.toString()).toBe(b.toString());
    expect(a.unsigned).toBe(b.unsigned);
  });

  it('float is stored as its 32-bit value', () => {
    expect(roundTrip(arg.float(0.1))).toEqual({ kind: 'float', value: 0.10000000149011612 });
    expect(Number.isNaN(roundTrip(arg.float(NaN)).value)).toBe(true);
  });

  it('bytes, including empty and a view into a larger buffer', () => {
    expect([...(roundTrip(arg.bytes(Uint8Array.of(0, 1, 2, 255))).value as Uint8Array)]).toEqual([0, 1, 2, 255]);
    expect([...(roundTrip(arg.bytes(new Uint8Array(0))).value as Uint8Array)]).toEqual([]);
    const view = Uint8Array.of(9, 9, 7, 8, 9).subarray(2, 4);
    expect([...(roundTrip(arg.bytes(view)).value as Uint8Array)]).toEqual([7, 8]);
  });

  it('nested lists and maps, with "__proto__" and "constructor" keys', () => {
    const v = arg.list([
      arg.map([
        ['__proto__', arg.list([arg.int64(1), arg.null()])],
        ['constructor', arg.string('c')],
      ]),
      arg.list([arg.list([arg.uint64('18446744073709551615')])]),
    ]);
    const back = roundTrip(v);
    expect(canonicalJson([back])).toBe(canonicalJson([v]));
    expect(canonicalJson([back])).toBe(
      '[{"list":[{"map":{"__proto__":{"list":[{"int64":"1"},{"null":null}]},"constructor":{"string":"c"}}},{"list":[{"list":[{"uint64":"18446744073709551615"}]}]}]}]',
    );
  });
});

describe('encodeArg wire bytes match hand-written protobuf', () => {
  it.each<[string, ArgValue, string, string]>([
    ['int32 -1', arg.int32(-1), 'google.protobuf.Int32Value', '08ffffffffffffffffff01'],
    ['int32 150', arg.int32(150), 'google.protobuf.Int32Value', '089601'],
    ['int64 max', arg.int64('9223372036854775807'), 'google.protobuf.Int64Value', '08ffffffffffffffff7f'],
    ['int64 min', arg.int64('-9223372036854775808'), 'google.protobuf.Int64Value', '0880808080808080808001'],
    ['uint32 max', arg.uint32(4294967295), 'google.protobuf.UInt32Value', '08ffffffff0f'],
    ['uint64 max', arg.uint64('18446744073709551615'), 'google.protobuf.UInt64Value', '08ffffffffffffffffff01'],
    ['float 1.5', arg.float(1.5), 'google.protobuf.FloatValue', '0d0000c03f'],
    ['double 0.1', arg.double(0.1), 'google.protobuf.DoubleValue', '099a9999999999b93f'],
    ['bool true', arg.bool(true), 'google.protobuf.BoolValue', '0801'],
    ['string "hé"', arg.string('hé'), 'google.protobuf.StringValue', '0a0368c3a9'],
    ['bytes 00 01 02', arg.bytes(Uint8Array.of(0, 1, 2)), 'google.protobuf.BytesValue', '0a03000102'],
    ['empty string (proto3 default: no field)', arg.string(''), 'google.protobuf.StringValue', ''],
    ['int32 0 (proto3 default: no field)', arg.int32(0), 'google.protobuf.Int32Value', ''],
    ['null → Value{null_value}', arg.null(), 'google.protobuf.Value', '0800'],
  ])('%s', (_name, v, typeName, wire) => {
    const a = encodeArg(v);
    expect(a.typeUrl).toBe(`type.googleapis.com/${typeName}`);
    expect(hex(a.value)).toBe(wire);
  });

  it('containers are taskscheduler.ListValue / MapValue of nested Anys', () => {
    const list = encodeArg(arg.list([arg.int32(1), arg.string('x')]));
    expect(list.typeUrl).toBe(`${TYPE_URL_PREFIX}taskscheduler.ListValue`);
    expect(hex(list.value)).toBe(hex(tsList(anyBytes('google.protobuf.Int32Value', varintField(1, 1)), anyBytes('google.protobuf.StringValue', lenField(1, 'x')))));
    const map = encodeArg(arg.map([['k', arg.bool(true)]]));
    expect(map.typeUrl).toBe('type.googleapis.com/taskscheduler.MapValue');
    expect(hex(map.value)).toBe(hex(tsMap(['k', anyBytes('google.protobuf.BoolValue', bytes(varintField(1, 1)))])));
  });

  it('encodeArgs keeps order', () => {
    expect(encodeArgs([arg.int32(1), arg.null()]).map((a) => a.typeUrl)).toEqual([
      'type.googleapis.com/google.protobuf.Int32Value',
      'type.googleapis.com/google.protobuf.Value',
    ]);
    expect(encodeArgs([])).toEqual([]);
  });
});

describe('toArgValue / toAny (plain JS values)', () => {
  const kindOf = (v: JsArg): string => toArgValue(v).kind;

  it('numbers: int32 when it fits, int64 for other safe integers, double otherwise', () => {
    expect([0, -1, 2147483647, -2147483648].map(kindOf)).toEqual(['int32', 'int32', 'int32', 'int32']);
    expect([2147483648, -2147483649, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER].map(kindOf)).toEqual(['int64', 'int64', 'int64', 'int64']);
    expect(toArgValue(2147483648)).toEqual(arg.int64('2147483648'));
    expect([1.5, NaN, Infinity, 2 ** 53, 1e300].map(kindOf)).toEqual(['double', 'double', 'double', 'double', 'double']);
    expect(toArgValue(2 ** 53)).toEqual({ kind: 'double', value: 9007199254740992 });
  });

  it('bigint → int64 (range-checked); Long → int64 or uint64 by signedness', () => {
    expect(toArgValue(-(1n << 63n))).toEqual(arg.int64('-9223372036854775808'));
    expect(() => toArgValue(1n << 63n)).toThrow(RangeError);
    expect(toArgValue(Long.fromString('-5'))).toEqual(arg.int64(-5));
    const u = toArgValue(Long.MAX_UNSIGNED_VALUE);
    expect(u.kind).toBe('uint64');
    expect(u.value!.toString()).toBe('18446744073709551615');
  });

  it('scalars, bytes (Buffer too) and null', () => {
    expect(toArgValue(true)).toEqual(arg.bool(true));
    expect(toArgValue('')).toEqual(arg.string(''));
    expect(toArgValue(null)).toEqual(arg.null());
    expect(kindOf(Uint8Array.of(1))).toBe('bytes');
    expect(kindOf(Buffer.from('ab'))).toBe('bytes');
  });

  it('arrays → list, Maps and plain objects → map, recursively', () => {
    expect(canonicalJson([toArgValue([1, 'a', [null, 2n], { b: false }])])).toBe(
      '[{"list":[{"int32":1},{"string":"a"},{"list":[{"null":null},{"int64":"2"}]},{"map":{"b":{"bool":false}}}]}]',
    );
    expect(canonicalJson([toArgValue(new Map<string, JsArg>([['z', 1.5], ['a', []]]))])).toBe('[{"map":{"a":{"list":[]},"z":{"double":1.5}}}]');
  });

  it('an own "__proto__" key of a parsed object becomes an ordinary map key', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": 1}, "x": 2}') as { readonly [key: string]: JsArg };
    const v = toArgValue(parsed);
    expect(v.kind).toBe('map');
    expect(v.kind === 'map' && [...v.value.keys()]).toEqual(['__proto__', 'x']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('an ArgValue passes through unchanged; look-alikes that are not ArgValues become maps', () => {
    const a = arg.uint32(7);
    expect(toArgValue(a)).toBe(a);
    expect(toArgValue([a])).toEqual(arg.list([a]));
    expect(kindOf({ kind: 'nope', value: 1 })).toBe('map');
    const threeKeys = { kind: 'int32', value: 1, extra: 2 };
    expect(kindOf(threeKeys)).toBe('map');
  });

  it('toAny packs through toArgValue and decodes back', () => {
    const a = toAny({ n: 1, big: 1n << 40n, list: [true, 'x', null], nested: { f: 0.5 } });
    expect(a.typeUrl).toBe('type.googleapis.com/taskscheduler.MapValue');
    expect(canonicalJson(decodeArgs([a]))).toBe(
      '[{"map":{"big":{"int64":"1099511627776"},"list":{"list":[{"bool":true},{"string":"x"},{"null":null}]},"n":{"int32":1},"nested":{"map":{"f":{"double":0.5}}}}}]',
    );
    expect(hex(toAny(-1).value)).toBe('08ffffffffffffffffff01');
    expect(toAny(arg.float(1.5)).typeUrl).toBe('type.googleapis.com/google.protobuf.FloatValue');
  });
});
