/** `bench compare`: figures found in both results, side by side, with the ratio and whether the spreads overlap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareResults, compareText } from '../../src/bench/compare.js';
import { summarize } from '../../src/bench/figures.js';

const result = (endToEnd: number[], extra: Record<string, unknown> = {}) => ({
  scenario: 'files',
  images: 100,
  endToEnd: summarize(endToEnd),
  paths: [{ name: 'decode-image, decoder: sharp', ...summarize([200, 210]) }],
  ...extra,
});

test('figures by path, named list entries by name, B ÷ A and the overlap of spreads', () => {
  const rows = compareResults(result([100, 110, 105]), result([150, 160, 155], { only: summarize([1]) }));
  const end = rows.find((r) => r.path === 'endToEnd');
  assert.ok(end !== undefined);
  assert.ok(Math.abs(end.ratio - 155 / 105) < 1e-12);
  assert.equal(end.overlaps, false);
  const decode = rows.find((r) => r.path === 'paths[decode-image, decoder: sharp]');
  assert.equal(decode?.overlaps, true);
  assert.equal(rows.some((r) => r.path === 'only'), false, 'a figure only B has is not compared');
  assert.match(compareText(rows, 'a.json', 'b.json'), /^endToEnd\s+105\.0 \[100\.0–110\.0\]\s+155\.0 \[150\.0–160\.0\]\s+1\.476$/m);
});

test('results of different scenarios are refused', () => {
  assert.throws(() => compareResults(result([1]), { ...result([1]), scenario: 'kafka' }), /different scenarios/);
});
