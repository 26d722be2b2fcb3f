/** Model checks: loadTopologyFile reads the manifest an `infer` node names and checks the decode-image and micro-batch nodes feeding it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { loadTopologyFile, parseTopology } from '../../src/topology/load.js';

const MODEL = JSON.stringify(path.resolve('models/demo'));

async function problems(nodes: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-model-checks-'));
  const file = path.join(dir, 't.yaml');
  const text = `version: 1\nname: t\nnodes:\n  images: { kind: files-source, path: imgs }\n${nodes}  out: { kind: files-sink, from: [infer], dir: out }\n`;
  await writeFile(file, text);
  // The text alone is valid: only the manifest tells.
  assert.doesNotThrow(() => parseTopology(text, file, { env: {} }));
  try {
    await loadTopologyFile(file, { env: {} });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((i) => `${i.line} ${i.node ?? ''}: ${i.message}${i.suggestion === undefined ? '' : `; ${i.suggestion}`}`);
  }
}

test('a decode scale the model was not trained on is reported at the decode node, through operators between', async () => {
  const found = await problems(`  decode: { kind: decode-image, from: [images], scale: symmetric }
  keep: { kind: filter, from: [decode], field: label, equals: horse, missing: keep }
  batch: { kind: micro-batch, from: [keep] }
  infer: { kind: infer, from: [batch], model: { path: ${MODEL} } }
`);
  assert.deepEqual(found, ['5 decode: scales pixels `symmetric`, but model `horse-or-human` 1 (node `infer`) was trained on `unit`; set `scale: unit`']);
});

test('a decode that matches the model, or whose fit keeps the aspect ratio, passes', async () => {
  assert.deepEqual(await problems(`  decode: { kind: decode-image, from: [images] }\n  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }\n`), []);
  assert.deepEqual(await problems(`  decode: { kind: decode-image, from: [images], size: [300, 300], fit: inside }\n  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }\n`), []);
});

test('a model folder without a manifest is reported at model.path', async () => {
  const found = await problems(`  decode: { kind: decode-image, from: [images] }\n  infer: { kind: infer, from: [decode], model: { path: /nonexistent/model } }\n`);
  assert.equal(found.length, 1);
  assert.match(found[0] ?? '', /^6 infer: .*manifest.*; point `model.path` at a model folder with a manifest.json/);
});

test('a micro-batch maxSize above the maxBatchSize of the infer it feeds is a warning at maxSize, not a refusal', () => {
  const text = `version: 1
name: t
nodes:
  images: { kind: files-source, path: imgs }
  decode: { kind: decode-image, from: [images] }
  batch: { kind: micro-batch, from: [decode], maxSize: 64 }
  infer: { kind: infer, from: [batch], model: { path: ${MODEL} }, maxBatchSize: 16 }
  small: { kind: micro-batch, from: [decode], maxSize: 16 }
  infer2: { kind: infer, from: [small], model: { path: ${MODEL} }, maxBatchSize: 16 }
  out: { kind: files-sink, from: [infer, infer2], dir: out }
`;
  const topology = parseTopology(text, 't.yaml', { env: {} });
  assert.deepEqual(
    topology.warnings.map((w) => `${w.line}:${w.column} ${w.node ?? ''}: ${w.message}; ${w.suggestion ?? ''}`),
    ['6:56 batch: maxSize 64 is above the maxBatchSize 16 of `infer`: a full batch runs as 4 backend calls; set `maxSize: 16`, or raise `maxBatchSize` of `infer`'],
  );
});

test('a decode whose fit, kernel or decoder differs from the training manifest is a warning at that option', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-model-checks-'));
  const file = path.join(dir, 't.yaml');
  await writeFile(
    file,
    `version: 1\nname: t\nnodes:\n  images: { kind: files-source, path: imgs }\n  decode: { kind: decode-image, from: [images], fit: cover, decoder: jpeg-turbo }\n  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }\n  out: { kind: files-sink, from: [infer], dir: out }\n`,
  );
  const topology = await loadTopologyFile(file, { env: {} });
  assert.deepEqual(
    topology.warnings.map((w) => `${w.line} ${w.node ?? ''}: ${w.message}; ${w.suggestion ?? ''}`),
    [
      '5 decode: fit `cover` differs from the `fill` model `horse-or-human` 1 (node `infer`) was trained with: it sees slightly different pixels; set `fit: fill`',
      '5 decode: decoder `jpeg-turbo` differs from the `sharp` model `horse-or-human` 1 (node `infer`) was trained with: it sees slightly different pixels; set `decoder: sharp`',
    ],
  );
});
