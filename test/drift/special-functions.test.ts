// The special functions under the p-values, against scipy's values over the regions where its
// algorithms switch (scripts/drift-fixtures/generate.py writes them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareSurvival, gammaQ, logGamma } from '../../src/drift/numeric/gamma.js';
import { kolmogorovTwoSidedSurvival } from '../../src/drift/numeric/kolmogorov.js';
import { erf, erfc, ndtr } from '../../src/drift/numeric/normal.js';
import { smirnov } from '../../src/drift/numeric/smirnov.js';
import { pairwiseSum } from '../../src/drift/numeric/pairwise-sum.js';
import { relEntr } from '../../src/drift/numeric/rel-entr.js';
import { roundHalfEven } from '../../src/drift/numeric/round-half-even.js';
import { agrees, readFixture } from './fixtures.js';

interface SpecialFixture {
  readonly ndtr: readonly (readonly [number, number])[];
  readonly chdtrc: readonly (readonly [number, number, number])[];
  readonly smirnov: readonly (readonly [number, number, number])[];
  readonly kstwoSf: readonly (readonly [number, number, number])[];
}

const special = readFixture<SpecialFixture>('scipy-special');

test('ndtr equals scipy.special.ndtr', () => {
  for (const [x, expected] of special.ndtr) assert.ok(agrees(ndtr(x), expected), `ndtr(${x}) = ${ndtr(x)}, scipy ${expected}`);
});

test('chi-square survival equals scipy.special.chdtrc', () => {
  assert.ok(special.chdtrc.length > 200);
  for (const [df, x, expected] of special.chdtrc) {
    const got = chiSquareSurvival(df, x);
    assert.ok(agrees(got, expected), `chdtrc(${df}, ${x}) = ${got}, scipy ${expected}`);
  }
});

test('smirnov equals scipy.special.smirnov', () => {
  for (const [n, x, expected] of special.smirnov) {
    const got = smirnov(n, x);
    assert.ok(agrees(got, expected), `smirnov(${n}, ${x}) = ${got}, scipy ${expected}`);
  }
});

test('kstwo survival equals scipy.stats.kstwo.sf in every region (Durbin, Pomeranz, Pelz-Good, smirnov, closed forms)', () => {
  assert.ok(special.kstwoSf.length > 500);
  for (const [n, x, expected] of special.kstwoSf) {
    const got = kolmogorovTwoSidedSurvival(x, n);
    assert.ok(agrees(got, expected), `kstwo.sf(${x}, ${n}) = ${got}, scipy ${expected}`);
  }
});

test('edge cases of the special functions follow scipy', () => {
  assert.equal(gammaQ(0, 1), 0);
  assert.ok(Number.isNaN(gammaQ(0, 0)));
  assert.equal(gammaQ(2, 0), 1);
  assert.equal(gammaQ(2, Number.POSITIVE_INFINITY), 0);
  assert.ok(Number.isNaN(chiSquareSurvival(3, -1)));
  assert.equal(chiSquareSurvival(3, Number.POSITIVE_INFINITY), 0);
  assert.equal(ndtr(0), 0.5);
  assert.equal(ndtr(40), 1);
  assert.equal(ndtr(-40), 0);
  assert.ok(Math.abs(erf(0.5) + erf(-0.5)) === 0);
  assert.ok(Math.abs(erf(1.5) + erfc(1.5) - 1) < 1e-15);
  assert.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-14);
  assert.ok(Math.abs(logGamma(0.5) - Math.log(Math.sqrt(Math.PI))) < 1e-14);
  assert.equal(kolmogorovTwoSidedSurvival(0.001, 100), 1);
  assert.equal(kolmogorovTwoSidedSurvival(1, 100), 0);
  assert.equal(smirnov(1, 0.3), 0.7);
});

test('pairwise sum adds in numpy order', () => {
  const values = Array.from({ length: 1000 }, (_, i) => 1 / (i + 1));
  // numpy: np.sum(1 / np.arange(1, 1001)) == 7.485470860550345
  assert.equal(pairwiseSum(values), 7.485470860550345);
  assert.equal(pairwiseSum([]), 0);
  assert.equal(pairwiseSum([1, 2, 3]), 6);
});

test('rel_entr and rounding follow scipy and numpy', () => {
  assert.equal(relEntr(0, 0), 0);
  assert.equal(relEntr(0, 1), 0);
  assert.equal(relEntr(1, 0), Number.POSITIVE_INFINITY);
  assert.equal(relEntr(-1, 1), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(relEntr(Number.NaN, 1)));
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  assert.equal(roundHalfEven(3.4999), 3);
});
