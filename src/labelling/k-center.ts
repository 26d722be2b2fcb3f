/**
 * k-center greedy (Sener & Savarese, "Active Learning for Convolutional Neural Networks: A Core-Set
 * Approach", 2018): start from a given point, then repeatedly take the point farthest from those
 * taken, by Euclidean distance between embeddings, so near-duplicates (twenty frames of one scene)
 * cost one pick and the picks cover the candidates.
 */

/** Squared Euclidean distance between two vectors of the same length. */
function distance2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 1) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/**
 * Indices of `k` points chosen by k-center greedy, the first being `first` (or index 0); why: the
 * diversity step of a labelling selection. Runs in O(k · n · dimension).
 */
export function kCenterGreedy(points: readonly ArrayLike<number>[], k: number, first = 0): number[] {
  const n = points.length;
  if (k <= 0 || n === 0) return [];
  const chosen = [Math.min(Math.max(0, first), n - 1)];
  const taken = new Uint8Array(n);
  taken[chosen[0]!] = 1;
  const nearest = points.map((p) => distance2(p, points[chosen[0]!]!));
  while (chosen.length < Math.min(k, n)) {
    let best = -1;
    let bestDistance = -1;
    for (let i = 0; i < n; i += 1) {
      if (taken[i] === 0 && nearest[i]! > bestDistance) {
        bestDistance = nearest[i]!;
        best = i;
      }
    }
    if (best < 0) break;
    chosen.push(best);
    taken[best] = 1;
    const c = points[best]!;
    for (let i = 0; i < n; i += 1) {
      const d = distance2(points[i]!, c);
      if (d < nearest[i]!) nearest[i] = d;
    }
  }
  return chosen;
}
