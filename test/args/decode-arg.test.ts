import Long from 'long';
import type { Any } from '../../generated/google/protobuf/any';
import type { ArgValue } from '../../src/args/arg-value';
import { DEFAULT_DECODE_LIMITS, SUPPORTED_ARG_TYPES, decodeArg, decodeArgs, typeNameOf } from '../../src/args/decode-arg';
import { InvalidArgumentsError, StatusCode } from '../../src/errors';
import { any, anyBytes, bytes, int32Any, lenField, stringAny, tsList, tsMap, varintField } from './wire';

/** Decodes one Any through decodeArgs and returns its ArgValue. */
function one(a: Any): ArgValue {
  const [value, ...rest] = decodeArgs([a]);
  expect(rest).toHaveLength(0);
  return value!;
}

/** The InvalidArgumentsError that decodeArgs throws for `args` (fails the test if it returns or throws something else). */
function rejection(args: readonly Any[]): InvalidArgumentsError {
  try {
    decodeArgs(args);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentsError);
    return err as InvalidArgumentsError;
  }
  throw new Error('decodeArgs accepted the arguments');
}

const hex = (...values: number[]): Uint8Array => Uint8Array.from(values);
const SUPPORTED_LIST = '(supported: wrappers, taskscheduler.ListValue/MapValue, google.protobuf.Value/Struct/ListValue)';

