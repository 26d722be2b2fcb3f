/**
 * The reference accuracy a profile records: from labelled rows (image folders named by class, or
 * JSONL records with a true `label`), checked on load, and read by the retrain trigger's
 * `on: accuracy` as its baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { driftProfileCommand } from '../../src/cli/drift-profile.js';
import { buildReferenceProfile, checkReferenceProfile } from '../../src/drift-monitor/profile.js';
import type { ReferenceProfile } from '../../src/drift-monitor/profile.js';
import { referenceAccuracy } from '../../src/drift-monitor/report.js';

const values = { brightness: 0.5, class: 'horse' };

test('a profile records the accuracy of its labelled rows, and none without labels', () => {
  const rows = [
    { values, label: 'horse', predicted: 'horse' },
    { values, label: 'human', predicted: 'horse' },
    { values, label: 'human', predicted: 'human' },
    { values },
  ];
  const profile = buildReferenceProfile(rows, { classes: ['horse', 'human'] });
  assert.deepEqual(profile.accuracy, { labelled: 3, correct: 2 });
  assert.equal(referenceAccuracy(profile), 2 / 3);
  assert.equal(buildReferenceProfile([{ values }], { classes: ['horse', 'human'] }).accuracy, undefined);
  assert.equal(referenceAccuracy(checkReferenceProfile(JSON.parse(JSON.stringify(profile)))), 2 / 3, 'survives JSON');
  assert.throws(() => checkReferenceProfile({ ...profile, accuracy: { labelled: 2, correct: 3 } }), /accuracy must be/);
});

async function profileOf(input: string, out: string, model?: string): Promise<ReferenceProfile> {
  const said: string[] = [];
  const code = await driftProfileCommand(input, { out, ...(model === undefined ? {} : { model }) }, { out: (s) => said.push(s), err: (s) => said.push(s) });
  assert.equal(code, 0, said.join('\n'));
  return checkReferenceProfile(JSON.parse(await readFile(out, 'utf8')));
}

test('centaur drift profile: accuracy from image folders named by class, and from JSONL records with a label', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-profile-accuracy-'));
  try {
    // data/quickstart holds horses/ and humans/: the folder names the true class.
    const images = await profileOf(path.resolve('data/quickstart'), path.join(dir, 'images.json'), path.resolve('models/demo'));
    assert.equal(images.accuracy?.labelled, 200);
    assert.ok((referenceAccuracy(images) ?? 0) > 0.9, `demo model accuracy on the quick-start images: ${JSON.stringify(images.accuracy)}`);
    const records = [
      { id: 'a', label: 'horse', prediction: { label: 'horse', confidence: 0.9, probabilities: { horse: 0.9, human: 0.1 } } },
      { id: 'b', label: 'human', prediction: { label: 'horse', confidence: 0.6, probabilities: { horse: 0.6, human: 0.4 } } },
      { id: 'c', prediction: { label: 'human', confidence: 0.8, probabilities: { horse: 0.2, human: 0.8 } } },
    ];
    await writeFile(path.join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
    const jsonl = await profileOf(path.join(dir, 'records.jsonl'), path.join(dir, 'records.json'));
    assert.deepEqual(jsonl.accuracy, { labelled: 2, correct: 1 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
