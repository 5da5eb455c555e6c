import { formatDouble, formatFloat32 } from '../../src/args/format-float';
import { prng } from './wire';

// --- An exact reference: rationals as [numerator, denominator] bigints, no floating point involved. ---
type Rational = readonly [bigint, bigint];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsToFloat = (bits: number): number => ((u32[0] = bits >>> 0), f32[0]!);
const floatToBits = (x: number): number => ((f32[0] = x), u32[0]!);

/** The exact value of a finite double. */
function exact(x: number): Rational {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased !== 0) mantissa |= 1n << 52n;
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  if (hi >>> 31) mantissa = -mantissa;
  return exponent >= 0 ? [mantissa << BigInt(exponent), 1n] : [mantissa, 1n << BigInt(-exponent)];
}
const cmp = (a: Rational, b: Rational): number => {
  const l = a[0] * b[1];
  const r = b[0] * a[1];
  return l < r ? -1 : l > r ? 1 : 0;
};
const midpoint = (a: Rational, b: Rational): Rational => [a[0] * b[1] + b[0] * a[1], 2n * a[1] * b[1]];
const pow10 = (n: number): Rational => (n >= 0 ? [10n ** BigInt(n), 1n] : [1n, 10n ** BigInt(-n)]);

/** Whether the decimal `q`×10^`e` reads (round-half-even, directly to 32 bits) as the positive float `f`. */
function readsAs(q: bigint, e: number, f: number): boolean {
  const bits = floatToBits(f);
  const value: Rational = e >= 0 ? [q * 10n ** BigInt(e), 1n] : [q, 10n ** BigInt(-e)];
  const self = exact(f);
  const next = bitsToFloat(bits + 1);
  const above = midpoint(self, exact(Number.isFinite(next) ? next : 2 ** 128));
  const below = bits === 0 ? null : midpoint(exact(bitsToFloat(bits - 1)), self);
  const even = (bits & 1) === 0;
  const lo = below === null ? 1 : cmp(value, below);
  const hi = cmp(value, above);
  return (lo > 0 || (lo === 0 && even)) && (hi < 0 || (hi === 0 && even));
}

/** Parses decimal text into digits q and exponent e (value = q×10^e). */
function parseDecimal(text: string): { q: bigint; e: number; digits: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!m) throw new Error(`not a plain decimal: ${text}`);
  const fraction = m[2] ?? '';
  const q = BigInt(m[1]! + fraction);
  return { q, e: Number(m[3] ?? 0) - fraction.length, digits: q.toString().replace(/0+$/, '').length };
}

/** Fewest significant digits of any decimal that reads as the positive float `f`. */
function shortestDigits(f: number): number {
  const self = exact(f);
  let k = Math.floor(Math.log10(f));
  while (cmp(pow10(k), self) > 0) k--;
  while (cmp(pow10(k + 1), self) <= 0) k++;
  for (let p = 1; p <= 9; p++) {
    const scale = pow10(p - 1 - k);
    const floor = (self[0] * scale[0]) / (self[1] * scale[1]);
    if ([floor, floor + 1n].some((q) => readsAs(q, k - (p - 1), f))) return p;
  }
  throw new Error(`no decimal of 9 digits reads as ${f}`);
}

/** Checks `formatFloat32(f)` for a positive float: reads back exactly, and no shorter decimal does. */
function checkShortest(f: number): void {
  const text = formatFloat32(f);
  const { q, e, digits } = parseDecimal(text);
  if (!readsAs(q, e, f) || digits !== shortestDigits(f) || Math.fround(Number(text)) !== f) {
    throw new Error(`formatFloat32(${f}) = ${text}: reads back ${readsAs(q, e, f)}, ${digits} digits, shortest ${shortestDigits(f)}`);
  }
}

