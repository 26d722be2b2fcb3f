/**
 * How unsure a prediction is, from its class probabilities, by the three classic active-learning
 * measures (Settles, "Active Learning Literature Survey", §3.1), each scaled to [0, 1] with 1 the
 * most uncertain: least confidence 1 − p₁; margin 1 − (p₁ − p₂); entropy −Σ p log p / log K.
 */

/** The uncertainty measures a selection can rank by. */
export type UncertaintyMethod = 'least-confidence' | 'margin' | 'entropy';

/** Every measure, for option schemas and docs. */
export const UNCERTAINTY_METHODS: readonly UncertaintyMethod[] = ['least-confidence', 'margin', 'entropy'];

/** The largest and second-largest probabilities (the second is 0 for one class). */
function topTwo(probabilities: readonly number[]): [number, number] {
  let first = Number.NEGATIVE_INFINITY;
  let second = 0;
  for (const p of probabilities) {
    if (p > first) {
      second = first === Number.NEGATIVE_INFINITY ? 0 : first;
      first = p;
    } else if (p > second) {
      second = p;
    }
  }
  return [first === Number.NEGATIVE_INFINITY ? 0 : first, second];
}

/** A prediction's uncertainty in [0, 1] (1: the model cannot tell); why: the ranking of what a person should label. */
export function uncertainty(method: UncertaintyMethod, probabilities: readonly number[]): number {
  const k = probabilities.length;
  if (k === 0) return 1;
  const clamp = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 1);
  switch (method) {
    case 'least-confidence':
      return clamp(1 - topTwo(probabilities)[0]);
    case 'margin': {
      const [a, b] = topTwo(probabilities);
      return clamp(1 - (a - b));
    }
    case 'entropy': {
      if (k === 1) return 0;
      let h = 0;
      for (const p of probabilities) if (p > 0) h -= p * Math.log(p);
      return clamp(h / Math.log(k));
    }
  }
}
