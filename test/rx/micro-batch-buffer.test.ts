import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Observable, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { microBatchBuffer } from '../../src/rx/micro-batch-buffer.js';

const newTestScheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

void test('closes a batch at maxSize and flushes the open one on complete', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    const source = cold('-abc-de|');
    expectObservable(source.pipe(microBatchBuffer(3, 100, ts))).toBe('---x---(y|)', {
      x: ['a', 'b', 'c'],
      y: ['d', 'e'],
    });
  });
});

void test('closes a batch maxDelayMs after its first element', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    // a at 5, b at 8: the timer started at 5 fires at 9 (not at a free-running tick).
    const source = cold('5ms a 2ms b 10ms |');
    expectObservable(source.pipe(microBatchBuffer(10, 4, ts))).toBe('9ms x 9ms |', { x: ['a', 'b'] });
  });
});

void test('emits no empty batches while idle', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    const source = cold('a 20ms |');
    expectObservable(source.pipe(microBatchBuffer(10, 5, ts))).toBe('5ms x 15ms |', { x: ['a'] });
  });
});

void test('a batch closed by size does not leave its timer to close the next one early', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    // [a, b] closes by size at 1; c arrives at 3 so its batch closes at 8, not at 5.
    const source = cold('ab-c 10ms |');
    expectObservable(source.pipe(microBatchBuffer(2, 5, ts))).toBe('-x 6ms y 5ms |', { x: ['a', 'b'], y: ['c'] });
  });
});

void test('maxSize 1 emits every value at once', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    expectObservable(cold('a-b|').pipe(microBatchBuffer(1, 50, ts))).toBe('x-y|', { x: ['a'], y: ['b'] });
  });
});

void test('maxDelayMs 0 closes a batch in the same frame', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    expectObservable(cold('a--b|').pipe(microBatchBuffer(5, 0, ts))).toBe('x--y|', { x: ['a'], y: ['b'] });
  });
});

void test('errors pass through', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable }) => {
    expectObservable(cold('ab-#', undefined, new Error('boom')).pipe(microBatchBuffer(3, 10, ts))).toBe(
      '---#',
      undefined,
      new Error('boom'),
    );
  });
});

void test('unsubscribing cancels the pending timer', () => {
  const ts = newTestScheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('a-b------|');
    expectObservable(source.pipe(microBatchBuffer(10, 5, ts)), '^--!').toBe('---');
    expectSubscriptions(source.subscriptions).toBe('^--!');
  });
});

void test('rejects invalid sizes and delays', () => {
  const ts = newTestScheduler();
  assert.throws(() => microBatchBuffer(0, 5, ts), RangeError);
  assert.throws(() => microBatchBuffer(1.5, 5, ts), RangeError);
  assert.throws(() => microBatchBuffer(2, -1, ts), RangeError);
});

void test('property: every input exactly once, in order, batches 1..maxSize, no wait beyond maxDelayMs', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 0, max: 30 }),
      (gaps, maxSize, maxDelayMs, tail) => {
        const scheduler = new VirtualTimeScheduler();
        const arrivals: number[] = [];
        let t = 0;
        for (const gap of gaps) {
          t += gap;
          arrivals.push(t);
        }
        const end = t + tail;
        const source = new Observable<number>((subscriber) => {
          arrivals.forEach((at, i) => scheduler.schedule(() => subscriber.next(i), at));
          scheduler.schedule(() => subscriber.complete(), end);
        });
        const batches: { at: number; values: number[] }[] = [];
        let completed = false;
        source.pipe(microBatchBuffer(maxSize, maxDelayMs, scheduler)).subscribe({
          next: (values) => batches.push({ at: scheduler.now(), values }),
          complete: () => (completed = true),
        });
        scheduler.flush();

        assert.ok(completed);
        assert.deepEqual(
          batches.flatMap((b) => b.values),
          arrivals.map((_, i) => i),
        );
        for (const [k, batch] of batches.entries()) {
          assert.ok(batch.values.length >= 1 && batch.values.length <= maxSize, `batch of ${batch.values.length}`);
          const first = arrivals[batch.values[0] as number] as number;
          assert.ok(batch.at - first <= maxDelayMs, `batch waited ${batch.at - first} > ${maxDelayMs}`);
          // A batch that is neither full nor the last one closed exactly at its deadline.
          if (batch.values.length < maxSize && k < batches.length - 1) assert.equal(batch.at, first + maxDelayMs);
        }
      },
    ),
    { numRuns: 200 },
  );
});
