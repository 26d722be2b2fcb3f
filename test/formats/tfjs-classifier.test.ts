/**
 * A trained head written into the TF.js graph model (models/demo-tfjs): TensorFlow.js serves the
 * new version through the `tfjs` backend, its embeddings equal the parent's, its probabilities
 * equal the trained head applied to them, the backbone's weights are the parent's byte for byte,
 * and the registry takes the version (checksum verified). Heads built another way are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { BatchTensor } from '../../src/core/envelope.js';
import { findTfjsClassifier, replaceTfjsClassifier, tfjsWeightsDigest } from '../../src/formats/tfjs-classifier.js';
import type { TfjsGraphModelJson } from '../../src/formats/tfjs-classifier.js';
import { createBackend } from '../../src/inference/create-backend.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { writeHeadVersion } from '../../src/training/head-version.js';

const PARENT = path.resolve('models/demo-tfjs');
const outputs = { embedding: 'embedding', probabilities: 'probabilities' };

async function parentFiles(): Promise<{ json: TfjsGraphModelJson; groups: Buffer[] }> {
  const json = JSON.parse(await readFile(path.join(PARENT, 'model.json'), 'utf8')) as TfjsGraphModelJson;
  const groups = await Promise.all(json.weightsManifest.map(async (g) => Buffer.concat(await Promise.all(g.paths.map((p) => readFile(path.join(PARENT, p)))))));
  return { json, groups };
}

/** Two 224×224 images as one NHWC float batch, pixels / 255. */
async function batch(): Promise<BatchTensor> {
  const files = ['data/quickstart/horses', 'data/quickstart/humans'];
  const rows = await Promise.all(
    files.map(async (dir) => {
      const name = (await readdir(dir)).sort()[0]!;
      return sharp(path.join(dir, name)).resize(224, 224, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    }),
  );
  const data = new Float32Array(2 * 224 * 224 * 3);
  rows.forEach((row, r) => row.forEach((v, i) => (data[r * row.length + i] = v / 255)));
  return { data, shape: [2, 224, 224, 3], layout: 'NHWC', release: () => undefined };
}

test('the demo TF.js head is a fused MatMul + BiasAdd of 1280 × 2 behind the softmax', async () => {
  const { json } = await parentFiles();
  const head = findTfjsClassifier(json, outputs);
  assert.deepEqual([head.inputs, head.classes], [1280, 2]);
  assert.match(head.kernelName, /probabilities\/MatMul/);
  assert.match(head.biasName, /probabilities\/BiasAdd/);
});

test('a 3-class head written into the TF.js model: served by TensorFlow.js, embeddings unchanged, probabilities = the head on them, backbone bytes unchanged', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfjs-head-'));
  const parent = await loadManifest(PARENT);
  const kernel = Float32Array.from({ length: 1280 * 3 }, (_, i) => Math.sin(i * 0.37) / 4);
  const bias = Float32Array.from([0.1, -0.2, 0.05]);
  const version = await writeHeadVersion(parent, path.join(dir, 'v2'), { version: '2', classes: ['horse', 'human', 'dog'], kernel, bias, metrics: {}, training: {} });
  assert.equal(version.manifest.format, 'tfjs');
  assert.deepEqual(version.manifest.classes, ['horse', 'human', 'dog']);
  assert.equal(version.fingerprint, parent.fingerprint, 'the same embeddings: the same fingerprint');

  // The backbone: every weight but the head's, byte for byte.
  const { json, groups } = await parentFiles();
  const head = findTfjsClassifier(json, outputs);
  const written = JSON.parse(await readFile(version.modelPath, 'utf8')) as TfjsGraphModelJson;
  const writtenGroups = await Promise.all(written.weightsManifest.map(async (g) => Buffer.concat(await Promise.all(g.paths.map((p) => readFile(path.join(path.dirname(version.modelPath), p)))))));
  assert.equal(tfjsWeightsDigest(written, writtenGroups, [head.kernelName, head.biasName]), tfjsWeightsDigest(json, groups, [head.kernelName, head.biasName]));
  assert.equal(version.manifest.training?.backboneSha256, tfjsWeightsDigest(json, groups, [head.kernelName, head.biasName]));

  const tensor = await batch();
  const before = await createBackend({ kind: 'tfjs' }, parent);
  const after = await createBackend({ kind: 'tfjs' }, version);
  try {
    const a = await before.run(tensor);
    const b = await after.run(tensor);
    assert.equal(b.embeddingSize, 1280);
    let embeddingGap = 0;
    for (let i = 0; i < a.embedding!.length; i += 1) embeddingGap = Math.max(embeddingGap, Math.abs(a.embedding![i]! - b.embedding![i]!));
    assert.equal(embeddingGap, 0, 'the embeddings are the parent\'s');
    assert.equal(b.probabilities.length, 2 * 3);
    let gap = 0;
    for (let r = 0; r < 2; r += 1) {
      const e = b.embedding!.subarray(r * 1280, (r + 1) * 1280);
      const logits = [0, 1, 2].map((c) => bias[c]! + e.reduce((sum, v, i) => sum + v * kernel[i * 3 + c]!, 0));
      const top = Math.max(...logits);
      const exp = logits.map((l) => Math.exp(l - top));
      const total = exp.reduce((x, y) => x + y, 0);
      exp.forEach((v, c) => (gap = Math.max(gap, Math.abs(v / total - b.probabilities[r * 3 + c]!))));
    }
    assert.ok(gap < 1e-5, `probabilities within 1e-5 of the head on the embeddings (${gap})`);
  } finally {
    await before.close();
    await after.close();
  }

  const registry = new ModelRegistry(path.join(dir, 'registry'));
  await registry.register(PARENT, { aliases: ['production'] });
  await registry.register(path.join(dir, 'v2'));
  assert.deepEqual((await registry.load('horse-or-human', '2')).manifest.classes, ['horse', 'human', 'dog']);
});

test('heads built another way are refused with the reason', async () => {
  const { json, groups } = await parentFiles();
  const head = findTfjsClassifier(json, outputs);
  const edit = (change: (j: TfjsGraphModelJson) => void): TfjsGraphModelJson => {
    const copy = structuredClone(json);
    change(copy);
    return copy;
  };
  const node = (j: TfjsGraphModelJson, name: string): { attr?: Record<string, unknown>; op: string } => j.modelTopology.node.find((n) => n.name === name)!;
  const dense = json.modelTopology.node.find((n) => n.op === '_FusedMatMul')!.name;
  assert.throws(() => findTfjsClassifier(edit((j) => (node(j, dense).attr!.transpose_b = { b: true })), outputs), /sets transpose_b/);
  assert.throws(
    () => findTfjsClassifier(edit((j) => (j.weightsManifest[0]!.weights.find((w) => w.name === head.kernelName)!.quantization = { dtype: 'uint8', min: 0, scale: 1 })), outputs),
    /quantized to uint8/,
  );
  assert.throws(() => findTfjsClassifier(json, { embedding: 'embedding', probabilities: 'embedding' }), /comes from Mean, not Softmax/);
  assert.throws(() => replaceTfjsClassifier(json, groups, outputs, { kernel: new Float32Array(10), bias: new Float32Array(3), classes: 3 }, () => ['w.bin']), /needs 3840 kernel/);
  assert.throws(() => replaceTfjsClassifier(json, [groups[0]!.subarray(8)], outputs, { kernel: new Float32Array(3840), bias: new Float32Array(3), classes: 3 }, () => ['w.bin']), /runs past the end|hold/);
});
