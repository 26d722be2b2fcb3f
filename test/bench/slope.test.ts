/** The soak's trend figures: least-squares slope per hour, start/end/max, the end of the warm-up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquaresSlope, trendOf, warmUpEndMs } from '../../src/bench/slope.js';

const HOUR = 3_600_000;

test('a straight line: its slope exactly, per ms and per hour, whatever the time origin', () => {
  const origin = 1_795_000_000_000; // epoch-sized times must not cost precision
  const line = Array.from({ length: 31 }, (_, i) => ({ atMs: origin + i * 10_000, value: 400e6 + i * 10_000 * 2 }));
  assert.equal(leastSquaresSlope(line), 2);
  const t = trendOf(line);
  assert.equal(t.perHour, 2 * HOUR);
  assert.equal(t.start, 400e6);
  assert.equal(t.end, 400e6 + 300_000 * 2);
  assert.equal(t.max, t.end);
  assert.equal(t.samples, 31);
});

test('a flat series with noise has a slope near 0; a sawtooth (GC) over many periods too', () => {
  const noisy = Array.from({ length: 100 }, (_, i) => ({ atMs: i * 10_000, value: 500 + (i % 2 === 0 ? 3 : -3) }));
  assert.ok(Math.abs(leastSquaresSlope(noisy)) < 1e-4, String(leastSquaresSlope(noisy)));
  const saw = Array.from({ length: 360 }, (_, i) => ({ atMs: i * 10_000, value: 300 + (i % 12) * 5 }));
  const perHour = trendOf(saw).perHour;
  // One hour of a 55-unit sawtooth with a 2-minute period: well under one tooth per hour of trend.
  assert.ok(Math.abs(perHour) < 5, String(perHour));
  assert.equal(trendOf(saw).max, 355);
});

test('the textbook example: slope of a known least-squares fit', () => {
  // x = 1..5, y = 2, 4, 5, 4, 5: slope 0.6 (per ms here).
  const points = [2, 4, 5, 4, 5].map((value, i) => ({ atMs: i + 1, value }));
  assert.ok(Math.abs(leastSquaresSlope(points) - 0.6) < 1e-12);
});

test('samples out of order, and non-finite values, are handled', () => {
  const points = [
    { atMs: 30, value: 3 },
    { atMs: 10, value: 1 },
    { atMs: 20, value: Number.NaN },
    { atMs: 20, value: 2 },
  ];
  const t = trendOf(points);
  assert.equal(t.samples, 3);
  assert.equal(t.start, 1);
  assert.equal(t.end, 3);
  assert.ok(Math.abs(t.perHour - 0.1 * HOUR) < 1e-6);
});

test('too few points, or no time between them: NaN slope, not a throw', () => {
  assert.ok(Number.isNaN(leastSquaresSlope([])));
  assert.ok(Number.isNaN(leastSquaresSlope([{ atMs: 1, value: 1 }])));
  assert.ok(Number.isNaN(leastSquaresSlope([{ atMs: 1, value: 1 }, { atMs: 1, value: 2 }])));
  const empty = trendOf([]);
  assert.equal(empty.samples, 0);
  assert.ok(Number.isNaN(empty.start) && Number.isNaN(empty.perHour));
  const one = trendOf([{ atMs: 5, value: 7 }]);
  assert.deepEqual([one.start, one.end, one.max, one.samples], [7, 7, 7, 1]);
  assert.ok(Number.isNaN(one.perHour));
});

test('the warm-up end: a fraction of the phase, or a minimum time, whichever is later', () => {
  // An hour: 20 % is 12 minutes, past the 2-minute minimum.
  assert.equal(warmUpEndMs(HOUR, { fraction: 0.2, minMs: 120_000 }), 720_000);
  // Three minutes: 20 % is 36 s, so the minimum wins.
  assert.equal(warmUpEndMs(180_000, { fraction: 0.2, minMs: 120_000 }), 120_000);
  assert.equal(warmUpEndMs(600_000, { fraction: 0.5, minMs: 0 }), 300_000);
});
