/** The broker-timed throughput: records appended after the first append instant over the time to the last. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendRate } from '../../src/bench/bench-kafka.js';

test('a first batch appended at once does not count toward the rate; the rest over the span does', () => {
  const appends = [
    ...Array.from({ length: 32 }, () => ({ appendTime: 1000, eventTime: 0 })),
    ...Array.from({ length: 100 }, (_, i) => ({ appendTime: 1010 + i * 10, eventTime: 0 })),
  ];
  // 100 records in the 1.0 s from 1000 to 2000.
  assert.ok(Math.abs(appendRate(appends) - 100) < 1e-9);
});

test('fewer than two instants: no rate', () => {
  assert.ok(Number.isNaN(appendRate([{ appendTime: 5, eventTime: 0 }])));
  assert.ok(Number.isNaN(appendRate([{ appendTime: 5, eventTime: 0 }, { appendTime: 5, eventTime: 0 }])));
});
