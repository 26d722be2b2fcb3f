/**
 * The labelling selection's logic: uncertainty measures, quotas per class, the budget held exactly,
 * a random exploration share, diversity that spends one pick per group of near-duplicates, and a
 * labels-per-hour ceiling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/drift/state/random.js';
import { kCenterGreedy } from '../../src/labelling/k-center.js';
import { quotas, RateCeiling, selectForLabelling } from '../../src/labelling/selection.js';
import type { Candidate } from '../../src/labelling/selection.js';
import { uncertainty } from '../../src/labelling/uncertainty.js';

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test('uncertainty: least confidence, margin and normalised entropy, 0 for a sure prediction, 1 for a coin toss', () => {
  close(uncertainty('least-confidence', [0.9, 0.1]), 0.1);
  close(uncertainty('margin', [0.9, 0.1]), 0.2);
  close(uncertainty('entropy', [0.9, 0.1]), -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1)) / Math.log(2));
  close(uncertainty('margin', [0.5, 0.3, 0.2]), 0.8);
  close(uncertainty('entropy', [1 / 3, 1 / 3, 1 / 3]), 1);
  for (const m of ['least-confidence', 'margin', 'entropy'] as const) {
    close(uncertainty(m, [1, 0]), 0);
    assert.ok(uncertainty(m, [0.5, 0.5]) >= 0.5);
  }
});

test('quotas: as even as the strata allow; what a small stratum cannot take goes to the others', () => {
  assert.deepEqual(quotas([50, 50], 10), [5, 5]);
  assert.deepEqual(quotas([2, 90], 10), [2, 8]);
  assert.deepEqual(quotas([3, 3, 3], 4), [2, 1, 1]);
  assert.deepEqual(quotas([1, 1], 10), [1, 1], 'never more than there are');
});

function candidates(n: number, predicted: (i: number) => string, u: (i: number) => number, embedding?: (i: number) => number[]): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, predicted: predicted(i), uncertainty: u(i), ...(embedding === undefined ? {} : { embedding: embedding(i) }) }));
}

test('the budget holds exactly; without exploration the most uncertain are picked, stratified by class', () => {
  const c = candidates(100, (i) => (i < 90 ? 'horse' : 'human'), (i) => (i % 10) / 10);
  const picks = selectForLabelling(c, { budget: 10, explorationShare: 0, stratify: true, diversityPool: 1 }, Random.fromSeed(1));
  assert.equal(picks.length, 10);
  assert.equal(new Set(picks.map((p) => p.index)).size, 10, 'no input twice');
  assert.equal(picks.filter((p) => c[p.index]!.predicted === 'human').length, 5, 'the rare class gets its quota');
  assert.ok(picks.every((p) => p.strategy === 'uncertainty' && c[p.index]!.uncertainty >= 0.5));
  const flat = selectForLabelling(c, { budget: 10, explorationShare: 0, stratify: false, diversityPool: 1 }, Random.fromSeed(1));
  assert.ok(flat.every((p) => c[p.index]!.uncertainty === 0.9), 'unstratified: the ten most uncertain overall');
  assert.equal(selectForLabelling(c.slice(0, 3), { budget: 10, explorationShare: 0.5, stratify: true, diversityPool: 4 }, Random.fromSeed(1)).length, 3, 'a window smaller than the budget: all of it');
});

test('exploration: the share of picks drawn at random, whole picks whose mean is the share', () => {
  const c = candidates(200, () => 'horse', () => 0.5);
  const random = Random.fromSeed(7);
  let explored = 0;
  for (let w = 0; w < 400; w += 1) explored += selectForLabelling(c, { budget: 10, explorationShare: 0.15, stratify: true, diversityPool: 1 }, random).filter((p) => p.strategy === 'exploration').length;
  const mean = explored / 400;
  assert.ok(Math.abs(mean - 1.5) < 0.1, `${mean} explored picks per window of 10 at a share of 0.15`);
});

test('diversity: ten tight groups of near-duplicates among the most uncertain give one pick per group', () => {
  // 100 candidates in 10 groups; within a group the embeddings differ by 0.001, groups by 1.
  const c = candidates(100, () => 'horse', (i) => 0.5 + (i % 7) / 100, (i) => [Math.floor(i / 10), (i % 10) * 0.001]);
  const diverse = selectForLabelling(c, { budget: 10, explorationShare: 0, stratify: true, diversityPool: 10 }, Random.fromSeed(1));
  assert.equal(new Set(diverse.map((p) => Math.floor(p.index / 10))).size, 10);
  assert.ok(diverse.every((p) => p.strategy === 'diversity'));
  const plain = selectForLabelling(c, { budget: 10, explorationShare: 0, stratify: true, diversityPool: 1 }, Random.fromSeed(1));
  assert.ok(new Set(plain.map((p) => Math.floor(p.index / 10))).size < 10, 'by uncertainty alone, duplicates take several picks');
  assert.deepEqual(kCenterGreedy([[0], [0], [0]], 3), [0, 1, 2], 'identical points: each taken once');
  assert.deepEqual(kCenterGreedy([[Number.NaN], [1], [2]], 3), [0], 'NaN distances: no further pick, no crash');
  // A NaN or short embedding among the candidates: diversity steps aside, the budget still holds.
  const broken = candidates(20, () => 'horse', (i) => i / 20, (i) => (i === 19 ? [Number.NaN, 0] : i === 18 ? [1] : [i, 0]));
  const picks = selectForLabelling(broken, { budget: 5, explorationShare: 0, stratify: true, diversityPool: 4 }, Random.fromSeed(1));
  assert.equal(picks.length, 5);
  assert.ok(picks.every((p) => p.strategy === 'uncertainty'));
});

test('rate ceiling: full at start, refills per hour, never above its size', () => {
  const ceiling = new RateCeiling(60);
  assert.equal(ceiling.available(0), 60);
  ceiling.spend(60);
  assert.equal(ceiling.available(30 * 60_000), 30, 'half an hour refills half');
  ceiling.spend(30);
  assert.equal(ceiling.available(10 * 3_600_000), 60);
  assert.throws(() => new RateCeiling(0), /above 0/);
  const slow = new RateCeiling(0.5);
  assert.equal(slow.available(0), 1, 'a ceiling below one an hour still yields a label');
  slow.spend(1);
  assert.equal(slow.available(3_600_000), 0);
  assert.equal(slow.available(2 * 3_600_000), 1, 'one every two hours');
});
