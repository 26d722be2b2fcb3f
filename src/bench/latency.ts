/**
 * Latency figures of a benchmark run, from capture time to the prediction's append time, kept in an
 * HDR histogram (hdr-histogram-js: constant memory, 3 significant digits at any count) so a long paced
 * run reports p50/p95/p99/max without holding every sample.
 */
import { build } from 'hdr-histogram-js';

/** Milliseconds at the percentiles a user reads, over `count` samples. */
export interface LatencyFigures {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** The percentiles of `samplesMs` (negative samples, from clocks a millisecond apart, count as 0). */
export function latencyFigures(samplesMs: Iterable<number>): LatencyFigures {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  try {
    for (const sample of samplesMs) histogram.recordValue(Math.max(0, Math.round(sample)));
    const count = histogram.totalCount;
    if (count === 0) return { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
    // A percentile is read at its bucket's upper edge (3 significant digits), which can pass the largest sample: never above it.
    const at = (p: number): number => Math.min(histogram.getValueAtPercentile(p), histogram.maxValue);
    return { count, p50: at(50), p95: at(95), p99: at(99), max: histogram.maxValue };
  } finally {
    histogram.destroy();
  }
}
