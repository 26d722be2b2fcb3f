/** Evidently's cleaning before any drift method: ±inf become missing, and missing values are dropped. */
import { DriftInputError } from './errors.js';
import type { Category, CategoryValue, CleanColumn, ColumnData, NumericValue } from './types.js';

/** Finite numbers only. */
export function cleanNumeric(values: readonly NumericValue[]): number[] {
  const out: number[] = [];
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  return out;
}

/** Strings and finite numbers; a NaN or ±Infinity category is missing, as in pandas after replace(±inf, NaN). */
export function cleanCategories(values: readonly CategoryValue[]): Category[] {
  const out: Category[] = [];
  for (const v of values) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) out.push(v === 0 ? 0 : v);
  }
  return out;
}

/** Drops missing values from both samples and refuses an empty one, as Evidently does; why: every method runs on this. */
export function cleanColumn(data: ColumnData, name = 'column'): CleanColumn {
  const clean: CleanColumn =
    data.kind === 'numerical'
      ? { kind: 'numerical', reference: cleanNumeric(data.reference), current: cleanNumeric(data.current), integer: data.integer === true }
      : { kind: 'categorical', reference: cleanCategories(data.reference), current: cleanCategories(data.current) };
  if (clean.reference.length === 0) {
    throw new DriftInputError(`${name}: the reference has no values once missing ones are dropped`);
  }
  if (clean.current.length === 0) {
    throw new DriftInputError(`${name}: the current data has no values once missing ones are dropped`);
  }
  return clean;
}
