import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ksTwoSample } from '../../src/drift/methods/kolmogorov-smirnov.js';
import { columnDrift } from '../../src/drift/column-drift.js';
import { binnedDrift, categoricalDriftFromCounts } from '../../src/drift/counts-drift.js';
import { embeddingDrift } from '../../src/drift/embedding-drift.js';
import { Random } from '../../src/drift/state/random.js';
import type { Category, DriftMethodId } from '../../src/drift/types.js';

function draw(random: Random, n: number, categories: readonly Category[], weights: readonly number[]): Category[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    let u = random.nextDouble() * total;
    for (let i = 0; i < categories.length; i += 1) {
      u -= weights[i]!;
      if (u < 0) return categories[i]!;
    }
    return categories[categories.length - 1]!;
  });
}

function counts(values: readonly Category[]): Map<Category, number> {
  const m = new Map<Category, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

function close(actual: number, expected: number): void {
  if (Number.isNaN(expected)) return assert.ok(Number.isNaN(actual));
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

test('categorical drift from counts equals columnDrift on the values, for every method and the automatic choice', () => {
  const random = Random.fromSeed(42);
  const cases: [number, number, Category[], number[], number[]][] = [
    [300, 120, ['jpeg', 'png', 'webp'], [8, 1, 1], [5, 4, 1]],
    [2000, 400, ['horse', 'human'], [1, 1], [1, 1.4]],
    [50, 30, ['a', 'b'], [1, 1], [1, 0]],
    [80, 40, ['a', 'b', 'c', 'd'], [1, 1, 1, 0], [1, 1, 1, 1]],
  ];
  for (const [nRef, nCur, cats, wRef, wCur] of cases) {
    const reference = draw(random, nRef, cats, wRef);
    const current = draw(random, nCur, cats, wCur);
    for (const method of [undefined, 'chisquare', 'z', 'psi', 'kl_div', 'jensenshannon'] as (DriftMethodId | undefined)[]) {
      const expected = columnDrift({ kind: 'categorical', reference, current }, method === undefined ? {} : { method });
      const actual = categoricalDriftFromCounts(counts(reference), counts(current), method === undefined ? {} : { method });
      assert.equal(actual.method, expected.method);
      close(actual.score, expected.score);
      assert.equal(actual.drifted, expected.drifted);
      assert.equal(actual.referenceSize, expected.referenceSize);
    }
  }
});

test('binned drift over fixed edges: identical histograms give no drift, a shift drifts', () => {
  const same = binnedDrift([0, 10, 20, 10, 0], [0, 5, 10, 5, 0]);
  assert.equal(same.method, 'ks', 'binned KS by default: its p-value accounts for the sizes');
  assert.equal(same.score, 1);
  assert.equal(same.statistic, 0);
  assert.equal(same.drifted, false);
  const js = binnedDrift([0, 10, 20, 10, 0], [0, 5, 10, 5, 0], { method: 'jensenshannon' });
  assert.equal(js.score, 0);
  const shifted = binnedDrift([0, 10, 20, 10, 0], [8, 10, 2, 0, 0], { method: 'psi' });
  assert.ok(shifted.drifted && shifted.score > 0.1);
  assert.ok(binnedDrift([0, 10, 20, 10, 0], [8, 10, 2, 0, 0]).drifted, 'a shift drifts under binned KS too');
  assert.throws(() => binnedDrift([1, 2], [1, 2], { method: 'wasserstein' }), /needs the values/);
});

test('embedding drift: Euclidean distance between centroids against 0.2 (strictly above), and cosine distance', () => {
  const r = embeddingDrift({ mean: [1, 0], count: 10 }, { mean: [1, 0.2], count: 5 });
  close(r.score, 0.2);
  assert.equal(r.drifted, false);
  close(r.cosineDistance, 1 - 1 / Math.sqrt(1.04));
  assert.equal(embeddingDrift({ mean: [1, 0], count: 1 }, { mean: [0, 1], count: 1 }).drifted, true);
});

test('binned KS equals scipy\'s ks_2samp (asymptotic) when the values sit inside the bins: same D, same p-value', () => {
  // Values at bin centres, samples large enough for ks_2samp's asymptotic p-value (checked against scipy in ks tests).
  const refCounts = [0, 3000, 5000, 2500, 1500, 0];
  const curCounts = [0, 2600, 5200, 3100, 1100, 0];
  const spread = (counts: number[]): number[] => counts.flatMap((c, i) => new Array<number>(c).fill(i));
  const exact = ksTwoSample(spread(refCounts), spread(curCounts));
  assert.equal(exact.mode, 'asymptotic');
  const binned = binnedDrift(refCounts, curCounts);
  close(binned.statistic!, exact.statistic);
  close(binned.score, exact.pValue);
  // The same shift seen in 100 inputs is far weaker evidence than in 12,000: the p-value says so.
  const small = binnedDrift(refCounts, [0, 26, 52, 31, 11, 0]);
  assert.ok(small.score > 0.5 && binned.score < 1e-4, `p ${small.score} for 120 inputs, ${binned.score} for 12,000`);
});
