// The streaming mode's window state: counts over the reference's bin edges plus out-of-range bins,
// merged exactly (two halves give the whole, in any order), and carried as plain JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CategoryCountsState, HistogramState, psiFromShares, sturgesEdges } from '../../src/drift/index.js';
import type { CategoryCountsStateJson, HistogramStateJson } from '../../src/drift/index.js';

const EDGES = [0, 1, 2, 3, 4];

test('values are counted in numpy bins, below/above the edges, or as missing', () => {
  const state = new HistogramState(EDGES);
  state.addAll([0, 0.5, 1, 3.9, 4, -1, 4.0001, null, Number.NaN, Number.POSITIVE_INFINITY, undefined]);
  assert.deepEqual(state.toJSON(), {
    type: 'histogram',
    edges: EDGES,
    counts: [2, 1, 0, 2],
    below: 1,
    above: 1,
    missing: 4,
    min: -1,
    max: 4.0001,
  });
  assert.equal(state.count, 7);
  assert.deepEqual(state.countsWithOutOfRange(), [1, 2, 1, 0, 2, 1]);
  assert.deepEqual(state.shares(), [1, 2, 1, 0, 2, 1].map((c) => c / 7));
});

test('the edges come from the reference alone (Sturges, as numpy)', () => {
  const reference = Array.from({ length: 500 }, (_, i) => Math.sin(i) * 10);
  assert.deepEqual(HistogramState.fromReference(reference).edges, sturgesEdges(reference));
});

test('merging two halves equals the histogram of the whole, in either order (property)', () => {
  const value = fc.oneof(
    fc.double({ min: -2, max: 6, noNaN: true }),
    fc.constantFrom(0, 1, 2, 3, 4, Number.NaN, null, Number.NEGATIVE_INFINITY),
  );
  fc.assert(
    fc.property(fc.array(value, { maxLength: 200 }), fc.nat(), (values, cut) => {
      const at = values.length === 0 ? 0 : cut % (values.length + 1);
      const whole = new HistogramState(EDGES);
      whole.addAll(values);
      const left = new HistogramState(EDGES);
      left.addAll(values.slice(0, at));
      const right = new HistogramState(EDGES);
      right.addAll(values.slice(at));
      const leftFirst = HistogramState.fromJSON(left.toJSON()).merge(right);
      const rightFirst = HistogramState.fromJSON(right.toJSON()).merge(left);
      assert.deepEqual(leftFirst.toJSON(), whole.toJSON());
      assert.deepEqual(rightFirst.toJSON(), whole.toJSON());
    }),
    { seed: 42, numRuns: 300 },
  );
});

test('partials from several instances, merged through JSON, give the same PSI as one instance', () => {
  const reference = Array.from({ length: 2000 }, (_, i) => Math.cos(i * 0.37) * 3);
  const window = Array.from({ length: 3000 }, (_, i) => Math.cos(i * 0.11) * 3 + 0.4);
  const referenceState = HistogramState.fromReference(reference);
  referenceState.addAll(reference);
  const one = new HistogramState(referenceState.edges);
  one.addAll(window);
  const partials = [0, 1, 2].map((k) => {
    const part = new HistogramState(referenceState.edges);
    part.addAll(window.filter((_, i) => i % 3 === k));
    return JSON.parse(JSON.stringify(part.toJSON())) as HistogramStateJson;
  });
  const merged = partials.map((p) => HistogramState.fromJSON(p)).reduce((a, b) => a.merge(b));
  assert.deepEqual(merged.toJSON(), one.toJSON());
  const fill = (shares: number[]): number[] => shares.map((s) => (s === 0 ? 1e-4 : s));
  assert.equal(
    psiFromShares(fill(referenceState.shares()), fill(merged.shares())),
    psiFromShares(fill(referenceState.shares()), fill(one.shares())),
  );
});

test('merging histograms over different edges, or reading a malformed state, is refused', () => {
  assert.throws(() => new HistogramState(EDGES).merge(new HistogramState([0, 1, 2])), /different edges/);
  assert.throws(() => new HistogramState([0, 0, 1]), /increase strictly/);
  assert.throws(() => new HistogramState([0]), /two edges/);
  const good = new HistogramState(EDGES).toJSON();
  assert.throws(() => HistogramState.fromJSON({ ...good, counts: [1, 2] }), /one count per bin/);
  assert.throws(() => HistogramState.fromJSON({ ...good, below: -1 }), /non-negative/);
  assert.throws(() => HistogramState.fromJSON({ ...good, below: 1 }), /min and max/);
  assert.throws(() => new HistogramState(EDGES).shares(), /empty/);
});

test('category counts merge exactly and keep 1 and "1" apart', () => {
  const values = ['a', 'b', 1, '1', 1, null, 'a', Number.NaN, 0, -0];
  const whole = new CategoryCountsState();
  whole.addAll(values);
  const left = new CategoryCountsState();
  left.addAll(values.slice(0, 4));
  const right = new CategoryCountsState();
  right.addAll(values.slice(4));
  const merged = CategoryCountsState.fromJSON(JSON.parse(JSON.stringify(right.toJSON())) as CategoryCountsStateJson).merge(left);
  assert.deepEqual(merged.toJSON(), whole.toJSON());
  assert.deepEqual(whole.toJSON(), {
    type: 'category-counts',
    counts: [
      [0, 2],
      [1, 2],
      ['1', 1],
      ['a', 2],
      ['b', 1],
    ],
    missing: 2,
  });
  assert.equal(whole.count, 8);
  assert.equal(whole.get('1'), 1);
  assert.throws(() => CategoryCountsState.fromJSON({ type: 'category-counts', counts: [['a', 1], ['a', 2]], missing: 0 }), /distinct/);
});
