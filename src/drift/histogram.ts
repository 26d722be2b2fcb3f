/**
 * numpy's histogram for Evidently's bins: `np.histogram_bin_edges(values, bins='sturges')` and
 * `np.histogram(values, edges)`. The edges and counts are computed with the same floating-point
 * operations as numpy, so a value on an edge falls in the same bin.
 */

/** `np.linspace(start, stop, num)`: start + i·step, with the last point set to stop exactly. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const delta = stop - start;
  const out = new Array<number>(num);
  if (div <= 0) {
    for (let i = 0; i < num; i += 1) out[i] = i * delta + start;
    return out;
  }
  const step = delta / div;
  for (let i = 0; i < num; i += 1) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * Sturges bin edges over the values, as `np.histogram_bin_edges(values, 'sturges')`: width
 * range/(log2(n)+1) (at least 1 for integer dtypes), ceil(range/width) equal bins from min to max.
 * Why: Evidently bins numerical columns this way over reference and current together.
 */
export function sturgesEdges(values: readonly number[], integer = false): number[] {
  if (values.length === 0) return [0, 1];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let width = (max - min) / (Math.log2(values.length) + 1);
  let bins = 1;
  if (width) {
    if (integer && width < 1) width = 1;
    bins = Math.ceil((last - first) / width);
  }
  return linspace(first, last, bins + 1);
}

/**
 * Counts per bin as `np.histogram(values, edges)`: bin i holds edges[i] ≤ v < edges[i+1], the last
 * bin also v = edges[last]; values outside the edges are not counted. Why: Evidently's bin shares.
 */
export function histogramCounts(values: readonly number[], edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  const first = edges[0]!;
  const last = edges[bins]!;
  for (const v of values) {
    if (!(v >= first && v <= last)) continue;
    counts[binIndex(v, edges)]! += 1;
  }
  return counts;
}

/** The bin of a value within [edges[0], edges[last]]: the last edge ≤ v, with v = last edge in the last bin. */
export function binIndex(v: number, edges: readonly number[]): number {
  const bins = edges.length - 1;
  let lo = 0;
  let hi = bins;
  // Largest i in [0, bins] with edges[i] <= v.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid]! <= v) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(lo, bins - 1);
}
