import type { Any } from '../../generated/google/protobuf/any';
import { ListValue as JsonListValue, Struct, Value } from '../../generated/google/protobuf/struct';
import type { ArgValue } from '../../src/args/arg-value';
import { canonicalJson } from '../../src/args/canonical-json';
import { decodeArgs } from '../../src/args/decode-arg';
import { InvalidArgumentsError } from '../../src/errors';
import {
  any,
  anyBytes,
  bytes,
  doubleField,
  jsonList,
  jsonNull,
  jsonNumber,
  jsonString,
  jsonStruct,
  lenField,
  varintField,
  tsMap,
} from './wire';

const one = (a: Any): ArgValue => decodeArgs([a])[0]!;
const json = (a: Any): string => canonicalJson(decodeArgs([a]));
const detail = (a: Any): string => {
  try {
    decodeArgs([a]);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentsError);
    return (err as InvalidArgumentsError).detail;
  }
  throw new Error('decodeArgs accepted the argument');
};
const value = (x: unknown): Any => any('google.protobuf.Value', Value.encode(Value.wrap(x)).finish());

describe('google.protobuf.Value (JSON values)', () => {
  it('number → double, string → string, bool → bool, null → kind null', () => {
    expect(one(value(2.5))).toEqual({ kind: 'double', value: 2.5 });
    expect(one(value(7))).toEqual({ kind: 'double', value: 7 });
    expect(one(value('hé'))).toEqual({ kind: 'string', value: 'hé' });
    expect(one(value(false))).toEqual({ kind: 'bool', value: false });
    expect(one(value(null))).toEqual({ kind: 'null', value: null });
  });

  it('struct → map and list → list, recursively (generated encoder)', () => {
    const v = one(value({ a: [1, 'x', null, { b: true }], c: {} }));
    expect(v.kind).toBe('map');
    expect(v.value instanceof Map && [...v.value.keys()]).toEqual(['a', 'c']);
    expect(json(value({ a: [1, 'x', null, { b: true }], c: {} }))).toBe(
      '[{"map":{"a":{"list":[{"double":1},{"string":"x"},{"null":null},{"map":{"b":{"bool":true}}}]},"c":{"map":{}}}}]',
    );
  });

  it('hand-written Value bytes: number 0x11 + fixed64, string 0x1a, struct 0x2a, list 0x32', () => {
    expect(one(any('google.protobuf.Value', Uint8Array.of(0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f)))).toEqual({ kind: 'double', value: 1.5 });
    expect(one(any('google.protobuf.Value', Uint8Array.of(0x1a, 0x02, 0x68, 0x69)))).toEqual({ kind: 'string', value: 'hi' });
    expect(one(any('google.protobuf.Value', Uint8Array.of(0x2a, 0x00)))).toEqual({ kind: 'map', value: new Map() });
    expect(one(any('google.protobuf.Value', Uint8Array.of(0x32, 0x00)))).toEqual({ kind: 'list', value: [] });
    expect(json(any('google.protobuf.Value', lenField(6, jsonList(jsonNumber(-1), jsonNull(), jsonString('z')))))).toBe(
      '[{"list":[{"double":-1},{"null":null},{"string":"z"}]}]',
    );
  });

  it('NaN and infinities pass through as doubles', () => {
    expect(json(any('google.protobuf.Value', doubleField(2, NaN)))).toBe('[{"double":"NaN"}]');
    expect(json(any('google.protobuf.Value', doubleField(2, -Infinity)))).toBe('[{"double":"-Infinity"}]');
  });

  it('the last kind field wins (oneof semantics)', () => {
    expect(one(any('google.protobuf.Value', bytes(jsonNumber(1), jsonString('s'))))).toEqual({ kind: 'string', value: 's' });
    expect(one(any('google.protobuf.Value', bytes(jsonString('s'), varintField(4, 1))))).toEqual({ kind: 'bool', value: true });
  });

  it('skips unknown fields', () => {
    expect(one(any('google.protobuf.Value', bytes(varintField(9, 3), jsonString('s'), lenField(10, 'junk'))))).toEqual({ kind: 'string', value: 's' });
  });

  it('rejects a Value with no kind set, at any level', () => {
    expect(detail(any('google.protobuf.Value', new Uint8Array(0)))).toBe('args[0]: google.protobuf.Value has no kind set');
    expect(detail(any('google.protobuf.ListValue', jsonList(jsonNull(), new Uint8Array(0))))).toBe('args[0].values[1]: google.protobuf.Value has no kind set');
    expect(detail(any('google.protobuf.Struct', jsonStruct(['k', varintField(9, 1)])))).toBe('args[0].fields["k"]: google.protobuf.Value has no kind set');
  });

  it('rejects invalid UTF-8 in a JSON string or struct key', () => {
    const badString = lenField(3, Uint8Array.of(0xff));
    expect(detail(any('google.protobuf.Value', badString))).toBe('args[0]: string is not valid UTF-8');
    expect(detail(any('google.protobuf.ListValue', jsonList(jsonNumber(1), badString)))).toBe('args[0].values[1]: string is not valid UTF-8');
    expect(detail(any('google.protobuf.Struct', jsonStruct(['k', badString])))).toBe('args[0].fields["k"]: string is not valid UTF-8');
    const badKey = lenField(1, bytes(lenField(1, Uint8Array.of(0xc3)), lenField(2, jsonNull())));
    expect(detail(any('google.protobuf.Struct', badKey))).toBe('args[0]: string is not valid UTF-8');
  });

  it('rejects a struct entry without a value, and truncated JSON messages', () => {
    expect(detail(any('google.protobuf.Struct', lenField(1, lenField(1, 'k'))))).toBe('args[0].fields["k"]: struct field has no value');
    expect(detail(any('google.protobuf.Value', Uint8Array.of(0x32, 0x05, 0x0a)))).toMatch(/^args\[0\]: (cannot decode google\.protobuf\.Value|truncated)/);
    expect(detail(any('google.protobuf.ListValue', Uint8Array.of(0x0a, 0x09, 0x11)))).toMatch(/^args\[0\]: cannot decode google\.protobuf\.ListValue: /);
    // A nested Value claiming more bytes than its list entry holds.
    const overrun = bytes(lenField(1, Uint8Array.of(0x11, 0, 0, 0)), jsonString('tail-tail'));
    expect(detail(any('google.protobuf.ListValue', overrun))).toMatch(/^args\[0\]/);
  });
});

