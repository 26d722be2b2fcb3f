import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../src/inference/kserve/circuit-breaker.js';

/** A breaker on a clock the test moves by hand. */
function breaker(failureThreshold = 3, coolDownMs = 1000): { b: CircuitBreaker; advance: (ms: number) => void } {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold, coolDownMs, now: () => now });
  return { b, advance: (ms) => (now += ms) };
}

test('stays closed below the threshold, and a success resets the count', () => {
  const { b } = breaker(3);
  assert.equal(b.state, 'closed');
  b.failure();
  b.failure();
  assert.equal(b.state, 'closed');
  assert.equal(b.consecutiveFailures, 2);
  b.success();
  assert.equal(b.consecutiveFailures, 0);
  b.failure();
  b.failure();
  assert.equal(b.state, 'closed');
  assert.equal(b.tryAcquire(), true);
});

test('opens after N consecutive failures and refuses calls during the cool-down', () => {
  const { b, advance } = breaker(3, 1000);
  for (let i = 0; i < 3; i += 1) b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.tryAcquire(), false);
  assert.equal(b.retryInMs, 1000);
  advance(999);
  assert.equal(b.state, 'open');
  assert.equal(b.retryInMs, 1);
  assert.equal(b.tryAcquire(), false);
});

test('half-open after the cool-down: one trial call; success closes the circuit', () => {
  const { b, advance } = breaker(2, 500);
  b.failure();
  b.failure();
  advance(500);
  assert.equal(b.state, 'half-open');
  assert.equal(b.tryAcquire(), true);
  // Only one trial at a time.
  assert.equal(b.tryAcquire(), false);
  b.success();
  assert.equal(b.state, 'closed');
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), true);
});

test('a failed trial opens the circuit again for a full cool-down', () => {
  const { b, advance } = breaker(2, 500);
  b.failure();
  b.failure();
  advance(600);
  assert.equal(b.tryAcquire(), true);
  b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.retryInMs, 500);
  assert.equal(b.tryAcquire(), false);
  advance(500);
  assert.equal(b.tryAcquire(), true);
});

test('a threshold of 1 opens on the first failure; odd settings are clamped', () => {
  const { b } = breaker(0, -5);
  b.failure();
  // Threshold clamped to 1, cool-down to 0: open at once, half-open right away.
  assert.equal(b.state, 'half-open');
  assert.equal(b.tryAcquire(), true);
});

test('onChange reports the circuit opening once and closing once, not each failure or success', () => {
  let now = 0;
  const changes: boolean[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 100, now: () => now, onChange: (open) => changes.push(open) });
  breaker.success();
  breaker.failure();
  assert.deepEqual(changes, [], 'one failure below the threshold');
  breaker.failure();
  breaker.failure();
  assert.deepEqual(changes, [true], 'opened once');
  now = 200;
  assert.equal(breaker.tryAcquire(), true, 'the trial call');
  breaker.failure();
  assert.deepEqual(changes, [true], 'a failed trial keeps it open: no new change');
  now = 400;
  assert.equal(breaker.tryAcquire(), true);
  breaker.success();
  breaker.success();
  assert.deepEqual(changes, [true, false], 'closed once');
});
