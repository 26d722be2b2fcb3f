/**
 * Training a head: the same data and seed give the same weights to the bit; it learns classes
 * that are separable in the embedding; early stopping keeps the best epoch; class weights follow
 * scikit-learn's `balanced` rule; the evaluation's figures match hand counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/drift/state/random.js';
import { classWeights } from '../../src/training/class-weights.js';
import { evaluate } from '../../src/training/evaluation.js';
import { headProbabilities, trainHead } from '../../src/training/head-trainer.js';
import type { HeadData } from '../../src/training/head-trainer.js';

/** Gaussian-ish clusters around one random centre per class (class 2 rarer). */
function clusters(seed: number, n: number, dims = 64, k = 3): HeadData {
  const centres = Random.fromSeed(99);
  const c = Array.from({ length: k }, () => Float32Array.from({ length: dims }, () => centres.nextDouble() * 2 - 1));
  const r = Random.fromSeed(seed);
  const embeddings: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 5 === 0 ? 2 : i % 2;
    labels.push(label);
    embeddings.push(Float32Array.from(c[label]!, (v) => v * 0.4 + (r.nextDouble() * 2 - 1)));
  }
  return { embeddings, labels };
}

const options = { classes: 3, classWeights: [1, 1, 1], seed: 7, maxEpochs: 40, batchSize: 64, learningRate: 0.01, l2: 0.0001, patience: 3 };

test('the same data and seed give the same weights; another seed gives others', async () => {
  const train = clusters(1, 400);
  const validation = clusters(2, 100);
  const a = await trainHead(train, validation, options);
  const b = await trainHead(train, validation, options);
  assert.deepEqual(Buffer.from(a.kernel.buffer), Buffer.from(b.kernel.buffer));
  assert.deepEqual([...a.bias], [...b.bias]);
  const c = await trainHead(train, validation, { ...options, seed: 8 });
  assert.notDeepEqual(Buffer.from(a.kernel.buffer), Buffer.from(c.kernel.buffer));
});

test('it learns separable classes; early stopping keeps the best validation epoch', async () => {
  const head = await trainHead(clusters(1, 1000), clusters(2, 200), { ...options, maxEpochs: 200 });
  const holdout = clusters(3, 500);
  const result = evaluate(holdout.embeddings.map((e) => headProbabilities(head, e)), holdout.labels, ['a', 'b', 'c']);
  assert.ok((result.accuracy ?? 0) >= 0.95, `holdout accuracy ${result.accuracy}`);
  assert.ok(head.epochs.length < 200, `stopped early after ${head.epochs.length} epochs`);
  const losses = head.epochs.map((e) => e.validationLoss as number);
  assert.equal(Math.min(...losses), losses[head.bestEpoch - 1], 'the kept epoch has the lowest validation loss');
});

test('balanced class weights are n / (classes × n_class); a class without examples weighs 0', () => {
  assert.deepEqual(classWeights([60, 30, 10], 'balanced'), [100 / 180, 100 / 90, 100 / 30]);
  assert.deepEqual(classWeights([50, 0, 50], 'balanced'), [1, 0, 1]);
  assert.deepEqual(classWeights([5, 7], 'none'), [1, 1]);
});

test('evaluation: accuracy, per-class precision/recall/F1, macro F1, confusion matrix and ECE by hand', () => {
  // true: a a a b b c ; predicted: a a b b c c, with these confidences
  const p = [
    [0.9, 0.1, 0],
    [0.7, 0.2, 0.1],
    [0.4, 0.6, 0],
    [0.2, 0.8, 0],
    [0, 0.45, 0.55],
    [0, 0.05, 0.95],
  ];
  const e = evaluate(p, [0, 0, 0, 1, 1, 2], ['a', 'b', 'c']);
  assert.equal(e.accuracy, 4 / 6);
  assert.deepEqual(e.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  assert.deepEqual(e.perClass.a, { support: 3, precision: 1, recall: 2 / 3, f1: 0.8 });
  assert.deepEqual(e.perClass.b, { support: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
  assert.deepEqual(e.perClass.c, { support: 1, precision: 0.5, recall: 1, f1: 2 / 3 });
  assert.ok(Math.abs((e.macroF1 as number) - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
  // Bins: 0.9 → [0.9,1) right; 0.7 → [0.7,0.8) right; 0.6 wrong; 0.8 right; 0.55 wrong; 0.95 right.
  const ece = (Math.abs(2 - (0.9 + 0.95)) + Math.abs(1 - 0.7) + Math.abs(0 - 0.6) + Math.abs(1 - 0.8) + Math.abs(0 - 0.55)) / 6;
  assert.ok(Math.abs((e.ece as number) - ece) < 1e-12, `ece ${e.ece} vs ${ece}`);
});
