/**
 * Kullback–Leibler divergence KL(reference ‖ current), as Evidently's `kl_div` method: scipy.stats.entropy
 * of the binned shares with zeroes filled. entropy renormalises both vectors to sum to 1 (the filled
 * epsilons make them sum to slightly more), and uses the natural logarithm.
 */
import { binnedShares } from '../binning.js';
import { pairwiseSum } from '../numeric/pairwise-sum.js';
import { relEntr } from '../numeric/rel-entr.js';
import type { CleanColumn, MethodScore } from '../types.js';

/** scipy.stats.entropy(p, q): Σ rel_entr(p/Σp, q/Σq), in nats; why: also usable over streaming histograms. */
export function klFromShares(reference: readonly number[], current: readonly number[]): number {
  const refSum = pairwiseSum(reference);
  const curSum = pairwiseSum(current);
  const terms = reference.map((r, i) => relEntr(r / refSum, current[i]! / curSum));
  return pairwiseSum(terms);
}

/** Evidently's KL divergence of a cleaned column; why: drift score of the `kl_div` method. */
export function klDivergence(column: CleanColumn): MethodScore {
  const shares = binnedShares(column, true);
  return { score: klFromShares(shares.reference, shares.current) };
}
