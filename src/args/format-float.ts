/**
 * Text forms of floating-point arguments (SPEC §2): a 32-bit float prints as the shortest decimal that
 * reads back as the same float (`0.1`, not `0.10000000149011612`); a double as JavaScript's `String(n)`.
 */

/** Shortest decimal text that reads back (through `Math.fround`) as the same 32-bit float. */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const f = Math.fround(value);
  for (let precision = 1; precision <= 9; precision++) {
    // toPrecision rounds to `precision` significant digits; Number(...) then String(...) gives the
    // shortest form of that double, which still has at most `precision` significant digits.
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) return String(candidate);
  }
  return String(f); // unreachable: 9 significant digits always round-trip a float32
}

/** Text form of a double: JavaScript's `String(n)`. */
export function formatDouble(value: number): string {
  return String(value);
}
