import Long from 'long';

/**
 * A decoded task argument (SPEC §2): a discriminated union on `kind`, so a task can `switch` over it
 * exhaustively. 64-bit integers are `Long`s so they stay exact; maps are `Map`s so that any string —
 * `__proto__` included — is an ordinary key.
 */
export type ArgValue =
  | { readonly kind: 'int32'; readonly value: number }
  | { readonly kind: 'int64'; readonly value: Long }
  | { readonly kind: 'uint32'; readonly value: number }
  | { readonly kind: 'uint64'; readonly value: Long }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'list'; readonly value: readonly ArgValue[] }
  | { readonly kind: 'map'; readonly value: ReadonlyMap<string, ArgValue> }
  | { readonly kind: 'null'; readonly value: null };

/** The `kind` tags of {@link ArgValue}. */
export type ArgKind = ArgValue['kind'];

/** The {@link ArgValue} variant of one kind, e.g. `ArgOf<'int64'>`. */
export type ArgOf<K extends ArgKind> = Extract<ArgValue, { kind: K }>;

/** Integer kinds: int32, int64, uint32, uint64. */
export type IntegerArg = ArgOf<'int32' | 'int64' | 'uint32' | 'uint64'>;

/** True for the four integer kinds. */
export function isIntegerArg(arg: ArgValue | undefined): arg is IntegerArg {
  return arg !== undefined && (arg.kind === 'int32' || arg.kind === 'int64' || arg.kind === 'uint32' || arg.kind === 'uint64');
}

/** An integer argument of any kind as an exact bigint. */
export function integerToBigInt(arg: IntegerArg): bigint {
  switch (arg.kind) {
    case 'int32':
    case 'uint32':
      return BigInt(arg.value);
    case 'int64':
    case 'uint64':
      return BigInt(arg.value.toString());
  }
}

/**
 * Builders for each kind — for tests, clients and tasks that return structured values.
 * Range checks throw `RangeError` naming the bad value.
 */
export const arg = {
  int32(value: number): ArgOf<'int32'> {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new RangeError(`int32 out of range: ${value}`);
    }
    return { kind: 'int32', value };
  },
  int64(value: Long | bigint | number | string): ArgOf<'int64'> {
    return { kind: 'int64', value: toLong(value, false) };
  },
  uint32(value: number): ArgOf<'uint32'> {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`uint32 out of range: ${value}`);
    }
    return { kind: 'uint32', value };
  },
  uint64(value: Long | bigint | number | string): ArgOf<'uint64'> {
    return { kind: 'uint64', value: toLong(value, true) };
  },
  float(value: number): ArgOf<'float'> {
    return { kind: 'float', value: Math.fround(value) };
  },
  double(value: number): ArgOf<'double'> {
    return { kind: 'double', value };
  },
  bool(value: boolean): ArgOf<'bool'> {
    return { kind: 'bool', value };
  },
  string(value: string): ArgOf<'string'> {
    return { kind: 'string', value };
  },
  bytes(value: Uint8Array): ArgOf<'bytes'> {
    return { kind: 'bytes', value };
  },
  list(values: readonly ArgValue[]): ArgOf<'list'> {
    return { kind: 'list', value: values };
  },
  map(entries: ReadonlyMap<string, ArgValue> | Iterable<readonly [string, ArgValue]>): ArgOf<'map'> {
    return { kind: 'map', value: entries instanceof Map ? entries : new Map(entries) };
  },
  null(): ArgOf<'null'> {
    return { kind: 'null', value: null };
  },
} as const;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

function toLong(value: Long | bigint | number | string, unsigned: boolean): Long {
  if (Long.isLong(value) && value.unsigned === unsigned) return value;
  let big: bigint;
  if (Long.isLong(value)) big = BigInt(value.toString());
  else if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value} (pass a bigint or string)`);
    big = BigInt(value);
  } else {
    if (!/^-?\d+$/.test(value)) throw new RangeError(`not an integer: ${JSON.stringify(value)}`);
    big = BigInt(value);
  }
  const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (big < min || big > max) throw new RangeError(`${unsigned ? 'uint64' : 'int64'} out of range: ${big}`);
  return Long.fromString(big.toString(), unsigned);
}
