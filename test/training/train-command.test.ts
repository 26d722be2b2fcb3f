/**
 * `centaur train` end to end on the demo model: a 3-class version whose ONNX graph is the parent's
 * with only the head replaced (backbone initializers hash the same, embeddings bit-identical through
 * onnxruntime, probabilities equal to the trained head applied to them within 1e-5), the manifest
 * listing the new classes with the parent's fingerprint and lineage, the report with the blessing
 * and a confusion-matrix picture; the Triton export of the new version; a blessed version registered under `candidate`, promoted with
 * `--promote` and rolled back with `centaur models rollback`; a version that is not blessed is
 * reported and not registered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { main } from '../../src/cli/main.js';
import { findClassifier, initializersDigest } from '../../src/formats/onnx-classifier.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { headProbabilities } from '../../src/training/head-trainer.js';
import type { TrainedHead } from '../../src/training/head-trainer.js';
import type { TrainingReport } from '../../src/training/training-report.js';
import { demoModelCopy, demoTrainingSet } from '../helpers/training-rows.js';

/** A lake folder holding a training set of 300 rows under the demo model's fingerprint, and a registry holding the demo model as version 1 (production). */
async function setUp(): Promise<{ dir: string; set: string; registry: ModelRegistry }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-train-'));
  const set = await demoTrainingSet(dir, (await loadManifest('models/demo')).fingerprint);
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  await registry.register(await demoModelCopy(dir), { aliases: ['production'] });
  return { dir, set, registry };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('centaur train writes the parent graph with only its head replaced, judged, registered as candidate', async () => {
  const { dir, set, registry } = await setUp();
  const out = path.join(dir, 'run');
  const result = await run(['train', set, '--model', 'models/demo', '--out', out, '--min-per-class', '5', '--registry', path.join(dir, 'registry'), '--quiet']);
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, /horse-or-human version 2 .*3 classes \(horse, human, dog\).*blessed; registered as 2 \(candidate\)/);

  const parent = await loadManifest('models/demo');
  const child = await loadManifest(path.join(out, 'model'));
  assert.deepEqual(child.manifest.classes, ['horse', 'human', 'dog']);
  assert.equal(child.manifest.version, '2');
  assert.equal(child.fingerprint, parent.fingerprint, 'the embeddings are the parent\'s');
  assert.deepEqual(child.manifest.input, parent.manifest.input);
  assert.deepEqual(child.manifest.outputs, parent.manifest.outputs);
  const training = child.manifest.training as { parent: { version: string; sha256: string }; backboneSha256: string; trainingSet: { contentHash: string; rows: number }; parameters: { seed: number }; codeVersion: string };
  assert.equal(training.parent.version, '1');
  assert.equal(training.parent.sha256, parent.manifest.sha256);
  assert.match(training.trainingSet.contentHash, /^[0-9a-f]{64}$/);
  assert.equal(training.trainingSet.rows, 300);
  assert.equal(training.parameters.seed, 1);
  assert.match(training.codeVersion, /^\d+\.\d+\.\d+/);

  // The backbone: every initializer but the head's two hashes the same.
  const parentBytes = await readFile(parent.modelPath);
  const childBytes = await readFile(child.modelPath);
  const head = findClassifier(parentBytes, { embedding: 'embedding', probabilities: 'probabilities' });
  const except = [head.kernelName, head.biasName];
  assert.equal(initializersDigest(childBytes, except), initializersDigest(parentBytes, except));
  assert.equal(training.backboneSha256, initializersDigest(parentBytes, except));
  assert.notEqual(initializersDigest(childBytes, []), initializersDigest(parentBytes, []));

  // Through onnxruntime: the same embeddings, and probabilities = the trained head applied to them.
  const saved = JSON.parse(await readFile(path.join(out, 'head.json'), 'utf8')) as { dims: number; classes: string[]; kernel: string; bias: number[] };
  const kernelBytes = Buffer.from(saved.kernel, 'base64');
  const trained: TrainedHead = { dims: saved.dims, classes: saved.classes.length, kernel: new Float32Array(kernelBytes.buffer, kernelBytes.byteOffset, kernelBytes.byteLength / 4), bias: Float32Array.from(saved.bias), epochs: [], bestEpoch: 1 };
  const x = Float32Array.from({ length: 4 * 224 * 224 * 3 }, (_, i) => ((i * 7919) % 256) / 255);
  const feeds = { input: new ort.Tensor('float32', x, [4, 224, 224, 3]) };
  const [a, b] = await Promise.all([ort.InferenceSession.create(parent.modelPath), ort.InferenceSession.create(child.modelPath)]);
  const [pa, pb] = [await a.run(feeds), await b.run(feeds)];
  assert.deepEqual(pb.probabilities?.dims, [4, 3]);
  assert.deepEqual(Buffer.from((pb.embedding?.data as Float32Array).buffer), Buffer.from((pa.embedding?.data as Float32Array).buffer), 'bit-identical embeddings');
  const embeddings = pb.embedding?.data as Float32Array;
  const probabilities = pb.probabilities?.data as Float32Array;
  let worst = 0;
  for (let n = 0; n < 4; n++) {
    const expected = headProbabilities(trained, embeddings.subarray(n * 1280, (n + 1) * 1280));
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(expected[c]! - probabilities[n * 3 + c]!));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);

  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as TrainingReport;
  assert.equal(report.blessing.blessed, true);
  assert.ok(report.blessing.checks.some((c) => c.check === 'recall of new class dog' && c.passed));
  assert.match(await readFile(path.join(out, 'report.md'), 'utf8'), /\*\*Blessed\*\* against version 1/);
  assert.match(await readFile(path.join(out, 'confusion.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*>dog<\/text>[\s\S]*<\/svg>\n$/);

  assert.deepEqual(await registry.aliases('horse-or-human'), { production: '1', candidate: '2' });
  const registered = await registry.load('horse-or-human', 'candidate');
  assert.equal(registered.manifest.sha256, child.manifest.sha256);

  // The Triton export reads the new class count from the edited graph itself.
  const exported = await run(['models', 'export-triton', path.join(out, 'model'), '--out', path.join(dir, 'triton')]);
  assert.equal(exported.code, 0, exported.err);
  const config = await readFile(path.join(dir, 'triton', 'horse-or-human', 'config.pbtxt'), 'utf8');
  assert.match(config, /name: "probabilities"\s+data_type: TYPE_FP32\s+dims: \[ 3 \]\s+label_filename: "labels.txt"/);
  assert.equal(await readFile(path.join(dir, 'triton', 'horse-or-human', 'labels.txt'), 'utf8'), 'horse\nhuman\ndog\n');
});

test('--promote moves production; models rollback goes back one step at a time; a version that is not blessed is not registered', async () => {
  const { dir, set, registry } = await setUp();
  const reg = path.join(dir, 'registry');
  const common = ['--model', 'models/demo', '--min-per-class', '5', '--registry', reg, '--quiet'];
  assert.equal((await run(['train', set, ...common, '--out', path.join(dir, 'a'), '--promote'])).code, 0);
  assert.equal((await run(['train', set, ...common, '--out', path.join(dir, 'b'), '--promote', '--seed', '2'])).code, 0);
  assert.deepEqual(await registry.aliases('horse-or-human'), { production: '3', candidate: '3' });

  const refused = await run(['train', set, ...common, '--out', path.join(dir, 'c'), '--min-new-class-recall', '1.01']);
  assert.equal(refused.code, 3, refused.err);
  assert.match(refused.out, /not blessed: recall of new class dog; not registered/);
  assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1', '2', '3']);
  const report = JSON.parse(await readFile(path.join(dir, 'c', 'report.json'), 'utf8')) as TrainingReport;
  assert.equal(report.blessing.blessed, false);
  assert.match(await readFile(path.join(dir, 'c', 'report.md'), 'utf8'), /\*\*Not blessed\*\*[\s\S]*\| recall of new class dog \| [\d.]+ \| 1\.010 \| \*\*no\*\* \|/);

  const back = await run(['models', 'rollback', 'horse-or-human', '--registry', reg]);
  assert.equal(back.code, 0, back.err);
  assert.match(back.out, /production → 2 \(was 3\)/);
  assert.match((await run(['models', 'rollback', 'horse-or-human', '--registry', reg])).out, /production → 1 \(was 2\)/);
  const none = await run(['models', 'rollback', 'horse-or-human', '--registry', reg]);
  assert.notEqual(none.code, 0);
  assert.match(none.err, /no earlier version/);
  assert.match((await run(['models', 'history', 'horse-or-human', '--registry', reg])).out, /production\s+2 → 1 \(rollback\)/);
});

test('MLflow down: the training completes and registers here, and the gap is reported', async () => {
  const { dir, set, registry } = await setUp();
  const out = path.join(dir, 'run');
  const result = await run(['train', set, '--model', 'models/demo', '--out', out, '--min-per-class', '5', '--registry', path.join(dir, 'registry'), '--mlflow', 'http://127.0.0.1:9', '--quiet']);
  assert.equal(result.code, 0, result.err);
  assert.match(result.err, /MLflow gap: could not start the run in MLflow at http:\/\/127\.0\.0\.1:9: MLflow at http:\/\/127\.0\.0\.1:9 is unreachable.*the training and its registration here are complete/);
  assert.deepEqual(await registry.aliases('horse-or-human'), { production: '1', candidate: '2' });
  const recorded = JSON.parse(await readFile(path.join(out, 'mlflow.json'), 'utf8')) as { registered: boolean; gaps: string[] };
  assert.equal(recorded.registered, false);
  assert.equal(recorded.gaps.length, 1);
});
