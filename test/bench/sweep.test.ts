/** `--sweep`: parsing axes, every combination over the base settings, and rows ranked by median. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combinations, parseSweep, runSweep, sweepText } from '../../src/bench/sweep.js';

const base = { batch: 32, maxDelayMs: 50, decodeConcurrency: 16, inferThreads: 2 };

test('axes parse from axis=v1,v2 (repeats dropped), and bad ones are refused with the axes named', () => {
  assert.deepEqual(parseSweep(['batch=8,16,16', 'max-delay=0,50']), { batch: [8, 16], 'max-delay': [0, 50] });
  assert.throws(() => parseSweep(['threads=1']), /axis one of batch, max-delay, decode-concurrency, infer-threads/);
  assert.throws(() => parseSweep(['batch=0']), /whole numbers/);
  assert.throws(() => parseSweep(['batch=']), /axis=v1,v2/);
});

test('every combination of the axes over the base settings', () => {
  const combos = combinations(base, { batch: [8, 16], 'infer-threads': [1, 2] });
  assert.equal(combos.length, 4);
  assert.deepEqual(combos.map((c) => [c.batch, c.inferThreads]), [[8, 1], [8, 2], [16, 1], [16, 2]]);
  assert.ok(combos.every((c) => c.maxDelayMs === 50 && c.decodeConcurrency === 16));
  assert.deepEqual(combinations(base, {}), [base]);
  // A scenario's whole options go in as the base; only the pipeline settings come out.
  assert.deepEqual(combinations({ ...base, images: 10, logger: {} } as typeof base, { batch: [8] }), [{ ...base, batch: 8 }]);
});

test('each setting measured `runs` times, ranked best first; the best is recommended as flags', async () => {
  const seen: number[] = [];
  const rows = await runSweep(combinations(base, { batch: [8, 16, 32] }), 2, async (s) => {
    seen.push(s.batch);
    return s.batch === 16 ? 200 : 100 + s.batch;
  });
  assert.deepEqual(seen, [8, 16, 32, 8, 16, 32], 'runs interleaved');
  assert.deepEqual(rows.map((r) => r.settings.batch), [16, 32, 8]);
  const text = sweepText({ scenario: 'sweep', of: 'kafka', images: 10, runs: 2, axes: { batch: [8, 16, 32] }, rows });
  assert.match(text, /^recommended: --batch 16 --max-delay 50 --decode-concurrency 16 --infer-threads 2 /m);
});
