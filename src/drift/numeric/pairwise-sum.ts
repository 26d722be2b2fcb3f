/**
 * numpy's float64 summation: `np.sum` adds pairwise (blocks of at most 128 values, each summed with
 * eight accumulators), so a sum here rounds as numpy's does and scores agree to the last bits.
 */

const BLOCK = 128;

/** Sums `values[start..start+length)` in numpy's pairwise order; why: sums round as in numpy. */
export function pairwiseSum(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  if (length < 8) {
    let sum = 0;
    for (let i = 0; i < length; i += 1) sum += values[start + i]!;
    return sum;
  }
  if (length <= BLOCK) {
    let r0 = values[start]!;
    let r1 = values[start + 1]!;
    let r2 = values[start + 2]!;
    let r3 = values[start + 3]!;
    let r4 = values[start + 4]!;
    let r5 = values[start + 5]!;
    let r6 = values[start + 6]!;
    let r7 = values[start + 7]!;
    const whole = length - (length % 8);
    let i = 8;
    for (; i < whole; i += 8) {
      r0 += values[start + i]!;
      r1 += values[start + i + 1]!;
      r2 += values[start + i + 2]!;
      r3 += values[start + i + 3]!;
      r4 += values[start + i + 4]!;
      r5 += values[start + i + 5]!;
      r6 += values[start + i + 6]!;
      r7 += values[start + i + 7]!;
    }
    let sum = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < length; i += 1) sum += values[start + i]!;
    return sum;
  }
  let half = Math.floor(length / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, length - half);
}
