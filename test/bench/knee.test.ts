/** The knee search: the highest probed rate whose p95 stays under the bound, against a known latency curve. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchKnee } from '../../src/bench/knee.js';

/** A system whose p95 is 50 ms up to `capacity` frames/s and grows without bound above it. */
const system = (capacity: number) => async (rate: number) => (rate <= capacity ? 50 : 50 + (rate - capacity) * 100);

test('a system that keeps up at the highest rate asked for: one probe, that rate', async () => {
  const r = await searchKnee(system(200), { low: 50, high: 95, boundMs: 500, steps: 5 });
  assert.equal(r.rate, 95);
  assert.deepEqual(r.probes.map((p) => p.rate), [95]);
});

test('bisection closes in on the capacity from below, never reporting a failing rate', async () => {
  const r = await searchKnee(system(80), { low: 50, high: 95, boundMs: 500, steps: 6 });
  assert.ok(r.rate !== null && r.rate <= 84.5 && r.rate >= 75, `knee ${r.rate}`);
  assert.equal(r.probes.length, 6);
  for (const p of r.probes) assert.equal(p.passed, p.p95Ms < 500);
  assert.ok(r.probes.every((p) => !p.passed || p.rate <= (r.rate as number)), 'the result is the best passing probe');
});

test('nothing passes: no knee, and the search stops at the lowest rate', async () => {
  const r = await searchKnee(async () => 900, { low: 50, high: 95, boundMs: 500, steps: 5 });
  assert.equal(r.rate, null);
  assert.deepEqual(r.probes.map((p) => p.rate), [95, 50]);
});

test('bad bounds are refused', async () => {
  await assert.rejects(searchKnee(system(1), { low: 0, high: 1, boundMs: 500, steps: 1 }), RangeError);
  await assert.rejects(searchKnee(system(1), { low: 5, high: 1, boundMs: 500, steps: 1 }), RangeError);
});
