/**
 * The two-sample Kolmogorov–Smirnov test on binned data: D is the largest gap between the two
 * cumulative shares at the bin edges (the exact D restricted to the edges, so never above the D of
 * the values), and the p-value is scipy's asymptotic one for the exact sample sizes (kstwo with
 * n = round(n₁n₂/(n₁+n₂))). Binning makes it conservative; unlike a distance between shares, its
 * verdict accounts for how many values each side holds, which is what a window of 100 inputs needs.
 */
import { DriftInputError } from '../errors.js';
import { kolmogorovTwoSidedSurvival } from '../numeric/kolmogorov.js';
import { roundHalfEven } from '../numeric/round-half-even.js';

/** D and the p-value of a KS test on two histograms over the same bins; why: the streaming mode's size-aware test. */
export function ksFromBinnedCounts(reference: readonly number[], current: readonly number[]): { statistic: number; pValue: number } {
  if (reference.length !== current.length) throw new DriftInputError('binned KS needs histograms over the same bins');
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < reference.length; i += 1) {
    n1 += reference[i]!;
    n2 += current[i]!;
  }
  if (n1 === 0 || n2 === 0) throw new DriftInputError('binned KS needs two non-empty histograms');
  let c1 = 0;
  let c2 = 0;
  let d = 0;
  for (let i = 0; i < reference.length; i += 1) {
    c1 += reference[i]!;
    c2 += current[i]!;
    const gap = Math.abs(c1 / n1 - c2 / n2);
    if (gap > d) d = gap;
  }
  if (d === 0) return { statistic: 0, pValue: 1 };
  const en = (n1 * n2) / (n1 + n2);
  const p = kolmogorovTwoSidedSurvival(d, Math.max(1, roundHalfEven(en)));
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)) };
}
