/**
 * Exact two-sided p-values of the two-sample Kolmogorov–Smirnov statistic, as scipy's ks_2samp
 * computes them: for equal sizes the closed form for paths leaving the square's diagonal band, and
 * otherwise Hodges' lattice-path count of paths that stay strictly inside |x/m − y/n| < d, carried
 * as the complementary probability (Viehmann's recursion) so that small p-values keep their digits.
 * The statistic is given as h = d·lcm(m, n), the integer it is on the lattice.
 */

/** P(D_{n,n} ≥ h/n) by 2·Σ (−1)^{k+1}·C(2n, n−kh)/C(2n, n), evaluated Horner-style. */
export function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j += 1) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** P(D_{m,n} ≥ h/lcm(m, n)) for m ≠ n: the share of lattice paths that leave the band, by column recursion. */
export function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i += 1) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj += 1) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}