describe('decodeArgs: wrappers from hand-written wire bytes', () => {
  it('Int32Value -1 is tag 0x08 then the 10-byte varint ff…ff 01', () => {
    const a = any('google.protobuf.Int32Value', hex(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    expect(one(a)).toEqual({ kind: 'int32', value: -1 });
  });

  it('Int32Value min and max', () => {
    expect(one(any('google.protobuf.Int32Value', hex(0x08, 0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01)))).toEqual({
      kind: 'int32',
      value: -2147483648,
    });
    expect(one(any('google.protobuf.Int32Value', hex(0x08, 0xff, 0xff, 0xff, 0xff, 0x07)))).toEqual({ kind: 'int32', value: 2147483647 });
  });

  it('Int64Value max and min decode to exact signed Longs', () => {
    const max = one(any('google.protobuf.Int64Value', hex(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)));
    const min = one(any('google.protobuf.Int64Value', hex(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)));
    if (max.kind !== 'int64' || min.kind !== 'int64') throw new Error(`wrong kinds ${max.kind}, ${min.kind}`);
    expect(Long.isLong(max.value)).toBe(true);
    expect(max.value.unsigned).toBe(false);
    expect(max.value.toString()).toBe('9223372036854775807');
    expect(min.value.toString()).toBe('-9223372036854775808');
  });

  it('UInt32Value max and UInt64Value max (an unsigned Long)', () => {
    expect(one(any('google.protobuf.UInt32Value', hex(0x08, 0xff, 0xff, 0xff, 0xff, 0x0f)))).toEqual({ kind: 'uint32', value: 4294967295 });
    const u = one(any('google.protobuf.UInt64Value', hex(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)));
    if (u.kind !== 'uint64') throw new Error(`kind ${u.kind}`);
    expect(u.value.unsigned).toBe(true);
    expect(u.value.toString()).toBe('18446744073709551615');
  });

  it('FloatValue and DoubleValue read little-endian fixed32/fixed64', () => {
    expect(one(any('google.protobuf.FloatValue', hex(0x0d, 0x00, 0x00, 0xc0, 0x3f)))).toEqual({ kind: 'float', value: 1.5 });
    expect(one(any('google.protobuf.FloatValue', hex(0x0d, 0xcd, 0xcc, 0xcc, 0x3d)))).toEqual({ kind: 'float', value: Math.fround(0.1) });
    expect(one(any('google.protobuf.DoubleValue', hex(0x09, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f)))).toEqual({ kind: 'double', value: 0.1 });
    const negZero = one(any('google.protobuf.DoubleValue', hex(0x09, 0, 0, 0, 0, 0, 0, 0, 0x80)));
    expect(negZero.kind).toBe('double');
    expect(Object.is(negZero.value, -0)).toBe(true);
    const nan = one(any('google.protobuf.FloatValue', hex(0x0d, 0x00, 0x00, 0xc0, 0x7f)));
    expect(nan.kind).toBe('float');
    expect(Number.isNaN(nan.value)).toBe(true);
  });

  it('BoolValue, StringValue "hé" and an astral character, BytesValue', () => {
    expect(one(any('google.protobuf.BoolValue', hex(0x08, 0x01)))).toEqual({ kind: 'bool', value: true });
    expect(one(any('google.protobuf.StringValue', hex(0x0a, 0x03, 0x68, 0xc3, 0xa9)))).toEqual({ kind: 'string', value: 'hé' });
    expect(one(any('google.protobuf.StringValue', hex(0x0a, 0x04, 0xf0, 0x9f, 0x98, 0x80)))).toEqual({ kind: 'string', value: '\u{1F600}' });
    const b = one(any('google.protobuf.BytesValue', hex(0x0a, 0x04, 0x00, 0x01, 0x02, 0xff)));
    expect(b.kind).toBe('bytes');
    expect([...(b.value as Uint8Array)]).toEqual([0, 1, 2, 255]);
  });

  it('empty payloads are the proto3 defaults', () => {
    const empty = new Uint8Array(0);
    const decoded = decodeArgs(SUPPORTED_ARG_TYPES.slice(0, 9).map((t) => any(t, empty)));
    expect(decoded.map((d) => d.kind)).toEqual(['int32', 'int64', 'uint32', 'uint64', 'float', 'double', 'bool', 'string', 'bytes']);
    expect(decoded.map((d) => (Long.isLong(d.value) ? `L${d.value.toString()}` : d.value instanceof Uint8Array ? d.value.length : d.value))).toEqual([
      0, 'L0', 0, 'L0', 0, 0, false, '', 0,
    ]);
  });

  it('skips unknown fields and keeps the last occurrence of a repeated scalar field', () => {
    expect(one(any('google.protobuf.Int32Value', bytes(varintField(7, 99), lenField(9, 'x'), varintField(1, 5))))).toEqual({ kind: 'int32', value: 5 });
    expect(one(any('google.protobuf.Int32Value', bytes(varintField(1, 1), varintField(1, 2))))).toEqual({ kind: 'int32', value: 2 });
  });

  it('decodes several arguments in order', () => {
    expect(decodeArgs([int32Any(7), stringAny('x')])).toEqual([
      { kind: 'int32', value: 7 },
      { kind: 'string', value: 'x' },
    ]);
    expect(decodeArgs([])).toEqual([]);
  });
});

describe('decodeArgs: type_url', () => {
  it.each([
    'type.googleapis.com/google.protobuf.Int32Value',
    'example.com/x/y/google.protobuf.Int32Value',
    'google.protobuf.Int32Value',
    '/google.protobuf.Int32Value',
  ])('accepts %p (matched after the last "/")', (typeUrl) => {
    expect(one({ typeUrl, value: hex(0x08, 0x2a) })).toEqual({ kind: 'int32', value: 42 });
  });

  it('nested Anys: every supported name is matched after the last "/", and a name one byte off is not', () => {
    // Empty values decode to each type's zero, or fail inside the type, never as "unsupported".
    const nestedUrl = (typeUrl: string): Any => any('taskscheduler.ListValue', lenField(1, bytes(lenField(1, typeUrl), lenField(2, new Uint8Array(0)))));
    const outcome = (typeUrl: string): string => {
      try {
        decodeArgs([nestedUrl(typeUrl)]);
        return 'ok';
      } catch (err) {
        return (err as InvalidArgumentsError).detail;
      }
    };
    for (const name of SUPPORTED_ARG_TYPES) {
      for (const url of [name, `/${name}`, `type.googleapis.com/${name}`, `a/b/c/${name}`]) expect(outcome(url)).not.toMatch(/unsupported type/);
      const near = [`${name}x`, `x${name}`, `a/x${name}`, name.slice(1), name.slice(0, -1), `${name.slice(0, -7)}Z${name.slice(-6)}`, `${name}/`];
      for (const url of near) {
        const typeName = url.slice(url.lastIndexOf('/') + 1);
        expect(outcome(url)).toBe(`args[0].values[0]: unsupported type '${typeName}' ${SUPPORTED_LIST}`);
      }
    }
  });

  it('typeNameOf takes the part after the last "/"', () => {
    expect(typeNameOf('type.googleapis.com/foo.Bar')).toBe('foo.Bar');
    expect(typeNameOf('a/b/c/foo.Bar')).toBe('foo.Bar');
    expect(typeNameOf('foo.Bar')).toBe('foo.Bar');
    expect(typeNameOf('type.googleapis.com/')).toBe('');
    expect(typeNameOf('')).toBe('');
  });

  it('rejects an empty type_url, naming the argument', () => {
    const err = rejection([int32Any(1), { typeUrl: '', value: hex(0x08, 0x01) }]);
    expect(err.message).toBe('Invalid arguments: args[1]: Any has an empty type_url');
    expect(err.detail).toBe('args[1]: Any has an empty type_url');
    expect(err.code).toBe(StatusCode.INVALID_ARGUMENT);
    expect(err.name).toBe('InvalidArgumentsError');
  });

  it('rejects an unknown type with its name and the supported list', () => {
    const err = rejection([int32Any(1), stringAny('a'), { typeUrl: 'type.googleapis.com/foo.Bar', value: new Uint8Array(0) }]);
    expect(err.message).toBe(`Invalid arguments: args[2]: unsupported type 'foo.Bar' ${SUPPORTED_LIST}`);
  });

  it('matches type names exactly (case-sensitive, no trailing-slash name)', () => {
    expect(rejection([{ typeUrl: 'google.protobuf.int32value', value: hex() }]).detail).toBe(`args[0]: unsupported type 'google.protobuf.int32value' ${SUPPORTED_LIST}`);
    expect(rejection([{ typeUrl: 'type.googleapis.com/', value: hex() }]).detail).toBe(`args[0]: unsupported type '' ${SUPPORTED_LIST}`);
  });

  it('clips a long type name to 100 characters and escapes control characters', () => {
    const long = 'x'.repeat(500);
    expect(rejection([{ typeUrl: long, value: hex() }]).detail).toBe(`args[0]: unsupported type '${'x'.repeat(100)}…' ${SUPPORTED_LIST}`);
    expect(rejection([{ typeUrl: 'a\nb', value: hex() }]).detail).toBe(`args[0]: unsupported type 'a\\u000ab' ${SUPPORTED_LIST}`);
  });

  it('reports the first bad argument only', () => {
    const err = rejection([int32Any(1), { typeUrl: 'a.B', value: hex() }, { typeUrl: '', value: hex() }]);
    expect(err.detail).toMatch(/^args\[1\]: unsupported type 'a\.B'/);
  });

  it('decodeArg names its path "arg" unless told otherwise', () => {
    expect(decodeArg(int32Any(3))).toEqual({ kind: 'int32', value: 3 });
    expect(() => decodeArg({ typeUrl: 'x.Y', value: hex() })).toThrow(`Invalid arguments: arg: unsupported type 'x.Y' ${SUPPORTED_LIST}`);
    expect(() => decodeArg({ typeUrl: '', value: hex() }, DEFAULT_DECODE_LIMITS, 'result')).toThrow('Invalid arguments: result: Any has an empty type_url');
  });
});

describe('decodeArgs: bytes that do not decode', () => {
  it.each<[string, string, Uint8Array, string]>([
    ['a truncated varint', 'google.protobuf.Int32Value', hex(0x08, 0xff), 'cannot decode google.protobuf.Int32Value: premature EOF'],
    ['an 11-byte varint', 'google.protobuf.Int64Value', hex(0x08, ...Array<number>(10).fill(0xff), 0x01), 'cannot decode google.protobuf.Int64Value: invalid varint'],
    ['a length prefix past the end', 'google.protobuf.StringValue', hex(0x0a, 0x05, 0x61), 'cannot decode google.protobuf.StringValue: premature EOF'],
    ['a length prefix past the end (bytes)', 'google.protobuf.BytesValue', hex(0x0a, 0x02, 0x00), 'cannot decode google.protobuf.BytesValue: premature EOF'],
    ['a truncated fixed64', 'google.protobuf.DoubleValue', hex(0x09, 0x01, 0x02), 'cannot decode google.protobuf.DoubleValue: '],
    ['wire type 7', 'google.protobuf.Int32Value', hex(0x0f), 'cannot decode google.protobuf.Int32Value: cant skip wire type 7'],
    ['a truncated list entry', 'taskscheduler.ListValue', hex(0x0a, 0x09, 0x11), 'cannot decode taskscheduler.ListValue: premature EOF'],
    ['invalid UTF-8 (0xff)', 'google.protobuf.StringValue', hex(0x0a, 0x01, 0xff), 'string is not valid UTF-8'],
    ['an overlong UTF-8 NUL', 'google.protobuf.StringValue', hex(0x0a, 0x02, 0xc0, 0x80), 'string is not valid UTF-8'],
    ['a UTF-8-encoded surrogate', 'google.protobuf.StringValue', hex(0x0a, 0x03, 0xed, 0xa0, 0x80), 'string is not valid UTF-8'],
    ['a truncated UTF-8 sequence', 'google.protobuf.StringValue', hex(0x0a, 0x02, 0xc3, 0x41), 'string is not valid UTF-8'],
  ])('rejects %s, naming args[i]', (_what, type, value, reason) => {
    const err = rejection([int32Any(0), any(type, value)]);
    expect(err.message.startsWith(`Invalid arguments: args[1]: ${reason}`)).toBe(true);
    expect(err.message).toMatch(/^Invalid arguments: args\[1\]: \S/);
  });

  it('a bad StringValue inside a taskscheduler.ListValue names args[0].values[1]', () => {
    const list = tsList(anyBytes('google.protobuf.StringValue', lenField(1, 'ok')), anyBytes('google.protobuf.StringValue', hex(0x0a, 0x01, 0xff)));
    expect(rejection([any('taskscheduler.ListValue', list)]).message).toBe('Invalid arguments: args[0].values[1]: string is not valid UTF-8');
  });

  it('a bad value inside a taskscheduler.MapValue names args[0].fields["k"]', () => {
    const map = tsMap(['a', anyBytes('google.protobuf.Int32Value', hex(0x08, 0x01))], ['k', anyBytes('google.protobuf.StringValue', hex(0x0a, 0x01, 0xff))]);
    expect(rejection([any('taskscheduler.MapValue', map)]).message).toBe('Invalid arguments: args[0].fields["k"]: string is not valid UTF-8');
  });

  it('names the full path through mixed containers', () => {
    const inner = tsList(anyBytes('google.protobuf.Int32Value', hex()), anyBytes('google.protobuf.Int32Value', hex()), anyBytes('x.Y', hex()));
    const map = tsMap(['a', anyBytes('taskscheduler.ListValue', inner)]);
    const outer = tsList(anyBytes('taskscheduler.MapValue', map));
    expect(rejection([int32Any(0), any('taskscheduler.ListValue', outer)]).detail).toBe(`args[1].values[0].fields["a"].values[2]: unsupported type 'x.Y' ${SUPPORTED_LIST}`);
  });

  it('names an empty type_url and an unknown type inside containers', () => {
    const list = tsList(bytes(lenField(2, hex(0x08, 0x01))));
    expect(rejection([any('taskscheduler.ListValue', list)]).detail).toBe('args[0].values[0]: Any has an empty type_url');
    const map = tsMap(['q"x', anyBytes('foo.Bar', hex())]);
    expect(rejection([any('taskscheduler.MapValue', map)]).detail).toBe(`args[0].fields["q\\"x"]: unsupported type 'foo.Bar' ${SUPPORTED_LIST}`);
  });

  it('rejects a MapValue key that is not valid UTF-8 (at the map, since the key is unknown)', () => {
    const map = lenField(1, bytes(lenField(1, hex(0xff)), lenField(2, anyBytes('google.protobuf.Int32Value', hex()))));
    expect(rejection([any('taskscheduler.MapValue', map)]).message).toBe('Invalid arguments: args[0]: string is not valid UTF-8');
  });

  it('accepts any bytes in a BytesValue (no UTF-8 check there)', () => {
    const b = one(any('google.protobuf.BytesValue', hex(0x0a, 0x02, 0xff, 0xc0)));
    expect(b.kind === 'bytes' && [...b.value]).toEqual([0xff, 0xc0]);
  });
});
