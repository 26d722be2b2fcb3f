/**
 * Evidently's automatic choice of drift method (`_get_default_stattest`), from the column kind, the
 * reference size after dropping missing values, and the distinct values of both samples together:
 *
 * | reference size | numerical                                   | categorical                 |
 * |----------------|---------------------------------------------|-----------------------------|
 * | ≤ 1000         | ks; ≤ 5 values: chisquare (3–5), z (≤ 2)     | chisquare; ≤ 2 values: z    |
 * | > 1000         | wasserstein; ≤ 5 values: jensenshannon      | jensenshannon               |
 */
import { countDistinct } from './categories.js';
import type { CleanColumn, DriftMethodId } from './types.js';

/** Reference sizes up to this get the statistical tests; larger ones the distances. */
export const SMALL_REFERENCE_MAX = 1000;
/** Numerical columns with at most this many distinct values are treated like categories. */
export const FEW_VALUES_MAX = 5;

/** The method Evidently picks for a cleaned column when none is asked for; why: same defaults, same numbers. */
export function defaultMethod(column: CleanColumn): DriftMethodId {
  const distinct = countDistinct(column.reference, column.current);
  if (column.reference.length <= SMALL_REFERENCE_MAX) {
    if (column.kind === 'numerical' && distinct > FEW_VALUES_MAX) return 'ks';
    return distinct > 2 ? 'chisquare' : 'z';
  }
  if (column.kind === 'numerical') return distinct <= FEW_VALUES_MAX ? 'jensenshannon' : 'wasserstein';
  return 'jensenshannon';
}
