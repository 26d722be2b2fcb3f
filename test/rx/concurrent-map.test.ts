import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { concurrentMap } from '../../src/rx/concurrent-map.js';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('keeps input order while running several projections at once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (delays, concurrency) => {
      let running = 0;
      let peak = 0;
      const out = await lastValueFrom(
        from(delays).pipe(
          concurrentMap(async (ms, index) => {
            running += 1;
            peak = Math.max(peak, running);
            await delay(ms);
            running -= 1;
            return index;
          }, concurrency),
          toArray(),
        ),
      );
      assert.deepEqual(out, delays.map((_, i) => i));
      assert.ok(peak <= concurrency, `peak ${peak} > ${concurrency}`);
    }),
    { numRuns: 25 },
  );
});

test('propagates a rejected projection as a stream error', async () => {
  const run = lastValueFrom(
    from([1, 2, 3]).pipe(
      concurrentMap(async (n) => {
        if (n === 2) throw new Error('boom');
        return n;
      }, 2),
    ),
  );
  await assert.rejects(run, /boom/);
});
