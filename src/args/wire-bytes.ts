/**
 * Byte-level pieces shared by the hand-written protobuf readers and writers (the argument decoder, the
 * SubmitTask request decoder, the direct response encoders, the memory store's record log).
 */

/** Strings up to this many bytes are decoded in JavaScript when they are ASCII (keys, short values, method names): ~4× cheaper than a TextDecoder call. */
const SHORT_ASCII_BYTES = 12;

/**
 * Scratch space for those: one array per length, filled with the bytes and spread into one
 * String.fromCharCode call, so the string is allocated once (appending character by character
 * allocates every prefix). Only ever used inside one synchronous shortAscii call.
 */
const SHORT_ASCII_CODES: readonly number[][] = Array.from({ length: SHORT_ASCII_BYTES + 1 }, (_, n) => new Array<number>(n).fill(0));

/** `buf[start, end)` as a string when it is short and all ASCII; undefined otherwise (decode it as UTF-8). */
export function shortAscii(buf: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length > SHORT_ASCII_BYTES) return undefined;
  const codes = SHORT_ASCII_CODES[length]!;
  for (let i = 0; i < length; i++) {
    const byte = buf[start + i]!;
    if (byte >= 0x80) return undefined;
    codes[i] = byte;
  }
  return String.fromCharCode.apply(null, codes);
}

/** Writes `n` (0 ≤ n < 2^32) as a varint at `pos`; returns the position after it. */
export function writeVarint32(buf: Uint8Array, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}
