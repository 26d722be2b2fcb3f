/**
 * Normed Wasserstein distance, as Evidently's `wasserstein` method: scipy.stats.wasserstein_distance
 * (the area between the two empirical CDFs) divided by max(population std of the reference, 0.001).
 */
import { DriftInputError } from '../errors.js';
import { pairwiseSum } from '../numeric/pairwise-sum.js';
import type { CleanColumn, MethodScore } from '../types.js';

/** Evidently's floor on the norm, so a constant reference does not divide by zero. */
export const MIN_NORM = 0.001;

/** Population standard deviation (ddof 0) by pandas' two-pass formula; why: Evidently's norm is np.std(reference). */
export function populationStd(values: readonly number[]): number {
  const mean = pairwiseSum(values) / values.length;
  const squares = values.map((v) => (mean - v) ** 2);
  return Math.sqrt(pairwiseSum(squares) / values.length);
}

/** First Wasserstein distance ∫|U − V| between the empirical distributions; why: the unnormed score. */
export function wassersteinDistance(u: readonly number[], v: readonly number[]): number {
  const us = Float64Array.from(u).sort();
  const vs = Float64Array.from(v).sort();
  const all = new Float64Array(us.length + vs.length);
  all.set(us);
  all.set(vs, us.length);
  all.sort();
  const terms = new Float64Array(all.length - 1);
  let iu = 0;
  let iv = 0;
  for (let i = 0; i < all.length - 1; i += 1) {
    const x = all[i]!;
    // searchsorted(…, 'right'): how many values are ≤ x.
    while (iu < us.length && us[iu]! <= x) iu += 1;
    while (iv < vs.length && vs[iv]! <= x) iv += 1;
    terms[i] = Math.abs(iu / us.length - iv / vs.length) * (all[i + 1]! - x);
  }
  return pairwiseSum(terms);
}

/** Evidently's normed Wasserstein distance of a cleaned numerical column; why: drift score of `wasserstein`. */
export function wassersteinNormed(column: CleanColumn): MethodScore {
  if (column.kind !== 'numerical') throw new DriftInputError('wasserstein applies to numerical columns only');
  const norm = Math.max(populationStd(column.reference), MIN_NORM);
  return { score: wassersteinDistance(column.reference, column.current) / norm };
}
