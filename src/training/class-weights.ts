/**
 * Class weights for training a head on unbalanced labels; why: the labels active learning brings are
 * skewed (uncertain inputs, a new class arriving slowly), and an unweighted loss would learn the
 * majority. `balanced` is scikit-learn's rule: n / (k × n_c), so every class weighs the same in
 * total; `none` weighs every example 1.
 */

/** How examples are weighted by their class. */
export type ClassWeighting = 'balanced' | 'none';

/** One weight per class, from the class counts (a class without examples gets 0). */
export function classWeights(counts: readonly number[], policy: ClassWeighting): number[] {
  if (policy === 'none') return counts.map(() => 1);
  const n = counts.reduce((a, b) => a + b, 0);
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c === 0 ? 0 : n / (present * c)));
}
