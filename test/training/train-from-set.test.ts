/**
 * From the training set to a head: rows of another fingerprint are left out, new classes follow the
 * model's, too few examples stop the training with the reason, production is judged from its stored
 * predictions on the same holdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentaurError } from '../../src/core/errors.js';
import { rows } from '../helpers/training-rows.js';
import { trainFromSet } from '../../src/training/train-from-set.js';

const options = { modelClasses: ['horse', 'human'], fingerprint: 'f1', policy: 'latest', weighting: 'balanced', minPerClass: 5, seed: 1, maxEpochs: 100, batchSize: 64, learningRate: 0.01, l2: 0.0001, patience: 5 } as const;

test('a 3-class head from rows of the model\'s fingerprint; the new class follows the model\'s; production judged on the same holdout', async () => {
  const result = await trainFromSet([...rows(600, 'f1'), ...rows(50, 'other', 2), ...rows(20, undefined, 3)], options);
  assert.deepEqual(result.classes, ['horse', 'human', 'dog']);
  assert.deepEqual(result.newClasses, ['dog']);
  assert.deepEqual(result.skipped, { 'another fingerprint': 50, 'no fingerprint': 20 });
  const holdout = Object.values(result.counts.holdout).reduce((a, b) => a + b, 0);
  assert.equal(result.candidate.examples, holdout);
  assert.equal(result.production.examples, holdout);
  assert.ok((result.candidate.accuracy ?? 0) >= 0.95, `candidate ${result.candidate.accuracy}`);
  assert.equal(result.production.perClass.dog?.recall, 0, 'production never says dog');
  assert.ok((result.candidate.macroF1 ?? 0) > (result.production.macroF1 ?? 1));
});

test('too few examples of a class stop the training and say which', async () => {
  await assert.rejects(
    trainFromSet(rows(30, 'f1'), { ...options, minPerClass: 50 }),
    (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && /too few labelled train examples: horse \d+, human \d+, dog \d+ \(at least 50 each\)/.test(e.message),
  );
});
