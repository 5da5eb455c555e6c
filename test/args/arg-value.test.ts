import Long from 'long';
import { arg, integerToBigInt, isIntegerArg, type ArgValue } from '../../src/args/arg-value';

describe('arg builders', () => {
  it('int32 accepts the full range and rejects the rest with RangeError naming the value', () => {
    expect(arg.int32(-2147483648)).toEqual({ kind: 'int32', value: -2147483648 });
    expect(arg.int32(2147483647)).toEqual({ kind: 'int32', value: 2147483647 });
    expect(() => arg.int32(2147483648)).toThrow(new RangeError('int32 out of range: 2147483648'));
    expect(() => arg.int32(-2147483649)).toThrow(RangeError);
    expect(() => arg.int32(1.5)).toThrow('int32 out of range: 1.5');
    expect(() => arg.int32(NaN)).toThrow('int32 out of range: NaN');
    expect(() => arg.int32(Infinity)).toThrow(RangeError);
  });

  it('uint32 accepts 0..4294967295', () => {
    expect(arg.uint32(0)).toEqual({ kind: 'uint32', value: 0 });
    expect(arg.uint32(4294967295)).toEqual({ kind: 'uint32', value: 4294967295 });
    expect(() => arg.uint32(-1)).toThrow(new RangeError('uint32 out of range: -1'));
    expect(() => arg.uint32(4294967296)).toThrow('uint32 out of range: 4294967296');
    expect(() => arg.uint32(0.5)).toThrow(RangeError);
  });

  it('int64 takes Long, bigint, safe number or decimal string, exactly', () => {
    const min = arg.int64('-9223372036854775808');
    expect(min.kind).toBe('int64');
    expect(min.value.toString()).toBe('-9223372036854775808');
    expect(min.value.unsigned).toBe(false);
    expect(arg.int64((1n << 63n) - 1n).value.toString()).toBe('9223372036854775807');
    expect(arg.int64(-42).value.toString()).toBe('-42');
    expect(arg.int64(Number.MAX_SAFE_INTEGER).value.toString()).toBe('9007199254740991');
    expect(arg.int64(Long.fromInt(7, true)).value).toEqual(Long.fromInt(7, false));
  });

  it('int64 passes a signed Long through unchanged', () => {
    const l = Long.fromString('123456789012345');
    expect(arg.int64(l).value).toBe(l);
  });

  it('int64 rejects out-of-range and inexact inputs', () => {
    expect(() => arg.int64(1n << 63n)).toThrow(new RangeError('int64 out of range: 9223372036854775808'));
    expect(() => arg.int64(-(1n << 63n) - 1n)).toThrow('int64 out of range: -9223372036854775809');
    expect(() => arg.int64(Long.MAX_UNSIGNED_VALUE)).toThrow('int64 out of range: 18446744073709551615');
    expect(() => arg.int64(2 ** 53)).toThrow('not a safe integer: 9007199254740992 (pass a bigint or string)');
    expect(() => arg.int64(1.5)).toThrow(RangeError);
    expect(() => arg.int64('12a')).toThrow('not an integer: "12a"');
    expect(() => arg.int64('')).toThrow('not an integer: ""');
    expect(() => arg.int64('1e3')).toThrow(RangeError);
    expect(() => arg.int64(' 1')).toThrow(RangeError);
  });

  it('uint64 takes 0..2^64-1 and returns an unsigned Long', () => {
    const max = arg.uint64((1n << 64n) - 1n);
    expect(max.value.unsigned).toBe(true);
    expect(max.value.toString()).toBe('18446744073709551615');
    expect(arg.uint64('18446744073709551615').value.equals(Long.MAX_UNSIGNED_VALUE)).toBe(true);
    expect(arg.uint64(Long.MAX_UNSIGNED_VALUE).value).toBe(Long.MAX_UNSIGNED_VALUE);
    expect(arg.uint64(Long.fromInt(5)).value).toEqual(Long.fromInt(5, true));
    expect(arg.uint64(0).value.toString()).toBe('0');
    expect(() => arg.uint64(-1n)).toThrow(new RangeError('uint64 out of range: -1'));
    expect(() => arg.uint64(Long.NEG_ONE)).toThrow('uint64 out of range: -1');
    expect(() => arg.uint64(1n << 64n)).toThrow('uint64 out of range: 18446744073709551616');
    expect(() => arg.uint64('-1')).toThrow(RangeError);
  });

  it('float rounds to 32 bits; double keeps the number', () => {
    expect(arg.float(0.1)).toEqual({ kind: 'float', value: Math.fround(0.1) });
    expect(arg.float(0.1).value).not.toBe(0.1);
    expect(arg.float(1e40).value).toBe(Infinity);
    expect(arg.double(0.1)).toEqual({ kind: 'double', value: 0.1 });
    expect(Number.isNaN(arg.double(NaN).value)).toBe(true);
  });

  it('bool, string, bytes, null', () => {
    expect(arg.bool(false)).toEqual({ kind: 'bool', value: false });
    expect(arg.string('')).toEqual({ kind: 'string', value: '' });
    const b = Uint8Array.of(1, 2);
    expect(arg.bytes(b).value).toBe(b);
    expect(arg.null()).toEqual({ kind: 'null', value: null });
  });

  it('list keeps the given array; map takes a Map (kept) or entries', () => {
    const items: ArgValue[] = [arg.int32(1)];
    expect(arg.list(items)).toEqual({ kind: 'list', value: items });
    const m = new Map<string, ArgValue>([['a', arg.bool(true)]]);
    expect(arg.map(m).value).toBe(m);
    const fromEntries = arg.map([
      ['__proto__', arg.int32(1)],
      ['b', arg.null()],
    ]);
    expect(fromEntries.value).toBeInstanceOf(Map);
    expect([...fromEntries.value.keys()]).toEqual(['__proto__', 'b']);
    expect(({} as Record<string, unknown>)['b']).toBeUndefined();
  });
});

describe('isIntegerArg and integerToBigInt', () => {
  it('recognises exactly the four integer kinds', () => {
    const ints: ArgValue[] = [arg.int32(1), arg.int64(1), arg.uint32(1), arg.uint64(1)];
    const others: ArgValue[] = [arg.float(1), arg.double(1), arg.bool(true), arg.string('1'), arg.bytes(Uint8Array.of(1)), arg.list([]), arg.map([]), arg.null()];
    expect(ints.map(isIntegerArg)).toEqual([true, true, true, true]);
    expect(others.map(isIntegerArg)).toEqual(others.map(() => false));
    expect(isIntegerArg(undefined)).toBe(false);
  });

  it('converts every integer kind exactly', () => {
    expect(integerToBigInt(arg.int32(-2147483648))).toBe(-2147483648n);
    expect(integerToBigInt(arg.uint32(4294967295))).toBe(4294967295n);
    expect(integerToBigInt(arg.int64('-9223372036854775808'))).toBe(-(1n << 63n));
    expect(integerToBigInt(arg.int64('9223372036854775807'))).toBe((1n << 63n) - 1n);
    expect(integerToBigInt(arg.uint64('18446744073709551615'))).toBe((1n << 64n) - 1n);
  });
});
