/**
 * PartitionOffsets: what may be committed for a partition, also when it is read again from an
 * earlier offset (a Kafka rebalance) while the earlier read is in flight. The property: the
 * committable offset never passes an offset that has not completed in some read, and once
 * everything completed it reaches the last offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PartitionOffsets } from '../../src/runtime/partition-offsets.js';

test('one read: the committable offset advances over contiguous completed offsets', () => {
  const p = new PartitionOffsets();
  for (let o = 10; o < 15; o += 1) assert.equal(p.track(o), 0);
  assert.equal(p.complete(0, 11), undefined, '10 is not done');
  assert.equal(p.complete(0, 10), 11);
  assert.equal(p.pending, 3);
  assert.equal(p.complete(0, 13), undefined);
  assert.equal(p.complete(0, 12), 13);
  assert.equal(p.complete(0, 14), 14);
  assert.equal(p.pending, 0);
  assert.equal(p.committable, 14);
});

test('offsets need not be consecutive integers (Kafka leaves gaps): contiguous means among those admitted', () => {
  const p = new PartitionOffsets();
  for (const o of [3, 7, 8, 20]) p.track(o);
  assert.equal(p.complete(0, 3), 3);
  assert.equal(p.complete(0, 8), undefined);
  assert.equal(p.complete(0, 7), 8);
  assert.equal(p.complete(0, 20), 20);
});

test('a step back opens a new read; the new read covering the rest commits, the old one finishing later changes nothing', () => {
  const p = new PartitionOffsets();
  for (let o = 0; o < 10; o += 1) p.track(o);
  for (let o = 0; o <= 3; o += 1) p.complete(0, o);
  assert.equal(p.committable, 3);
  // Rebalance: read again from the last commit (4) while 4..9 are still in flight.
  assert.equal(p.track(4), 1);
  for (let o = 5; o < 12; o += 1) assert.equal(p.track(o), 1);
  let last: number | undefined;
  for (let o = 4; o < 12; o += 1) last = p.complete(1, o) ?? last;
  assert.equal(last, 11, 'the new read covers everything from the commit on');
  for (let o = 4; o < 10; o += 1) assert.equal(p.complete(0, o), undefined);
  assert.equal(p.pending, 0);
  assert.equal(p.openEpochs, 1, 'finished reads are dropped');
});

test('a new read starting above unfinished old offsets waits for them', () => {
  const p = new PartitionOffsets();
  for (let o = 0; o < 10; o += 1) p.track(o);
  assert.equal(p.track(6), 1, 'read again from 6 while 0..9 are in flight');
  assert.equal(p.complete(1, 6), undefined, '0..5 are not known complete');
  for (let o = 0; o < 4; o += 1) p.complete(0, o);
  assert.equal(p.complete(0, 4), 4);
  assert.equal(p.complete(0, 5), 6, 'the first read reached 5, the second covers 6');
});

test('a completion in a read that holds nothing in flight is a bug, and says so', () => {
  const p = new PartitionOffsets();
  assert.throws(() => p.complete(3, 1), RangeError);
});

test('property: the committable offset never passes an incomplete offset; everything complete reaches the end', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ back: fc.nat(20), length: fc.integer({ min: 1, max: 15 }) }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (reads, picks) => {
        const p = new PartitionOffsets();
        // A consumer reads on from its position, or `back` steps back (a re-read after a rebalance).
        const admitted: { epoch: number; offset: number }[] = [];
        let high = 99;
        let position = 100;
        for (const r of reads) {
          const start = Math.max(100, position - r.back);
          for (let o = start; o < start + r.length; o += 1) admitted.push({ epoch: p.track(o), offset: o });
          position = start + r.length;
          high = Math.max(high, position - 1);
        }
        // Complete in an arbitrary order.
        const order = [...admitted.keys()];
        for (const [i, pick] of picks.entries()) {
          const j = i + (pick % Math.max(1, order.length - i));
          if (j < order.length) [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
        const done = new Set<number>();
        let committable = 99;
        for (const index of order) {
          const a = admitted[index] as { epoch: number; offset: number };
          done.add(a.offset);
          const reached = p.complete(a.epoch, a.offset);
          if (reached === undefined) continue;
          assert.ok(reached > committable, 'the committable offset only moves forward');
          for (let o = 100; o <= reached; o += 1) assert.ok(done.has(o), `committable ${reached} while ${o} is not complete`);
          committable = reached;
        }
        assert.equal(committable, high);
        assert.equal(p.pending, 0);
      },
    ),
    { numRuns: 300 },
  );
});
