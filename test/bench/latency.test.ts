/** Latency figures from the HDR histogram agree with exact percentiles within its 3 significant digits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencyFigures } from '../../src/bench/latency.js';

test('p50/p95/p99/max of 1..10000 ms, within 0.1 %', () => {
  const samples = Array.from({ length: 10_000 }, (_, i) => i + 1);
  const f = latencyFigures(samples.reverse());
  assert.equal(f.count, 10_000);
  for (const [got, want] of [[f.p50, 5000], [f.p95, 9500], [f.p99, 9900], [f.max, 10_000]] as const) {
    assert.ok(Math.abs(got - want) / want <= 0.001, `${got} vs ${want}`);
  }
});

test('no samples: NaN figures; a negative sample (clock skew) counts as 0', () => {
  assert.ok(Number.isNaN(latencyFigures([]).p95));
  const f = latencyFigures([-3, 10]);
  assert.equal(f.count, 2);
  assert.equal(f.p50, 0);
  assert.equal(f.max, 10);
});

test('a percentile never reads above the largest sample (bucket edges round up)', () => {
  const f = latencyFigures([1533, 2297, 2388, 1200, 900]);
  assert.equal(f.max, 2388);
  assert.ok(f.p99 <= f.max && f.p95 <= f.max, JSON.stringify(f));
});
