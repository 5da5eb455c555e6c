/** Small statistics and number formatting shared by the scenarios and the report. */

/** Median of some values (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The `p`-th percentile (0..100) of values already sorted ascending, nearest-rank method: the smallest
 * value such that at least p% of the values are ≤ it (what latency tools usually report).
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** `12,345` — thousands separators, no decimals. */
export function formatInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Milliseconds with a precision that suits their size. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** `123 µs` from seconds. */
export function formatMicros(seconds: number): string {
  return Number.isFinite(seconds) ? `${(seconds * 1e6).toFixed(0)} µs` : 'n/a';
}

/** `0.53×` */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a';
}

/** `123.4 MB` (10^6 bytes, as `ps`/`top` users read them). */
export function formatMb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)} MB` : 'n/a';
}

/** `+3.2 %` */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return 'n/a';
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)} %`;
}

/** A list of per-run values for the raw-data lines: `[8,123 8,200 8,150]`. */
export function formatRuns(values: readonly number[], format: (value: number) => string = formatInt): string {
  return `[${values.map(format).join(', ')}]`;
}
