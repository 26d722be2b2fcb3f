/**
 * The two-sample Kolmogorov–Smirnov test as scipy.stats.ks_2samp(method='auto', two-sided), which
 * Evidently's `ks` method calls: D = max |F_ref − F_cur| over all values (ties handled by counting
 * values ≤ x); the exact p-value while both samples have at most 10000 values, else the asymptotic
 * one from kstwo with n = round(n₁n₂/(n₁+n₂)). In exact mode D is reported on the lattice, h/lcm.
 */
import { DriftInputError } from '../errors.js';
import { kolmogorovTwoSidedSurvival } from '../numeric/kolmogorov.js';
import { probOutsideBand, probOutsideSquare } from '../numeric/ks-exact.js';
import { roundHalfEven } from '../numeric/round-half-even.js';
import type { CleanColumn, MethodScore } from '../types.js';

/** ks_2samp's size limit for the exact p-value in 'auto' mode. */
export const MAX_EXACT_SIZE = 10000;

/** Statistic and p-value of a two-sample KS test, and which p-value scipy's 'auto' mode used. */
export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly mode: 'exact' | 'asymptotic';
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** The largest gaps of F₁ − F₂ either way: max(F₁ − F₂) and max(F₂ − F₁, 0). */
function cdfGaps(a: Float64Array, b: Float64Array): { maxS: number; minS: number } {
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minDiff = Number.POSITIVE_INFINITY;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < a.length && a[i]! <= x) i += 1;
    while (j < b.length && b[j]! <= x) j += 1;
    const diff = i / a.length - j / b.length;
    if (diff > maxS) maxS = diff;
    if (diff < minDiff) minDiff = diff;
  }
  return { maxS, minS: Math.min(Math.max(-minDiff, 0), 1) };
}

/** scipy.stats.ks_2samp(a, b) two-sided with method 'auto'; why: Evidently's `ks` p-value. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new DriftInputError('ks_2samp needs two non-empty samples');
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  const { maxS, minS } = cdfGaps(sa, sb);
  let d = minS > maxS ? minS : maxS;
  const g = gcd(n1, n2);
  if (Math.max(n1, n2) <= MAX_EXACT_SIZE) {
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, mode: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: d, pValue: prob, mode: 'exact' };
    // scipy falls back to the asymptotic p-value (with a warning) when the exact one fails.
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const prob = kolmogorovTwoSidedSurvival(d, roundHalfEven(en));
  return { statistic: d, pValue: Math.min(1, Math.max(0, prob)), mode: 'asymptotic' };
}

/** Evidently's `ks` method on a cleaned numerical column: the p-value is the score, D the statistic. */
export function kolmogorovSmirnov(column: CleanColumn): MethodScore {
  if (column.kind !== 'numerical') throw new DriftInputError('ks applies to numerical columns only');
  const result = ksTwoSample(column.reference, column.current);
  return { score: result.pValue, statistic: result.statistic };
}
