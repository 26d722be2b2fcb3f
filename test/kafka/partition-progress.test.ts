/**
 * PartitionProgress: what may be committed when a partition is read again after a rebalance.
 * The property: a committed position never passes an offset that has not completed in some
 * epoch, and once everything completed the position reaches the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PartitionProgress } from '../../src/kafka/partition-progress.js';

test('one epoch: commits the next offset to read once a contiguous run completed', () => {
  const p = new PartitionProgress();
  for (let o = 10; o < 15; o += 1) assert.equal(p.emitted(o), 0);
  assert.equal(p.completed(0, 11), 12);
  assert.equal(p.idle, false);
  assert.equal(p.completed(0, 11), undefined, 'no advance, no commit');
  assert.equal(p.completed(0, 14), 15);
  assert.equal(p.idle, true);
});

test('a step back opens a new epoch; the old epoch must finish below the new start before the new one counts', () => {
  const p = new PartitionProgress();
  for (let o = 0; o < 10; o += 1) p.emitted(o);
  assert.equal(p.completed(0, 3), 4);
  // Rebalance: the partition is read again from the last commit (4) while 4..9 are still in flight.
  assert.equal(p.emitted(4), 1);
  for (let o = 5; o < 12; o += 1) assert.equal(p.emitted(o), 1);
  assert.equal(p.completed(1, 11), 12, 'the new epoch covers everything from the commit on');
  assert.equal(p.idle, true);
  assert.equal(p.completed(0, 9), undefined, 'the old epoch finishing later changes nothing');
});

test('a new epoch starting above unfinished old offsets waits for them', () => {
  const p = new PartitionProgress();
  for (let o = 0; o < 10; o += 1) p.emitted(o);
  p.emitted(6); // epoch 1 starts at 6 while 0..9 of epoch 0 are in flight
  assert.equal(p.completed(1, 6), undefined, '0..5 are not known complete');
  assert.equal(p.completed(0, 4), 5);
  assert.equal(p.completed(0, 5), 7, 'epoch 0 reached 5, epoch 1 covers 6');
});

test('property: commits never pass an incomplete offset; everything complete means idle at the end', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ back: fc.nat(20), length: fc.integer({ min: 1, max: 15 }) }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (reads, picks) => {
        const p = new PartitionProgress();
        // Emit: a consumer reads on from its position, or `back` steps back (a re-read after a rebalance).
        const emitted: { epoch: number; offset: number }[] = [];
        let high = 99;
        let position = 100;
        for (const r of reads) {
          const start = Math.max(100, position - r.back);
          for (let o = start; o < start + r.length; o += 1) emitted.push({ epoch: p.emitted(o), offset: o });
          position = start + r.length;
          high = Math.max(high, position - 1);
        }
        // Complete in an arbitrary order, reporting each epoch's contiguous completed prefix as the runtime does.
        const done = new Set<number>();
        const order = [...emitted.keys()];
        for (const [i, pick] of picks.entries()) {
          const j = i + (pick % Math.max(1, order.length - i));
          if (j < order.length) [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
        let committed = 100;
        const complete = new Set<string>();
        for (const index of order) {
          const e = emitted[index] as { epoch: number; offset: number };
          complete.add(`${e.epoch}:${e.offset}`);
          done.add(e.offset);
          const ofEpoch = emitted.filter((x) => x.epoch === e.epoch);
          let through: number | undefined;
          for (const x of ofEpoch) {
            if (!complete.has(`${x.epoch}:${x.offset}`)) break;
            through = x.offset;
          }
          if (through === undefined) continue;
          const next = p.completed(e.epoch, through);
          if (next !== undefined) {
            assert.ok(next > committed, 'commits only move forward');
            for (let o = 100; o < next; o += 1) assert.ok(done.has(o), `committed ${next} while ${o} is not complete`);
            committed = next;
          }
        }
        assert.equal(committed, high + 1);
        assert.equal(p.idle, true);
      },
    ),
    { numRuns: 300 },
  );
});
