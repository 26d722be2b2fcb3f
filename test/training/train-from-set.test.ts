/**
 * From the training set to a head: rows of another fingerprint are left out, new classes follow the
 * model's, too few examples stop the training with the reason, production is judged from its stored
 * predictions on the same holdout; `centaur train` writes the head and its report from a table in a
 * lake folder, and the head's weights reproduce its own evaluation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { Random } from '../../src/drift/state/random.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { main } from '../../src/cli/main.js';
import { storeFor } from '../../src/storage/store-for.js';
import { splitOf } from '../../src/training-set/training-row.js';
import type { TrainingRow } from '../../src/training-set/training-row.js';
import { TrainingSetTable } from '../../src/training-set/training-set-table.js';
import { trainFromSet } from '../../src/training/train-from-set.js';

const DIMS = 32;
const centres = (() => {
  const r = Random.fromSeed(4);
  return ['horse', 'human', 'dog'].map(() => Float32Array.from({ length: DIMS }, () => r.nextDouble() * 2 - 1));
})();

/** Rows of three classes (dogs new to a horse/human model), predicted by a model that calls every dog a horse. */
function rows(n: number, fingerprint: string | undefined, seed = 1): TrainingRow[] {
  const r = Random.fromSeed(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = ['horse', 'human', 'dog'][i % 3]!;
    const id = `in-${seed}-${i}`;
    return {
      inputId: id,
      split: splitOf(id, { validation: 0.15, holdout: 0.15 }),
      annotations: [{ annotator: 'ann', label, origin: 'kafka', labelTime: 1000 + i }],
      features: {
        entity: id,
        eventTime: i,
        modelVersion: '1',
        ...(fingerprint === undefined ? {} : { modelFingerprint: fingerprint }),
        embedding: Float32Array.from(centres[i % 3]!, (v) => v * 0.5 + (r.nextDouble() * 2 - 1)),
        predictedLabel: label === 'dog' ? 'horse' : label,
        confidence: 0.8,
      },
      updatedTime: 2000,
    };
  });
}

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

test('centaur train: head.json, report.json and report.md from a training set in a lake folder', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-train-'));
  const model = await loadManifest('models/demo');
  const base = pathToFileURL(path.join(dir, 'lake', 'training-set')).href;
  const store = await storeFor(base);
  const table = await TrainingSetTable.open({ base, buckets: 4, policy: 'latest', classes: new Set(['horse', 'human']), compression: 'zstd', retries: 0 }, store, createLogger('silent'), 'test');
  // The demo model's fingerprint on 1,280-d embeddings: pad the synthetic ones.
  await table.put(rows(300, model.fingerprint).map((row) => ({ ...row, features: { ...row.features, embedding: Float32Array.from({ length: 1280 }, (_, d) => row.features.embedding[d % DIMS]! * (d < DIMS ? 1 : 0)) } })));
  await table.close();
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['train', path.join(dir, 'lake', 'training-set'), '--model', 'models/demo', '--out', path.join(dir, 'head'), '--min-per-class', '5', '--quiet'], { out: (s) => out.push(s), err: (s) => err.push(s) });
  assert.equal(code, 0, err.join('\n'));
  const head = JSON.parse(await readFile(path.join(dir, 'head', 'head.json'), 'utf8')) as { classes: string[]; dims: number; kernel: string; fingerprint: string; trainingSet: { contentHash: string; rows: number } };
  assert.deepEqual(head.classes, ['horse', 'human', 'dog']);
  assert.equal(head.dims, 1280);
  assert.equal(Buffer.from(head.kernel, 'base64').length, 1280 * 3 * 4);
  assert.equal(head.fingerprint, model.fingerprint);
  assert.match(head.trainingSet.contentHash, /^[0-9a-f]{64}$/);
  assert.equal(head.trainingSet.rows, 300);
  const report = JSON.parse(await readFile(path.join(dir, 'head', 'report.json'), 'utf8')) as { candidate: { accuracy: number; confusion: number[][] } };
  assert.ok(report.candidate.accuracy >= 0.9);
  assert.match(await readFile(path.join(dir, 'head', 'report.md'), 'utf8'), /\| dog \|/);
  assert.match(out.join('\n'), /head of 3 classes \(horse, human, dog\)/);
});
