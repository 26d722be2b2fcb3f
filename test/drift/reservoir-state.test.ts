// The evidently mode's window state: a bounded uniform sample, exact while the window fits, merged
// into a uniform sample of the union. Uniformity is checked with a chi-square test over many
// seeded runs: the seeds are fixed, so the test gives the same answer every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnDrift, Random, ReservoirState } from '../../src/drift/index.js';
import type { ReservoirStateJson } from '../../src/drift/index.js';
import { chiSquareSurvival } from '../../src/drift/numeric/gamma.js';

/** p-value of inclusion counts against equal inclusion probabilities for every item. */
function uniformityPValue(inclusions: number[]): number {
  const total = inclusions.reduce((a, b) => a + b, 0);
  const expected = total / inclusions.length;
  const statistic = inclusions.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  return chiSquareSurvival(inclusions.length - 1, statistic);
}

test('while the window fits, the reservoir holds every value in arrival order', () => {
  const state = new ReservoirState(10, 1);
  state.addAll([3, null, 1, Number.NaN, 2]);
  assert.deepEqual(state.values, [3, 1, 2]);
  assert.equal(state.seen, 3);
  assert.equal(state.missing, 2);
  assert.equal(state.exact, true);
  state.addAll(Array.from({ length: 8 }, (_, i) => i));
  assert.equal(state.exact, false);
  assert.equal(state.values.length, 10);
});

test('merging exact partials whose total fits is their concatenation, so Evidently numbers stay exact', () => {
  const reference = Array.from({ length: 400 }, (_, i) => Math.sin(i));
  const window = Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.3) + 0.2);
  const left = new ReservoirState(1000, 7);
  left.addAll(window.slice(0, 120));
  const right = new ReservoirState(1000, 8);
  right.addAll(window.slice(120));
  const merged = ReservoirState.fromJSON(JSON.parse(JSON.stringify(left.toJSON())) as ReservoirStateJson).merge(right);
  assert.equal(merged.exact, true);
  assert.deepEqual(merged.values, window);
  const direct = columnDrift({ kind: 'numerical', reference, current: window });
  const viaState = columnDrift({ kind: 'numerical', reference, current: merged.values });
  assert.deepEqual(viaState, direct);
});

test('the JSON form resumes the same random sequence', () => {
  const a = new ReservoirState(5, 99);
  a.addAll(Array.from({ length: 50 }, (_, i) => i));
  const b = ReservoirState.fromJSON(JSON.parse(JSON.stringify(a.toJSON())) as ReservoirStateJson);
  const more = Array.from({ length: 100 }, (_, i) => 1000 + i);
  a.addAll(more);
  b.addAll(more);
  assert.deepEqual(b.toJSON(), a.toJSON());
  const r = Random.fromSeed(5);
  const s = Random.fromJSON(r.toJSON());
  assert.equal(r.nextUint32(), s.nextUint32());
});

test('every value is equally likely to be kept (chi-square over 4000 seeded runs)', () => {
  const items = 200;
  const capacity = 20;
  const inclusions = new Array<number>(items).fill(0);
  for (let run = 0; run < 4000; run += 1) {
    const state = new ReservoirState(capacity, 1_000_003 * run + 17);
    for (let i = 0; i < items; i += 1) state.add(i);
    for (const v of state.values) inclusions[v]! += 1;
  }
  assert.equal(
    inclusions.reduce((a, b) => a + b, 0),
    4000 * capacity,
  );
  const p = uniformityPValue(inclusions);
  assert.ok(p > 0.001, `uniformity p-value ${p}`);
});

test('a merge of unequal partials is a uniform sample of their union (chi-square over 4000 seeded runs)', () => {
  const capacity = 20;
  const leftItems = 50;
  const rightItems = 150;
  const inclusions = new Array<number>(leftItems + rightItems).fill(0);
  let fromLeft = 0;
  for (let run = 0; run < 4000; run += 1) {
    const left = new ReservoirState(capacity, 2 * run + 1);
    const right = new ReservoirState(capacity, 2 * run + 2);
    for (let i = 0; i < leftItems; i += 1) left.add(i);
    for (let i = leftItems; i < leftItems + rightItems; i += 1) right.add(i);
    const merged = run % 2 === 0 ? left.merge(right) : right.merge(left);
    assert.equal(merged.seen, leftItems + rightItems);
    assert.equal(merged.values.length, capacity);
    assert.equal(new Set(merged.values).size, capacity);
    for (const v of merged.values) {
      inclusions[v]! += 1;
      if (v < leftItems) fromLeft += 1;
    }
  }
  const p = uniformityPValue(inclusions);
  assert.ok(p > 0.001, `uniformity p-value ${p}`);
  // A quarter of the union is on the left, so about a quarter of the sample.
  const share = fromLeft / (4000 * capacity);
  assert.ok(Math.abs(share - 0.25) < 0.01, `share from the left partial ${share}`);
});

test('uniform after a merge and further values (algorithm R continues from a merged sample)', () => {
  const capacity = 10;
  const inclusions = new Array<number>(120).fill(0);
  for (let run = 0; run < 4000; run += 1) {
    const left = new ReservoirState(capacity, 3 * run + 1);
    const right = new ReservoirState(capacity, 3 * run + 2);
    for (let i = 0; i < 30; i += 1) left.add(i);
    for (let i = 30; i < 60; i += 1) right.add(i);
    const merged = left.merge(right);
    for (let i = 60; i < 120; i += 1) merged.add(i);
    for (const v of merged.values) inclusions[v]! += 1;
  }
  const p = uniformityPValue(inclusions);
  assert.ok(p > 0.001, `uniformity p-value ${p}`);
});

test('reservoirs of different capacities do not merge; malformed states are refused', () => {
  assert.throws(() => new ReservoirState(3, 1).merge(new ReservoirState(4, 1)), /capacities/);
  assert.throws(() => new ReservoirState(0, 1), /positive integer/);
  const good = new ReservoirState(3, 1).toJSON();
  assert.throws(() => ReservoirState.fromJSON({ ...good, seen: 2 }), /min\(seen, capacity\)/);
  assert.throws(() => ReservoirState.fromJSON({ ...good, random: [0, 0, 0] as unknown as [number, number, number, number] }), /random state/);
});
