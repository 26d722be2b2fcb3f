// Evidently's bins: numpy's Sturges edges and counts, shares by value for 20 or fewer reference
// values, and the epsilon that fills empty bins for PSI and KL (never for Jensen–Shannon).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binnedShares, cleanColumn, fillZeroes, histogramCounts, sturgesEdges } from '../../src/drift/index.js';
import { linspace } from '../../src/drift/histogram.js';
import { readFixture } from './fixtures.js';

interface BinningFixture {
  readonly cases: readonly {
    readonly values: readonly number[];
    readonly integer?: boolean;
    readonly edges: readonly number[];
    readonly counts: readonly number[];
  }[];
}

test('Sturges edges and histogram counts equal numpy bit for bit', () => {
  const fixture = readFixture<BinningFixture>('numpy-binning');
  for (const c of fixture.cases) {
    const edges = sturgesEdges(c.values, c.integer === true);
    assert.deepEqual(edges, c.edges, `${c.values.length} values`);
    assert.deepEqual(histogramCounts(c.values, edges), c.counts, `${c.values.length} values`);
  }
});

test('the bin count is ceil(range / width), which need not be ceil(log2(n) + 1)', () => {
  // For a constant sample numpy widens the range to ±0.5 and makes one bin.
  assert.deepEqual(sturgesEdges([3, 3, 3]), [2.5, 3.5]);
  // Integer data never gets bins narrower than 1: 0..3 over 2^20 values would be 21 bins of 1/7.
  const many = Array.from({ length: 2 ** 20 }, (_, i) => i % 4);
  assert.equal(sturgesEdges(many, true).length - 1, 3);
  assert.equal(sturgesEdges(many, false).length - 1, 21);
});

test('values on an edge fall right, the last edge in the last bin, outside values nowhere', () => {
  const edges = [0, 1, 2, 3];
  assert.deepEqual(histogramCounts([0, 1, 1.5, 2, 3, -0.1, 3.1], edges), [1, 2, 2]);
  assert.deepEqual(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
});

test('more than 20 distinct reference values: Sturges bins over reference and current together', () => {
  const reference = Array.from({ length: 21 }, (_, i) => i);
  const current = [100, 101];
  const shares = binnedShares(cleanColumn({ kind: 'numerical', reference, current }), false);
  assert.ok(shares.edges !== undefined);
  assert.equal(shares.edges[0], 0);
  assert.equal(shares.edges.at(-1), 101);
  // The current values sit in the last bin, far from every reference value.
  assert.equal(shares.current.at(-1), 1);
  assert.equal(shares.reference.at(-1), 0);
});

test('20 or fewer distinct reference values: shares by value over both samples, even for numbers', () => {
  const reference = Array.from({ length: 40 }, (_, i) => i % 20);
  const current = [0, 0, 25];
  const shares = binnedShares(cleanColumn({ kind: 'numerical', reference, current }), false);
  assert.equal(shares.edges, undefined);
  assert.ok(shares.keys !== undefined);
  assert.equal(shares.keys.length, 21);
  assert.equal(shares.reference[shares.keys.indexOf(25)], 0);
  assert.equal(shares.current[shares.keys.indexOf(25)], 1 / 3);
});

test('empty bins are filled per sample: min/10^6 when the smallest share is at most 0.0001, else 0.0001', () => {
  assert.deepEqual(fillZeroes([0.5, 0, 0.5]), [0.5, 0.0001, 0.5]);
  const small = [0.99995, 0.00005, 0];
  assert.deepEqual(fillZeroes(small), [0.99995, 0.00005, 0.00005 / 10 ** 6]);
  assert.deepEqual(fillZeroes([0.0001, 0.9999, 0]), [0.0001, 0.9999, 0.0001 / 10 ** 6]);
  // No renormalisation: the filled shares sum to more than 1.
  assert.ok(fillZeroes([0.5, 0, 0.5]).reduce((a, b) => a + b) > 1);
  // Evidently: get_binned_data(['a','a','b','c'], ['a','b','b','d'], categorical) with feel_zeroes.
  const filled = binnedShares(cleanColumn({ kind: 'categorical', reference: ['a', 'a', 'b', 'c'], current: ['a', 'b', 'b', 'd'] }), true);
  assert.deepEqual(filled.keys, ['a', 'b', 'c', 'd']);
  assert.deepEqual(filled.reference, [0.5, 0.25, 0.25, 0.0001]);
  assert.deepEqual(filled.current, [0.25, 0.5, 0.0001, 0.25]);
  const plain = binnedShares(cleanColumn({ kind: 'categorical', reference: ['a', 'a', 'b', 'c'], current: ['a', 'b', 'b', 'd'] }), false);
  assert.deepEqual(plain.reference, [0.5, 0.25, 0.25, 0]);
});
