import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatClock, formatCount, formatPercent, formatRate, formatSeconds, formatUptime, MISSING } from '../../src/dashboard/lib/format.js';

test('format: missing and non-finite values show a dash', () => {
  for (const f of [formatBytes, formatClock, formatCount, formatPercent, formatRate, formatSeconds, formatUptime]) {
    assert.equal(f(null), MISSING);
    assert.equal(f(undefined), MISSING);
    assert.equal(f(Number.NaN), MISSING);
    assert.equal(f(Number.POSITIVE_INFINITY), MISSING);
  }
});

test('format: rates keep three significant digits and switch to suffixes when large', () => {
  assert.equal(formatRate(0), '0');
  assert.equal(formatRate(139.24), '139');
  assert.equal(formatRate(2.345), '2.35');
  assert.equal(formatRate(12.34), '12.3');
  assert.equal(formatRate(1.5), '1.5');
  assert.equal(formatRate(9999), '9999');
  assert.equal(formatRate(12_345), '12.3k');
});

test('format: counts are grouped below ten thousand and suffixed above', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(1234), '1,234');
  assert.equal(formatCount(56_789), '56.8k');
  assert.equal(formatCount(1_500_000), '1.5M');
  assert.equal(formatCount(2_000_000_000), '2G');
});

test('format: durations pick µs, ms or s', () => {
  assert.equal(formatSeconds(0), '0 ms');
  assert.equal(formatSeconds(0.00021), '210 µs');
  assert.equal(formatSeconds(0.0005), '500 µs');
  assert.equal(formatSeconds(0.0025), '2.5 ms');
  assert.equal(formatSeconds(0.38), '380 ms');
  assert.equal(formatSeconds(0.41234), '412 ms');
  assert.equal(formatSeconds(1), '1 s');
  assert.equal(formatSeconds(2.5), '2.5 s');
  assert.equal(formatSeconds(125), '125 s');
});

test('format: bytes use decimal units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1200), '1.2 kB');
  assert.equal(formatBytes(1_200_000), '1.2 MB');
  assert.equal(formatBytes(3_450_000_000), '3.45 GB');
});

test('format: percentages have one decimal', () => {
  assert.equal(formatPercent(0.995), '99.5%');
  assert.equal(formatPercent(1), '100.0%');
  assert.equal(formatPercent(0), '0.0%');
});

test('format: uptime shows its two largest units', () => {
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(12.5), '12s');
  assert.equal(formatUptime(60), '1m');
  assert.equal(formatUptime(125), '2m 5s');
  // At most six characters of the two largest units, so the tile never truncates ("10 m 5…").
  assert.equal(formatUptime(605), '10m 5s');
  assert.equal(formatUptime(3725), '1h 2m');
  assert.equal(formatUptime(3600 + 5), '1h');
  assert.equal(formatUptime(2 * 86_400 + 3 * 3600 + 59), '2d 3h');
  assert.equal(formatUptime(-1), MISSING);
});

test('format: clock times are local 24-hour HH:MM:SS', () => {
  assert.equal(formatClock(new Date(2026, 0, 2, 3, 4, 5).getTime() / 1000), '03:04:05');
  assert.equal(formatClock(new Date(2026, 10, 26, 23, 59, 59, 900).getTime() / 1000), '23:59:59');
});
