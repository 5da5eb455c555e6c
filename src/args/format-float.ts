/**
 * Text forms of floating-point arguments (SPEC §2): a 32-bit float prints as the shortest decimal that
 * reads back as the same float (`0.1`, not `0.10000000149011612`); a double as JavaScript's `String(n)`.
 */

/** Shortest decimal text that reads back (through `Math.fround`) as the same 32-bit float. */
export function formatFloat32(value: number): string {
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return String(f); // NaN, ±Infinity, and doubles beyond the float32 range
  const sign = f < 0 ? '-' : '';
  const magnitude = Math.abs(f);
  for (let precision = 1; precision <= 9; precision++) {
    // toExponential rounds to `precision` significant digits (the nearest such decimal). At a power of
    // two the float's rounding interval is twice as wide above as below, so when the nearest decimal
    // (below) misses, the next one up may still read back: try it too.
    const [digits, exponent] = magnitude.toExponential(precision - 1).split('e') as [string, string];
    let nearest = Number(digits.replace('.', '')); // at most 9 digits: exact
    // toExponential breaks an exact tie upwards; Rust's and Java's shortest formatting (the original's
    // output) round half to even. A tie means the exact value ends in a 5 right after these digits.
    if (nearest % 2 === 1 && isExactTie(magnitude, precision)) nearest -= 1;
    const scale = Number(exponent) - (precision - 1);
    for (const mantissa of [nearest, nearest + 1]) {
      // Number(...) then String(...) gives the shortest form of that double, which still has at most
      // `precision` significant digits.
      const candidate = Number(`${mantissa}e${scale}`);
      if (Math.fround(candidate) === magnitude) return sign + String(candidate);
    }
  }
  return String(f); // unreachable: 9 significant digits always round-trip a float32
}

/** True when `magnitude`'s exact decimal expansion is its first `precision` digits, then a single 5. */
function isExactTie(magnitude: number, precision: number): boolean {
  // Float32 values are exact doubles; toExponential prints their exact expansion digit by digit.
  const finer = magnitude.toExponential(Math.min(100, precision + 40)).split('e')[0]!.replace('.', '');
  return finer[precision] === '5' && /^0*$/.test(finer.slice(precision + 1));
}

/** Text form of a double: JavaScript's `String(n)`. */
export function formatDouble(value: number): string {
  return String(value);
}
