/** Counting categories as pandas does (value_counts, unique over both samples) and sorting them as Python's sorted(). */
import type { Category } from './types.js';

/** Counts of each value; why: chi-square, Z and the shares by value all start from value counts. */
export function countValues<T extends Category>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** The distinct values of both samples, reference's first; why: Evidently's keys are the union of both. */
export function unionKeys<T extends Category>(reference: readonly T[], current: readonly T[]): T[] {
  const keys = new Set<T>(reference);
  for (const v of current) keys.add(v);
  return [...keys];
}

/** Number of distinct values over both samples (pandas nunique of the concatenation). */
export function countDistinct(reference: readonly Category[], current: readonly Category[]): number {
  return unionKeys(reference, current).length;
}

/** Compares strings by code point, as Python does (JavaScript's < compares UTF-16 code units). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const diff = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

/**
 * Python's sorted() order: numbers ascending, strings by code point. Python cannot sort a mix of
 * numbers and strings (Evidently fails there); here numbers come first.
 */
export function comparePython(a: Category, b: Category): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  return typeof a === 'number' ? -1 : 1;
}
