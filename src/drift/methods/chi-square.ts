/**
 * Pearson's chi-square test, as Evidently's `chisquare` method: observed = current counts per value,
 * expected = reference counts × (n_current / n_reference), over the values of both samples; p-value
 * from χ² with (number of values − 1) degrees of freedom (scipy.stats.chisquare). A value the
 * reference never had gives an infinite statistic and a p-value of 0.
 */
import { countValues, unionKeys } from '../categories.js';
import { chiSquareSurvival } from '../numeric/gamma.js';
import { pairwiseSum } from '../numeric/pairwise-sum.js';
import type { Category, CleanColumn, MethodScore } from '../types.js';

/** Statistic and p-value of scipy.stats.chisquare(observed, expected); why: also over streaming counts. */
export function chiSquareFromCounts(
  observed: readonly number[],
  expected: readonly number[],
): { statistic: number; pValue: number } {
  const terms = observed.map((o, i) => (o - expected[i]!) ** 2 / expected[i]!);
  const statistic = pairwiseSum(terms);
  return { statistic, pValue: chiSquareSurvival(observed.length - 1, statistic) };
}

/** Evidently's chi-square p-value of a cleaned column; why: drift score of the `chisquare` method. */
export function chiSquare(column: CleanColumn): MethodScore {
  const reference: readonly Category[] = column.reference;
  const current: readonly Category[] = column.current;
  const keys = unionKeys(reference, current);
  const refCounts = countValues(reference);
  const curCounts = countValues(current);
  const scale = current.length / reference.length;
  const expected = keys.map((k) => (refCounts.get(k) ?? 0) * scale);
  const observed = keys.map((k) => curCounts.get(k) ?? 0);
  const { statistic, pValue } = chiSquareFromCounts(observed, expected);
  return { score: pValue, statistic };
}
