/** The shadow-period gate: a verdict once the candidate answered enough inputs of known classes, once per version. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShadowPromotion } from '../../src/inference/shadow-promotion.js';
import type { ShadowVerdict } from '../../src/inference/shadow-promotion.js';

function gate(promote: (version: string, reason: string) => Promise<void> = async () => undefined): { gate: ShadowPromotion; verdicts: ShadowVerdict[] } {
  const verdicts: ShadowVerdict[] = [];
  return { gate: new ShadowPromotion({ minInputs: 100, minAgreement: 0.9 }, promote, (v) => verdicts.push(v), undefined), verdicts };
}

test('a candidate agreeing on enough known-class inputs is promoted once; new-class rows neither count for nor against it', async () => {
  const promoted: string[] = [];
  const { gate: g, verdicts } = gate(async (version, reason) => void promoted.push(`${version}: ${reason}`));
  // 60 rows of known classes (57 agree) and 40 put in a new class: not yet 100 known-class rows.
  assert.equal(await g.compared('2', '1', 57, 3, 40), undefined);
  const verdict = await g.compared('2', '1', 38, 2, 10);
  assert.equal(verdict?.verdict, 'promoted');
  assert.deepEqual([verdict?.compared, verdict?.agreed, verdict?.newClass], [100, 95, 50]);
  assert.match(promoted[0]!, /^2: shadow: 95\.0 % agreement with version 1 on 100 inputs/);
  assert.equal(await g.compared('2', '1', 10, 0, 0), undefined, 'decided once');
  assert.equal(verdicts.length, 1);
});

test('a candidate below the agreement floor is rejected and not promoted; another version is judged on its own', async () => {
  const promoted: string[] = [];
  const { gate: g, verdicts } = gate(async (version) => void promoted.push(version));
  assert.equal((await g.compared('3', '1', 80, 20, 0))?.verdict, 'rejected');
  assert.deepEqual(promoted, []);
  assert.equal((await g.compared('4', '1', 100, 0, 0))?.verdict, 'promoted');
  assert.deepEqual(promoted, ['4']);
  assert.deepEqual(verdicts.map((v) => [v.version, v.verdict]), [['3', 'rejected'], ['4', 'promoted']]);
});

test('a failed promotion is tried again at the next comparison', async () => {
  let fail = true;
  const { gate: g } = gate(async () => {
    if (fail) throw new Error('registry down');
  });
  assert.equal(await g.compared('2', '1', 100, 0, 0), undefined);
  fail = false;
  assert.equal((await g.compared('2', '1', 1, 0, 0))?.verdict, 'promoted');
});
