/**
 * The error function and the standard normal CDF, computed from their series and continued fraction.
 * `ndtr` branches exactly as scipy.special.ndtr does (erf below |x|/√2 < 1, erfc above), so a p-value
 * built from it as `2 * (1 - ndtr(|z|))` rounds the same way.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_PI = Math.sqrt(Math.PI);
const EPS = 2 ** -53;
const MAX_LOG = 709.782712893384;

/** erf(x) by its Maclaurin series; accurate where |x| ≤ 1 (alternating terms stay below 1.2). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n += 1) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) <= EPS * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** erf(x) for x ≥ 0 from e^{-x²}·Σ (2x²)^n·x/(2n+1)!!, whose terms are all positive. */
function erfPositiveSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n += 1) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term <= EPS * sum) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** erfc(x) for x ≥ 2.5 by the continued fraction x + (1/2)/(x + 1/(x + (3/2)/(x + …))), evaluated by Lentz's method. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 5000; n += 1) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) <= EPS) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** The error function; why: ndtr and the Z-test's p-value rest on it. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax <= 1) return erfSeries(x);
  const value = ax < 2.5 ? erfPositiveSeries(ax) : 1 - erfcPositive(ax);
  return x < 0 ? -value : value;
}

/** erfc for x ≥ 0, with relative accuracy in the tail. */
function erfcPositive(x: number): number {
  if (x < 1) return 1 - erfSeries(x);
  if (x < 2.5) return 1 - erfPositiveSeries(x);
  // Where e^{-x²} underflows, as scipy's erfc returns 0 (x² above log(DBL_MAX)).
  if (x * x > MAX_LOG) return 0;
  return erfcContinuedFraction(x);
}

/** The complementary error function 1 − erf(x), accurate in the upper tail; why: normal tail probabilities. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfcPositive(-x);
  return erfcPositive(x);
}

/** The standard normal CDF, branching as scipy.special.ndtr; why: Evidently's Z-test p-value is 2·(1 − ndtr(|z|)). */
export function ndtr(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erfSeries(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}
