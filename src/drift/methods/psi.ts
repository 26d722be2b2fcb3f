/** Population Stability Index, as Evidently's `psi` method: Σ (ref − cur)·ln(ref/cur) over binned shares with zeroes filled. */
import { binnedShares } from '../binning.js';
import { pairwiseSum } from '../numeric/pairwise-sum.js';
import type { CleanColumn, MethodScore } from '../types.js';

/** PSI of two share vectors (no zero shares); why: also the streaming mode's PSI over fixed bins. */
export function psiFromShares(reference: readonly number[], current: readonly number[]): number {
  const terms = reference.map((r, i) => (r - current[i]!) * Math.log(r / current[i]!));
  return pairwiseSum(terms);
}

/** Evidently's PSI of a cleaned column; why: drift score of the `psi` method. */
export function psi(column: CleanColumn): MethodScore {
  const shares = binnedShares(column, true);
  return { score: psiFromShares(shares.reference, shares.current) };
}