describe('google.protobuf.Struct and ListValue', () => {
  it('Struct → map with every field (generated encoder)', () => {
    const s = Struct.encode(Struct.wrap({ b: 2, a: 'x', n: null, l: [true] })).finish();
    const v = one(any('google.protobuf.Struct', s));
    expect(v.kind).toBe('map');
    expect(v.value instanceof Map && v.value.size).toBe(4);
    expect(json(any('google.protobuf.Struct', s))).toBe('[{"map":{"a":{"string":"x"},"b":{"double":2},"l":{"list":[{"bool":true}]},"n":{"null":null}}}]');
  });

  it('ListValue → list (generated encoder) and empty Struct/ListValue', () => {
    const l = JsonListValue.encode(JsonListValue.wrap([1, 'two', [3], { four: 4 }])).finish();
    expect(json(any('google.protobuf.ListValue', l))).toBe('[{"list":[{"double":1},{"string":"two"},{"list":[{"double":3}]},{"map":{"four":{"double":4}}}]}]');
    expect(one(any('google.protobuf.Struct', new Uint8Array(0)))).toEqual({ kind: 'map', value: new Map() });
    expect(one(any('google.protobuf.ListValue', new Uint8Array(0)))).toEqual({ kind: 'list', value: [] });
  });

  it('a Struct key "__proto__" is an ordinary Map key and touches no prototype', () => {
    const s = jsonStruct(['__proto__', lenField(5, jsonStruct(['polluted', jsonString('yes')]))], ['constructor', jsonNumber(1)]);
    const v = one(any('google.protobuf.Struct', s));
    if (v.kind !== 'map') throw new Error(`kind ${v.kind}`);
    expect([...v.value.keys()]).toEqual(['__proto__', 'constructor']);
    expect(v.value.get('__proto__')).toEqual({ kind: 'map', value: new Map([['polluted', { kind: 'string', value: 'yes' }]]) });
    expect(Object.getPrototypeOf(v.value)).toBe(Map.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('duplicate Struct keys on the wire: the last one wins', () => {
    const s = jsonStruct(['k', jsonNumber(1)], ['j', jsonNull()], ['k', jsonString('last')]);
    expect(json(any('google.protobuf.Struct', s))).toBe('[{"map":{"j":{"null":null},"k":{"string":"last"}}}]');
  });

  it('a struct entry with no key uses the empty key ""', () => {
    const s = lenField(1, lenField(2, jsonNumber(3)));
    expect(json(any('google.protobuf.Struct', s))).toBe('[{"map":{"":{"double":3}}}]');
  });
});

describe('taskscheduler.MapValue keys', () => {
  it('"__proto__", "constructor" and "toString" decode into a Map with exactly those keys', () => {
    const int = (n: number): Uint8Array => anyBytes('google.protobuf.Int32Value', varintField(1, n));
    const m = tsMap(['__proto__', int(1)], ['constructor', int(2)], ['toString', int(3)], ['', int(4)]);
    const v = one(any('taskscheduler.MapValue', m));
    if (v.kind !== 'map') throw new Error(`kind ${v.kind}`);
    expect(v.value).toBeInstanceOf(Map);
    expect([...v.value.entries()]).toEqual([
      ['__proto__', { kind: 'int32', value: 1 }],
      ['constructor', { kind: 'int32', value: 2 }],
      ['toString', { kind: 'int32', value: 3 }],
      ['', { kind: 'int32', value: 4 }],
    ]);
    expect(Object.getPrototypeOf(v.value)).toBe(Map.prototype);
    expect(typeof ({} as { constructor: unknown }).constructor).toBe('function');
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('duplicate keys on the wire: the last one wins, in the first key\'s position', () => {
    const int = (n: number): Uint8Array => anyBytes('google.protobuf.Int32Value', varintField(1, n));
    const v = one(any('taskscheduler.MapValue', tsMap(['k', int(1)], ['j', int(2)], ['k', int(3)])));
    if (v.kind !== 'map') throw new Error(`kind ${v.kind}`);
    expect([...v.value.entries()]).toEqual([
      ['k', { kind: 'int32', value: 3 }],
      ['j', { kind: 'int32', value: 2 }],
    ]);
  });

  it('duplicate keys on the wire: an overwritten value is never decoded (its Any stays opaque)', () => {
    const m = tsMap(['k', anyBytes('no.Such', new Uint8Array(0))], ['k', anyBytes('google.protobuf.BoolValue', varintField(1, 1))]);
    expect(json(any('taskscheduler.MapValue', m))).toBe('[{"map":{"k":{"bool":true}}}]');
  });

  it('duplicate keys: a bad value overwritten later keeps its key\'s first place; one not overwritten by a value still fails', () => {
    const bad = anyBytes('google.protobuf.StringValue', lenField(1, Uint8Array.of(0xff)));
    const int = (n: number): Uint8Array => anyBytes('google.protobuf.Int32Value', varintField(1, n));
    const v = one(any('taskscheduler.MapValue', tsMap(['k', bad], ['j', int(2)], ['k', bad], ['k', int(3)])));
    if (v.kind !== 'map') throw new Error(`kind ${v.kind}`);
    expect([...v.value.entries()]).toEqual([
      ['k', { kind: 'int32', value: 3 }],
      ['j', { kind: 'int32', value: 2 }],
    ]);
    // A later entry with the key but no value is dropped, so it overwrites nothing.
    const keyOnly = lenField(1, lenField(1, 'k'));
    expect(detail(any('taskscheduler.MapValue', bytes(tsMap(['k', bad]), keyOnly)))).toBe('args[0].fields["k"]: string is not valid UTF-8');
    // Another key coming again does not excuse this one.
    expect(detail(any('taskscheduler.MapValue', tsMap(['k', bad], ['j', int(1)], ['j', int(2)])))).toBe('args[0].fields["k"]: string is not valid UTF-8');
  });

  it('short ASCII strings and keys decode as the strict UTF-8 decoder does, around the fast path\'s length', () => {
    for (const text of ['', 'a', 'abcdefghijkl', 'abcdefghijklm', 'é', 'abcdefghijké', 'x'.repeat(40), '\u0000\u007f', '€uro']) {
      const value = anyBytes('google.protobuf.StringValue', lenField(1, text));
      expect(one(any('taskscheduler.MapValue', tsMap([text, value])))).toEqual({ kind: 'map', value: new Map([[text, { kind: 'string', value: text }]]) });
    }
    // Bad UTF-8 is refused whatever the length (0x80 in an otherwise short ASCII string included).
    for (const raw of [Uint8Array.of(0x61, 0x80), Uint8Array.of(0xff), Uint8Array.from([...Buffer.from('abcdefghijklmn'), 0xc3])]) {
      expect(detail(any('google.protobuf.StringValue', lenField(1, raw)))).toBe('args[0]: string is not valid UTF-8');
    }
  });

  it('a map entry may carry its value before its key; errors in that value still name the key', () => {
    const entry = (key: string, value: Uint8Array): Uint8Array => lenField(1, bytes(lenField(2, value), lenField(1, key)));
    const good = anyBytes('google.protobuf.Int32Value', varintField(1, 9));
    expect(json(any('taskscheduler.MapValue', entry('late-key', good)))).toBe('[{"map":{"late-key":{"int32":9}}}]');
    const bad = anyBytes('google.protobuf.StringValue', lenField(1, Uint8Array.of(0xff)));
    expect(detail(any('taskscheduler.MapValue', entry('late-key', bad)))).toBe('args[0].fields["late-key"]: string is not valid UTF-8');
  });

  it('a nested value cannot read past the end of its Any into the bytes that follow', () => {
    // The Int32Value's varint has its continuation bit set on the last byte of its Any; the next list
    // entry's bytes would complete it if the decoder ignored the nested length.
    const truncated = anyBytes('google.protobuf.Int32Value', Uint8Array.of(0x08, 0x81));
    const list = bytes(lenField(1, truncated), lenField(1, anyBytes('google.protobuf.Int32Value', varintField(1, 1))));
    expect(detail(any('taskscheduler.ListValue', list))).toBe('args[0].values[0]: cannot decode google.protobuf.Int32Value: premature EOF');
  });

  it('wire order of keys does not change the canonical JSON', () => {
    const a = anyBytes('google.protobuf.StringValue', lenField(1, 'A'));
    const b = anyBytes('google.protobuf.BoolValue', varintField(1, 0));
    expect(json(any('taskscheduler.MapValue', tsMap(['a', a], ['b', b])))).toBe(json(any('taskscheduler.MapValue', tsMap(['b', b], ['a', a]))));
  });
});
