/**
 * Jensen–Shannon distance, as Evidently's `jensenshannon` method: scipy.spatial.distance.jensenshannon
 * of the binned shares, with zero shares left as they are, natural log: √((KL(p‖m) + KL(q‖m))/2), m = (p+q)/2.
 */
import { binnedShares } from '../binning.js';
import { pairwiseSum } from '../numeric/pairwise-sum.js';
import { relEntr } from '../numeric/rel-entr.js';
import type { CleanColumn, MethodScore } from '../types.js';

/** scipy's jensenshannon(p, q) with base e; why: also usable over streaming histograms. */
export function jensenShannonFromShares(reference: readonly number[], current: readonly number[]): number {
  const refSum = pairwiseSum(reference);
  const curSum = pairwiseSum(current);
  const p = reference.map((r) => r / refSum);
  const q = current.map((c) => c / curSum);
  const m = p.map((pi, i) => (pi + q[i]!) / 2);
  const left = pairwiseSum(p.map((pi, i) => relEntr(pi, m[i]!)));
  const right = pairwiseSum(q.map((qi, i) => relEntr(qi, m[i]!)));
  return Math.sqrt((left + right) / 2);
}

/** Evidently's Jensen–Shannon distance of a cleaned column; why: drift score of the `jensenshannon` method. */
export function jensenShannon(column: CleanColumn): MethodScore {
  const shares = binnedShares(column, false);
  return { score: jensenShannonFromShares(shares.reference, shares.current) };
}
