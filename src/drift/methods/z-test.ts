/**
 * The two-proportion Z-test, as Evidently's `z` method: the first value in sorted order counts as 0,
 * every other value as 1, and z = (p_ref − p_cur)/√(P(1−P)(1/n_ref + 1/n_cur)) with the pooled P;
 * the p-value is 2·(1 − Φ(|z|)). When both samples hold one and the same single value, p = 1.
 */
import { comparePython, countValues, unionKeys } from '../categories.js';
import { ndtr } from '../numeric/normal.js';
import type { Category, CleanColumn, MethodScore } from '../types.js';

/** Two-sided p-value of the pooled two-proportion z statistic, from the counts of "1"s; why: also over streaming counts. */
export function zTestFromCounts(
  referenceOnes: number,
  referenceSize: number,
  currentOnes: number,
  currentSize: number,
): { statistic: number; pValue: number } {
  const n1 = referenceSize;
  const n2 = currentSize;
  const p1 = referenceOnes / n1;
  const p2 = currentOnes / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  return { statistic: z, pValue: 2 * (1 - ndtr(Math.abs(z))) };
}

/** Evidently's Z-test p-value of a cleaned column; why: drift score of the `z` method. */
export function zTest(column: CleanColumn): MethodScore {
  const reference: readonly Category[] = column.reference;
  const current: readonly Category[] = column.current;
  const refCounts = countValues(reference);
  const curCounts = countValues(current);
  if (refCounts.size === 1 && curCounts.size === 1 && reference[0] === current[0]) return { score: 1 };
  const first = unionKeys(reference, current).sort(comparePython)[0]!;
  const refOnes = reference.length - (refCounts.get(first) ?? 0);
  const curOnes = current.length - (curCounts.get(first) ?? 0);
  const { statistic, pValue } = zTestFromCounts(refOnes, reference.length, curOnes, current.length);
  return { score: pValue, statistic };
}
