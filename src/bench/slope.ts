/**
 * Trend figures of a sampled series, for the soak: the least-squares slope of value over time (per
 * hour), with the first, last and largest value. Pure: samples in, figures out.
 */

/** One measurement of a series: when (ms since some origin) and what. */
export interface TimedValue {
  readonly atMs: number;
  readonly value: number;
}

/** What a soak reports of one series over the samples it judges. */
export interface Trend {
  /** Samples the figures come from (non-finite values left out). */
  readonly samples: number;
  readonly start: number;
  readonly end: number;
  readonly max: number;
  /** Least-squares slope of value over time, per hour (NaN with fewer than two samples or no time between them). */
  readonly perHour: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * The ordinary least-squares slope of `value` over `atMs`, in value units per millisecond: Σ(t − t̄)(v − v̄) ÷
 * Σ(t − t̄)². NaN when fewer than two finite points or when they all share one time.
 */
export function leastSquaresSlope(points: readonly TimedValue[]): number {
  const finite = points.filter((p) => Number.isFinite(p.atMs) && Number.isFinite(p.value));
  if (finite.length < 2) return Number.NaN;
  let meanT = 0;
  let meanV = 0;
  for (const p of finite) {
    meanT += p.atMs;
    meanV += p.value;
  }
  meanT /= finite.length;
  meanV /= finite.length;
  let covariance = 0;
  let variance = 0;
  for (const p of finite) {
    // Centred first, so epoch-sized times do not cost precision.
    const dt = p.atMs - meanT;
    covariance += dt * (p.value - meanV);
    variance += dt * dt;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}

/** Start, end, max and the slope per hour of the finite points, in time order. */
export function trendOf(points: readonly TimedValue[]): Trend {
  const finite = points.filter((p) => Number.isFinite(p.atMs) && Number.isFinite(p.value)).sort((a, b) => a.atMs - b.atMs);
  if (finite.length === 0) return { samples: 0, start: Number.NaN, end: Number.NaN, max: Number.NaN, perHour: Number.NaN };
  return {
    samples: finite.length,
    start: (finite[0] as TimedValue).value,
    end: (finite[finite.length - 1] as TimedValue).value,
    max: Math.max(...finite.map((p) => p.value)),
    perHour: leastSquaresSlope(finite) * MS_PER_HOUR,
  };
}

/**
 * Where the warm-up of a phase lasting `phaseMs` ends: after `fraction` of it or `minMs` into it,
 * whichever is later (so short runs still leave out their start-up).
 */
export function warmUpEndMs(phaseMs: number, o: { readonly fraction: number; readonly minMs: number }): number {
  return Math.max(phaseMs * o.fraction, o.minMs);
}
