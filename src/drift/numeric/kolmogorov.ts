/**
 * The survival function of the two-sided one-sample Kolmogorov–Smirnov statistic Dₙ, P(Dₙ > x), as
 * scipy.stats.kstwo.sf computes it (Simard & L'Ecuyer's choice of algorithm per region): closed forms
 * of Ruben & Gambino near the ends, 2·smirnov(n, x) in the upper tail, the Durbin matrix (in
 * Marsaglia–Tsang–Wang's form) and Pomeranz's recursion for small n, and the Pelz–Good expansion for
 * large n. scipy's ks_2samp takes its asymptotic p-value from here, with n = round(n₁n₂/(n₁+n₂)).
 * Each region uses the same algorithm, thresholds and scaling as scipy, so the values agree to
 * about 1e-12 relative (the regions are approximations of different accuracy, which is why they must match).
 */
import { ldexp } from './ldexp.js';
import { pairwiseSum } from './pairwise-sum.js';
import { smirnov } from './smirnov.js';

const E128 = 128;
const EP128 = 2 ** E128;
const EM128 = 2 ** -E128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const MIN_LOG = -708;
/** B_{2j}/(2j(2j−1)) for j = 8…1, highest power first (for Horner's rule). */
const STIRLING_DESC = [-3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12];

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/** log(n!/nⁿ) by Stirling's series with n·log n taken out, to avoid cancellation. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const t = rn / n;
  let poly = 0;
  for (const c of STIRLING_DESC) poly = poly * t + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** Dense square matrix product (row-major), as np.matmul for the small matrices of the Durbin method. */
function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i += 1) {
    for (let k = 0; k < m; k += 1) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j += 1) out[i * m + j]! += aik * b[k * m + j]!;
    }
  }
  return out;
}

/** P(Dₙ ≤ d) by the Durbin matrix method, (n!/nⁿ)·(Hⁿ)ₖₖ, with H^n by repeated squaring and rescaling. */
function cdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j += 1) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;
  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i += 1) {
    for (let r = i - 1; r < m; r += 1) H[r * m + i] = w[r - (i - 1)]!;
  }
  for (let r = 0; r < m; r += 1) H[r * m] = v[r]!;
  for (let c = 0; c < m; c += 1) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i += 1) power[i * m + i] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2 === 1) {
      power = matmul(power, H, m);
      exponent += hExponent;
    }
    H = matmul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > EP128) {
      for (let i = 0; i < H.length; i += 1) H[i]! /= EP128;
      hExponent += E128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i += 1) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      exponent -= E128;
    }
  }
  return exponent !== 0 ? ldexp(p, exponent) : p;
}

/** Row i's interval of possibly non-zero entries in Pomeranz's recursion. */
function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Full discrete convolution of a and b (np.convolve), summing products in index order. */
function convolve(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i += 1) {
    const ai = a[i]!;
    for (let j = 0; j < b.length; j += 1) out[i + j]! += ai * b[j]!;
  }
  return out;
}

/** P(Dₙ ≤ x) by Pomeranz's recursion, two rows at a time, rescaled against underflow. */
function cdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m += 1) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i += 1) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 === 1 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const from = k1 - V0s;
      const conv = convolve(V0.subarray(from, Math.min(from + ln2, V0.length)), pwrs.subarray(0, ln2));
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      V1.set(conv.subarray(convStart, convStart + convLen), 0);
      let max = 0;
      for (const value of V1) if (value > max) max = value;
      if (max > 0 && max < EM128) {
        for (let j = 0; j < V1.length; j += 1) V1[j]! *= EP128;
        exponent -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m += 1) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      exponent += E128;
    }
    ans *= m;
  }
  return exponent !== 0 ? ldexp(ans, exponent) : ans;
}

/** P(Dₙ ≤ x) by the Pelz–Good asymptotic expansion in 1/√n (four terms, Jacobi-theta form). */
function cdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k -= 1) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = Math.pow(q, 8 * k);
    const coeffs = [
      1,
      k1a + k1b * msquared,
      k2a + k2b * msquared + k2c * mfour,
      k3a + k3b * msquared + k3c * mfour + k3d * msix,
    ];
    for (let i = 0; i < 4; i += 1) K[i] = K[i]! * qpower + coeffs[i]!;
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i += 1) K[i] = (K[i]! * q * SQRT_2PI) / divisors[i]!;

  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const k2terms = new Float64Array(maxk);
  const k3terms = new Float64Array(maxk);
  const sqrt3z = SQRT3 * z;
  for (let idx = 0; idx < maxk; idx += 1) {
    const k = maxk - idx;
    const ksquared = k ** 2;
    const qpwer = Math.pow(q, ksquared);
    const kspi = Math.PI * k;
    k2terms[idx] = ksquared * qpwer;
    k3terms[idx] = (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
  }
  K[2] = K[2]! + pairwiseSum(k2terms) * ((PI_SQUARED * SQRT_2PI) / (-36 * zthree));
  K[3] = K[3]! + pairwiseSum(k3terms) * ((PI_SQUARED * SQRT_2PI) / (216 * zsix));
  for (let i = 1; i < 4; i += 1) K[i] = K[i]! / Math.pow(n, i / 2);
  let sum = 0;
  for (const term of K) sum += term;
  return sum;
}

/** P(Dₙ > x) for 0 < x < 1, choosing the algorithm by region exactly as scipy's _kolmogn does. */
function kolmogorovSurvival(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      const inv = 1 / n;
      for (let i = 1; i <= n; i += 1) prob *= i * inv * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip(1 - prob);
  }
  if (t >= n - 1) return clip(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clip(2 * smirnov(n, x));

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip(1 - cdfDurbin(n, x));
    if (nxsquared <= 4) return clip(1 - cdfPomeranz(n, x));
    return clip(2 * smirnov(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip(2 * smirnov(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? cdfDurbin(n, x) : cdfPelzGood(n, x);
  return clip(1 - cdf);
}

/** scipy.stats.kstwo.sf(x, n): P(Dₙ > x); why: ks_2samp's p-value when a sample exceeds 10000 values. */
export function kolmogorovTwoSidedSurvival(x: number, n: number): number {
  if (Number.isNaN(x) || !(n >= 1) || !Number.isInteger(n)) return Number.NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmogorovSurvival(n, x);
}
