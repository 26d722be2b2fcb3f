// Edge cases: constant columns, tiny samples, ties in K-S, missing values, empty columns, methods
// that do not fit the kind, and the dataset share rule. Expected numbers are scipy's / Evidently's
// (computed once with the pinned versions, see scripts/drift-fixtures/requirements.txt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DriftInputError,
  chiSquareFromCounts,
  columnDrift,
  datasetDrift,
  defaultMethod,
  cleanColumn,
  ksTwoSample,
  summarizeDatasetDrift,
  wassersteinDistance,
} from '../../src/drift/index.js';
import { agrees } from './fixtures.js';

const near = (got: number, expected: number, what: string): void =>
  assert.ok(agrees(got, expected), `${what}: ${got} vs ${expected}`);

test('K-S with ties: statistic from counts of values ≤ x, exact p-values as scipy', () => {
  const cases: [number[], number[], number, number][] = [
    [[1, 2, 2, 3], [2, 2, 2, 4], 0.25, 1.0],
    [[0, 0, 0, 1, 1], [0, 1, 1, 1, 1, 1], 0.43333333333333335, 0.5909090909090909],
    [[0.1, 0.2, 0.2, 0.3, 0.3, 0.3], [0.2, 0.3, 0.3, 0.4], 0.25, 0.9952380952380953],
    [[3, 1, 2], [6, 5, 4], 1.0, 0.09999999999999999],
    [[1], [2], 1.0, 1.0],
  ];
  for (const [a, b, d, p] of cases) {
    const result = ksTwoSample(a, b);
    assert.equal(result.statistic, d, `D of ${a.join(',')} vs ${b.join(',')}`);
    near(result.pValue, p, `p of ${a.join(',')} vs ${b.join(',')}`);
    assert.equal(result.mode, 'exact');
  }
});

test('K-S switches to the asymptotic p-value above 10000 values', () => {
  const a = Array.from({ length: 50 }, (_, i) => i / 50);
  assert.equal(ksTwoSample(a, Array.from({ length: 10000 }, (_, i) => i / 10000)).mode, 'exact');
  assert.equal(ksTwoSample(a, Array.from({ length: 10001 }, (_, i) => i / 10001)).mode, 'asymptotic');
});

test('constant columns: no drift, whatever the method', () => {
  const reference = Array<number>(50).fill(7.5);
  const current = Array<number>(30).fill(7.5);
  const auto = columnDrift({ kind: 'numerical', reference, current });
  assert.equal(auto.method, 'z');
  assert.equal(auto.score, 1);
  assert.equal(auto.drifted, false);
  for (const method of ['ks', 'psi', 'kl_div', 'jensenshannon', 'wasserstein'] as const) {
    const result = columnDrift({ kind: 'numerical', reference, current }, { method });
    assert.equal(result.drifted, false, method);
    assert.equal(result.score, method === 'ks' ? 1 : 0, method);
  }
  const categorical = columnDrift({ kind: 'categorical', reference: ['a', 'a'], current: ['a'] });
  assert.equal(categorical.method, 'z');
  assert.equal(categorical.score, 1);
});

test('a constant reference: the Wasserstein norm is floored at 0.001', () => {
  // Evidently: _wasserstein_distance_norm([2.0]*10, [2.0]*9 + [2.01]) = 0.9999999999999786
  const result = columnDrift(
    { kind: 'numerical', reference: Array<number>(10).fill(2), current: [...Array<number>(9).fill(2), 2.01] },
    { method: 'wasserstein' },
  );
  near(result.score, 0.9999999999999786, 'normed Wasserstein');
  assert.equal(wassersteinDistance([0, 1, 3], [5, 6, 8]), 5);
  near(wassersteinDistance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]), 2.7, 'scipy docs example');
});

test('the Z-test: first value in sorted order is 0, others 1; one value each side, different', () => {
  // Evidently: _z_stat_test(['a']*5, ['b']*4) = 0.002699796063260207
  near(columnDrift({ kind: 'categorical', reference: Array<string>(5).fill('a'), current: Array<string>(4).fill('b') }).score, 0.002699796063260207, 'z');
  // Numbers sort numerically (2 < 10), not as strings: _z_stat_test([10,2,2,10,10], [2,2,2,10]) = 0.2937181127517918
  near(columnDrift({ kind: 'categorical', reference: [10, 2, 2, 10, 10], current: [2, 2, 2, 10] }).score, 0.2937181127517918, 'z numbers');
});

test('chi-square: a value the reference lacks gives p = 0; a single category gives NaN and no drift', () => {
  const result = columnDrift({ kind: 'categorical', reference: ['a', 'b', 'c', 'a'], current: ['a', 'b', 'c', 'd'] });
  assert.equal(result.method, 'chisquare');
  assert.equal(result.score, 0);
  assert.equal(result.statistic, Number.POSITIVE_INFINITY);
  assert.equal(result.drifted, true);
  const single = columnDrift({ kind: 'categorical', reference: ['a', 'a', 'a', 'a', 'a'], current: ['a', 'a', 'a'] }, { method: 'chisquare' });
  assert.ok(Number.isNaN(single.score));
  assert.equal(single.drifted, false);
  // scipy.stats.chisquare([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]) = (3.5, 0.6233876277495822)
  const pearson = chiSquareFromCounts([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]);
  assert.equal(pearson.statistic, 3.5);
  near(pearson.pValue, 0.6233876277495822, 'chi-square p');
});

