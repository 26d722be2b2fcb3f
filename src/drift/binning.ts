/**
 * Evidently's `get_binned_data`: the reference and current shares PSI, KL and Jensen–Shannon compare.
 * A numerical column whose reference has more than 20 distinct values is cut into Sturges bins over
 * reference and current together; any other column is shared out by value over the values of both.
 * PSI and KL then replace zero shares by a small epsilon (`feel_zeroes`); Jensen–Shannon does not.
 */
import { countValues, unionKeys } from './categories.js';
import { histogramCounts, sturgesEdges } from './histogram.js';
import type { Category, CleanColumn } from './types.js';

/** Reference distinct values above which a numerical column is binned rather than shared by value. */
export const MAX_VALUES_FOR_SHARES_BY_VALUE = 20;

/** Shares per bin (or per value) of the two samples, with the bin edges or the values they stand for. */
export interface BinnedShares {
  readonly reference: number[];
  readonly current: number[];
  /** Sturges edges when the column was binned. */
  readonly edges?: readonly number[];
  /** The values, in order, when shares are by value. */
  readonly keys?: readonly Category[];
}

/**
 * Each zero share becomes min(non-zero shares)/10⁶ when that minimum is at most 0.0001, else 0.0001,
 * for each sample separately; the shares are not renormalised. Why: PSI and KL take logs of shares.
 */
export function fillZeroes(shares: number[]): number[] {
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  if (min === Number.POSITIVE_INFINITY) return shares;
  const epsilon = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? epsilon : s));
}

/** Evidently's binned shares of a cleaned column; why: the input of PSI, KL and Jensen–Shannon. */
export function binnedShares(column: CleanColumn, fillZeroShares: boolean): BinnedShares {
  let result: BinnedShares;
  const distinctReference = new Set<Category>(column.reference).size;
  if (column.kind === 'numerical' && distinctReference > MAX_VALUES_FOR_SHARES_BY_VALUE) {
    const edges = sturgesEdges([...column.reference, ...column.current], column.integer);
    const ref = histogramCounts(column.reference, edges).map((c) => c / column.reference.length);
    const cur = histogramCounts(column.current, edges).map((c) => c / column.current.length);
    result = { reference: ref, current: cur, edges };
  } else {
    const reference: readonly Category[] = column.reference;
    const current: readonly Category[] = column.current;
    const keys = unionKeys(reference, current);
    const refCounts = countValues(reference);
    const curCounts = countValues(current);
    const ref = keys.map((k) => (refCounts.get(k) ?? 0) / reference.length);
    const cur = keys.map((k) => (curCounts.get(k) ?? 0) / current.length);
    result = { reference: ref, current: cur, keys };
  }
  if (!fillZeroShares) return result;
  return { ...result, reference: fillZeroes(result.reference), current: fillZeroes(result.current) };
}