describe('formatFloat32', () => {
  it.each<[number, string]>([
    [0.1, '0.1'],
    [Math.fround(0.1), '0.1'],
    [1.5, '1.5'],
    [1 / 3, '0.33333334'],
    [-1 / 3, '-0.33333334'],
    [2 / 3, '0.6666667'],
    [16777216, '16777216'],
    [16777217, '16777216'],
    [16777218, '16777218'],
    [1e-45, '1e-45'],
    [1.401298464324817e-45, '1e-45'],
    [1.1754943508222875e-38, '1.1754944e-38'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [-3.4028234663852886e38, '-3.4028235e+38'],
    [100, '100'],
    [1e10, '10000000000'],
    [123456789, '123456790'],
    [0.3, '0.3'],
    [-2.5, '-2.5'],
    [1e21, '1e+21'],
    [0, '0'],
    [-0, '0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [1e39, 'Infinity'],
    [1e-46, '0'],
  ])('%p → %s', (input, expected) => {
    expect(formatFloat32(input)).toBe(expected);
  });

  it('output always reads back as the same float32', () => {
    for (const x of [0.1, 0.2, 0.7, 1 / 3, Math.PI, Math.E, 1e-40, 5e-40, 65504, 3e38, -7.1e-12]) {
      const f = Math.fround(x);
      expect(Math.fround(Number(formatFloat32(x)))).toBe(f);
    }
  });

  it('powers of two, whose rounding interval is narrower below: shortest, not the nearest 9 digits', () => {
    // For these three the nearest 8-digit decimal lies just outside the narrow lower half-interval;
    // the next one up still reads back.
    expect(formatFloat32(2 ** 87)).toBe('1.5474251e+26');
    expect(formatFloat32(2 ** 90)).toBe('1.2379401e+27');
    expect(formatFloat32(2 ** -96)).toBe('1.2621775e-29');
    expect(formatFloat32(-(2 ** 87))).toBe('-1.5474251e+26');
    for (let e = -149; e <= 127; e++) checkShortest(2 ** e);
  });

  it('matches an exact big-integer reference on random float32 bit patterns (seeded)', () => {
    const next = prng(0xf10a7);
    let checked = 0;
    while (checked < 3000) {
      const f = bitsToFloat(Math.floor(next() * 0x7f800000)); // positive finite, denormals included
      if (f === 0) continue;
      checkShortest(f);
      checked++;
    }
    for (let bits = 1; bits <= 64; bits++) checkShortest(bitsToFloat(bits)); // smallest denormals
    for (let bits = 0x7f7fffc0; bits <= 0x7f7fffff; bits++) checkShortest(bitsToFloat(bits)); // largest floats
  });

  it('is symmetric in sign', () => {
    const next = prng(99);
    for (let i = 0; i < 500; i++) {
      const f = bitsToFloat(Math.floor(next() * 0x7f800000));
      expect(formatFloat32(-f)).toBe(f === 0 ? '0' : `-${formatFloat32(f)}`);
    }
  });
});

describe('formatFloat32 ties', () => {
  it('breaks an exact tie between two equally short decimals to even, as Rust and Java do', () => {
    // 1703448.25 is a float32; 1703448.2 and 1703448.3 both read back and are equally close.
    expect(Math.fround(1703448.25)).toBe(1703448.25);
    expect(formatFloat32(1703448.25)).toBe('1703448.2');
    expect(formatFloat32(-1703448.25)).toBe('-1703448.2');
    // Not a tie (1703448.375 is nearer to .4): the nearest decimal wins.
    expect(formatFloat32(1703448.375)).toBe('1703448.4');
  });
});

describe('formatDouble', () => {
  it("is JavaScript's String(n)", () => {
    for (const x of [0.1, 1 / 3, 1e21, 1e-7, 123456789012345680000, -0, 5e-324, Number.MAX_VALUE, NaN, -Infinity]) {
      expect(formatDouble(x)).toBe(String(x));
    }
    expect(formatDouble(0.1)).toBe('0.1');
    expect(formatDouble(1e21)).toBe('1e+21');
    expect(formatDouble(Math.fround(0.1))).toBe('0.10000000149011612');
  });
});
