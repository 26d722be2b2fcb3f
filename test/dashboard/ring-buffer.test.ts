import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingBuffer } from '../../src/dashboard/lib/ring-buffer.js';

test('ring buffer: keeps items in order until full, then drops the oldest', () => {
  const ring = new RingBuffer<number>(3);
  assert.equal(ring.size, 0);
  assert.deepEqual(ring.toArray(), []);
  assert.equal(ring.at(0), undefined);
  ring.push(1);
  ring.push(2);
  assert.deepEqual(ring.toArray(), [1, 2]);
  ring.push(3);
  ring.push(4);
  ring.push(5);
  assert.equal(ring.size, 3);
  assert.deepEqual(ring.toArray(), [3, 4, 5]);
  assert.equal(ring.at(0), 3);
  assert.equal(ring.at(2), 5);
  assert.equal(ring.at(-1), 5);
  assert.equal(ring.at(-3), 3);
  assert.equal(ring.at(3), undefined);
  assert.equal(ring.at(-4), undefined);
  assert.equal(ring.at(0.5), undefined);
});

test('ring buffer: clear empties it and it fills again from the start', () => {
  const ring = new RingBuffer<string>(2);
  ring.push('a');
  ring.push('b');
  ring.push('c');
  ring.clear();
  assert.equal(ring.size, 0);
  assert.deepEqual(ring.toArray(), []);
  ring.push('d');
  assert.deepEqual(ring.toArray(), ['d']);
});

test('ring buffer: rejects a capacity that is not a positive integer', () => {
  for (const capacity of [0, -1, 1.5, Number.NaN]) assert.throws(() => new RingBuffer(capacity), RangeError);
});

test('ring buffer: always holds the last `capacity` items pushed (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (capacity, items) => {
      const ring = new RingBuffer<number>(capacity);
      for (const item of items) ring.push(item);
      assert.deepEqual(ring.toArray(), items.slice(-capacity));
      assert.equal(ring.size, Math.min(capacity, items.length));
    }),
  );
});