test('PSI, KL and Jensen–Shannon on categories with a category on one side only', () => {
  const data = { kind: 'categorical', reference: ['a', 'a', 'b', 'c'], current: ['a', 'b', 'b', 'd'] } as const;
  near(columnDrift(data, { method: 'psi' }).score, 4.257031786505947, 'psi');
  near(columnDrift(data, { method: 'kl_div' }).score, 2.1283030629466793, 'kl');
  near(columnDrift(data, { method: 'jensenshannon' }).score, 0.46450140402245893, 'js');
});

test('tiny samples: one value each side still gives a result', () => {
  const result = columnDrift({ kind: 'numerical', reference: [1.5], current: [2.5] });
  assert.equal(result.method, 'z');
  const ks = columnDrift({ kind: 'numerical', reference: [1.5], current: [2.5] }, { method: 'ks' });
  assert.equal(ks.score, 1);
  assert.equal(ks.statistic, 1);
});

test('missing values: null, NaN and ±Infinity are dropped before anything is counted', () => {
  const result = columnDrift({
    kind: 'numerical',
    reference: [1, 2, null, Number.NaN, 3, Number.POSITIVE_INFINITY, 4, 5, 6],
    current: [undefined, 1, 2, 3, Number.NEGATIVE_INFINITY, 4, 5, 6],
  });
  assert.equal(result.referenceSize, 6);
  assert.equal(result.currentSize, 6);
  assert.equal(result.method, 'ks');
  assert.equal(result.score, 1);
  const categorical = cleanColumn({ kind: 'categorical', reference: ['a', null, Number.NaN, 1], current: [undefined, 'b'] });
  assert.deepEqual(categorical.reference, ['a', 1]);
});

test('an empty column after cleaning, or a method for the other kind, is refused', () => {
  assert.throws(() => columnDrift({ kind: 'numerical', reference: [null, Number.NaN], current: [1] }), DriftInputError);
  assert.throws(() => columnDrift({ kind: 'numerical', reference: [1], current: [] }), DriftInputError);
  assert.throws(() => columnDrift({ kind: 'categorical', reference: ['a'], current: ['b'] }, { method: 'ks' }), /does not apply/);
  assert.throws(() => columnDrift({ kind: 'numerical', reference: [1], current: [2] }, { method: 'chisquare' }), /does not apply/);
  assert.throws(() => summarizeDatasetDrift([]), DriftInputError);
});

test('automatic choice by kind, reference size and distinct values of both samples', () => {
  const num = (n: number, distinct: number): number[] => Array.from({ length: n }, (_, i) => i % distinct);
  const pick = (kind: 'numerical' | 'categorical', reference: number[], current: number[]): string =>
    defaultMethod(cleanColumn(kind === 'numerical' ? { kind, reference, current } : { kind, reference, current }));
  assert.equal(pick('numerical', num(1000, 6), num(10, 6)), 'ks');
  assert.equal(pick('numerical', num(1000, 5), num(10, 5)), 'chisquare');
  assert.equal(pick('numerical', num(1000, 3), num(10, 3)), 'chisquare');
  assert.equal(pick('numerical', num(1000, 2), num(10, 2)), 'z');
  // Distinct values count over both samples: 5 in the reference, a 6th in the current.
  assert.equal(pick('numerical', num(1000, 5), [5]), 'ks');
  assert.equal(pick('numerical', num(1001, 6), num(10, 6)), 'wasserstein');
  assert.equal(pick('numerical', num(1001, 5), num(10, 5)), 'jensenshannon');
  assert.equal(pick('categorical', num(1000, 3), num(10, 3)), 'chisquare');
  assert.equal(pick('categorical', num(1000, 2), num(10, 2)), 'z');
  assert.equal(pick('categorical', num(1001, 2), num(10, 2)), 'jensenshannon');
  // The reference size is counted after dropping missing values.
  const withMissing = [...num(1000, 10), null, null];
  assert.equal(columnDrift({ kind: 'numerical', reference: withMissing, current: num(10, 10) }).method, 'ks');
});

test('dataset drift: share of drifted columns ≥ drift share', () => {
  assert.equal(summarizeDatasetDrift([{ drifted: true }, { drifted: false }]).datasetDrift, true);
  assert.equal(summarizeDatasetDrift([{ drifted: true }, { drifted: false }, { drifted: false }]).datasetDrift, false);
  assert.equal(summarizeDatasetDrift([{ drifted: true }, { drifted: false }], 0.51).datasetDrift, false);
  const report = datasetDrift([
    { name: 'same', kind: 'categorical', reference: ['a', 'b', 'a', 'b'], current: ['a', 'b'] },
    { name: 'moved', kind: 'categorical', reference: ['a', 'a', 'a', 'a'], current: ['b', 'b', 'b'] },
  ]);
  assert.equal(report.numberOfDriftedColumns, 1);
  assert.equal(report.shareOfDriftedColumns, 0.5);
  assert.equal(report.datasetDrift, true);
  assert.deepEqual(
    report.columns.map((c) => c.name),
    ['same', 'moved'],
  );
});
