/** scipy.special.rel_entr: the elementwise term x·log(x/y) of relative entropy, with its edge cases. */

const DBL_MIN = 2.2250738585072014e-308;

/** x·log(x/y), 0 for x = 0 and y ≥ 0, +∞ for y = 0 < x; why: KL and Jensen–Shannon sum these terms. */
export function relEntr(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x <= 0 || y <= 0) {
    if (x === 0 && y >= 0) return 0;
    return Number.POSITIVE_INFINITY;
  }
  const ratio = x / y;
  // Close values: log1p keeps the digits that log(ratio) would lose.
  if (ratio > 0.5 && ratio < 2) return x * Math.log1p((x - y) / y);
  if (ratio > DBL_MIN && ratio < Number.POSITIVE_INFINITY) return x * Math.log(ratio);
  return x * (Math.log(x) - Math.log(y));
}
