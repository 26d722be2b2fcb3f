/**
 * The ONNX head editor at the protobuf level: an edit that changes nothing gives the file back byte
 * for byte; the head is found in the demo graph; heads of the wrong size and graphs built another
 * way are refused with the reason; a replaced head changes only the two weight tensors and the
 * class dimension (checked by reading the result again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CentaurError } from '../../src/core/errors.js';
import { findClassifier, initializersDigest, replaceClassifier } from '../../src/formats/onnx-classifier.js';
import { rewriteFields, wireFields } from '../../src/formats/protobuf-wire.js';

const outputs = { embedding: 'embedding', probabilities: 'probabilities' };

test('a rewrite that changes nothing returns the model byte for byte', async () => {
  const model = await readFile('models/demo/model.onnx');
  assert.equal(Buffer.compare(Buffer.from(rewriteFields(model, () => undefined)), model), 0);
});

test('the demo head is MatMul(embedding, 1280×2) → Add → Softmax', async () => {
  const head = findClassifier(await readFile('models/demo/model.onnx'), outputs);
  assert.equal(head.dims, 1280);
  assert.equal(head.classes, 2);
  assert.match(head.kernelName, /MatMul/);
  assert.match(head.biasName, /BiasAdd/);
});

test('a replaced head reads back with the new size; everything else is the same bytes', async () => {
  const model = await readFile('models/demo/model.onnx');
  const kernel = Float32Array.from({ length: 1280 * 4 }, (_, i) => Math.sin(i) / 10);
  const next = replaceClassifier(model, outputs, { kernel, bias: new Float32Array(4), classes: 4 });
  const head = findClassifier(next, outputs);
  assert.equal(head.classes, 4);
  assert.equal(initializersDigest(next, [head.kernelName, head.biasName]), initializersDigest(model, [head.kernelName, head.biasName]));
  // Outside the graph (IR version, opsets, producer) nothing moved.
  const strip = (bytes: Uint8Array): string[] => wireFields(bytes).filter((f) => f.field !== 7).map((f) => Buffer.from(f.value).toString('hex'));
  assert.deepEqual(strip(next), strip(model));
  // 4 − 2 more classes: 1280 × 2 × 4 kernel bytes and 2 × 4 bias bytes, a few bytes of framing.
  assert.ok(Math.abs(next.length - model.length - (1280 * 2 * 4 + 8)) < 16, `${next.length - model.length}`);
});

test('heads of the wrong size and graphs built another way are refused with the reason', async () => {
  const model = await readFile('models/demo/model.onnx');
  assert.throws(
    () => replaceClassifier(model, outputs, { kernel: new Float32Array(100 * 3), bias: new Float32Array(3), classes: 3 }),
    (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && /1280 dims/.test(e.message),
  );
  assert.throws(
    () => findClassifier(model, { embedding: 'embedding', probabilities: 'embedding' }),
    (e: unknown) => e instanceof CentaurError && e.code === 'MODEL_LOAD_FAILED' && /comes from Squeeze, not Softmax/.test(e.message),
  );
  assert.throws(() => findClassifier(Buffer.from('not a model at all, just text'), outputs), (e: unknown) => e instanceof CentaurError);
});
