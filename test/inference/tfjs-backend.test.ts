/**
 * The `tfjs` backend: engine choice (auto falls through absent and broken tfjs-node packages to
 * wasm, and says so), parity with the onnx backend on real demo images (models/demo-tfjs against
 * models/demo, within 1e-4) and on the tiny fixture (graph and layers models), clear
 * MODEL_LOAD_FAILED errors when the model and its manifest disagree, no TF.js memory leak over
 * 100k images, and topologies/demo-tfjs.yaml classifying the quick-start images as the onnx demo does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { pino } from 'pino';
import sharp from 'sharp';
import type { BatchTensor, ImageTensor } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createBackend } from '../../src/inference/create-backend.js';
import type { InferenceBackend, InferenceOutput } from '../../src/inference/backend.js';
import { loadManifest } from '../../src/inference/manifest.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';
import { createTfjsBackend } from '../../src/inference/tfjs-backend.js';
import { runningTfjsEngine } from '../../src/inference/tfjs-engine.js';
import { packBatch } from '../../src/tensors/pack-batch.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TINY_ONNX = path.join(ROOT, 'test/fixtures/tiny-model');
const TINY_GRAPH = path.join(ROOT, 'test/fixtures/tiny-model-tfjs/graph');
const TINY_LAYERS = path.join(ROOT, 'test/fixtures/tiny-model-tfjs/layers');
const DEMO_ONNX = path.join(ROOT, 'models/demo');
const DEMO_TFJS = path.join(ROOT, 'models/demo-tfjs');
const TOLERANCE = 1e-4;
const ENGINE_DESCRIPTION = /^tfjs \d+\.\d+\.\d+ wasm \((simd|no simd), \d+ threads?\)$/;

function batchOf(data: Float32Array | Uint8Array, shape: [number, number, number, number]): BatchTensor {
  return { data, shape, layout: 'NHWC', release: () => {} };
}

/** Largest absolute difference between two arrays of the same length. */
function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function argmaxRows(values: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / width; r += 1) {
    const row = Array.from(values.subarray(r * width, (r + 1) * width));
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

/** Deterministic pixel values in 0..1 (a pooled buffer bigger than the batch, as the batcher hands over). */
function pseudoImages(n: number, perImage: number, seed: number, spare = 0): Float32Array {
  const data = new Float32Array(n * perImage + spare).fill(Number.NaN);
  let x = seed >>> 0;
  for (let i = 0; i < n * perImage; i += 1) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = (x >>> 8) / 0xffffff;
  }
  return data;
}

/** `n` quick-start images (alternately horses and humans), decoded as decode-image does and packed as micro-batch does. */
async function quickstartBatch(model: LoadedManifest, n: number): Promise<{ floats: Float32Array; labels: string[] }> {
  const { input } = model.manifest;
  const folders = ['horses', 'humans'];
  const lists = await Promise.all(folders.map(async (f) => (await readdir(path.join(ROOT, 'data/quickstart', f))).filter((x) => x.endsWith('.jpg')).sort()));
  const files = Array.from({ length: n }, (_, i) => path.join(ROOT, 'data/quickstart', folders[i % 2] as string, lists[i % 2]?.[Math.floor(i / 2)] as string));
  const decoded: ImageTensor[] = await Promise.all(
    files.map(async (file) => {
      const { data } = await sharp(await readFile(file), { failOn: 'truncated', autoOrient: true })
        .toColourspace('srgb')
        .removeAlpha()
        .resize(input.width, input.height, { fit: input.fit, kernel: input.kernel })
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
    }),
  );
  const floats = new Float32Array(n * input.width * input.height * input.channels);
  packBatch(decoded, floats, 'NHWC', 'float32');
  return { floats, labels: files.map((f) => (path.basename(path.dirname(f)) === 'horses' ? 'horse' : 'human')) };
}

/** A copy of a fixture folder whose manifest `edit` changes (the sha256 of model.json stays valid). */
async function editedCopy(source: string, edit: (manifest: Record<string, unknown>) => void): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfjs-'));
  await cp(source, dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(manifest);
  await writeFile(file, JSON.stringify(manifest));
  return dir;
}

async function assertLoadFails(dir: string, message: RegExp): Promise<void> {
  await assert.rejects(
    (async () => createBackend({ kind: 'tfjs' }, await loadManifest(dir)))(),
    (error: unknown) => {
      assert.ok(error instanceof CentaurError, String(error));
      assert.equal(error.code, 'MODEL_LOAD_FAILED');
      assert.match(error.message, message);
      return true;
    },
  );
}

test('auto: an absent tfjs-node-gpu and a broken tfjs-node are skipped, wasm runs, and the engine is logged and described', async (t) => {
  if ((await runningTfjsEngine()) !== null) {
    t.skip('a TF.js engine already runs in this process; this test must start it');
    return;
  }
  const listeners = { uncaught: process.listenerCount('uncaughtException'), rejection: process.listenerCount('unhandledRejection') };
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
  const importModule = async (specifier: string): Promise<unknown> => {
    if (specifier === '@tensorflow/tfjs-node-gpu') {
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${ROOT}`), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    if (specifier === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so.2: cannot open shared object file');
    return import(specifier);
  };
  const backend = await createTfjsBackend(await loadManifest(TINY_GRAPH), { kind: 'tfjs' }, { logger }, importModule);
  try {
    assert.match(backend.description, ENGINE_DESCRIPTION);
    assert.equal(backend.name, 'tfjs');
    assert.equal(tf.getBackend(), 'wasm');
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; skipped?: string[] });
    assert.ok(logged.some((l) => /TF\.js engine node failed to start/.test(l.msg)), lines.join(''));
    const chosen = logged.find((l) => /^TF\.js runs on tfjs .* wasm/.test(l.msg));
    assert.deepEqual(chosen?.skipped, ['node-gpu: not installed', 'node: libtensorflow.so.2: cannot open shared object file']);
    assert.ok(logged.some((l) => /^TF\.js graph model loaded on tfjs .* wasm/.test(l.msg)));
    assert.equal((await runningTfjsEngine())?.name, 'wasm');
    // The wasm glue's process-wide rethrowing handlers are removed.
    assert.deepEqual({ uncaught: process.listenerCount('uncaughtException'), rejection: process.listenerCount('unhandledRejection') }, listeners);
  } finally {
    await backend.close();
  }
});

test('engine: node without @tensorflow/tfjs-node installed, and an engine other than the running one, are clear load errors', async () => {
  const model = await loadManifest(TINY_GRAPH);
  const absent = async (specifier: string): Promise<unknown> => {
    if (specifier.startsWith('@tensorflow/tfjs-node')) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${ROOT}`), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    return import(specifier);
  };
  await assert.rejects(createTfjsBackend(model, { kind: 'tfjs', engine: 'node' }, {}, absent), (error: unknown) => {
    assert.ok(error instanceof CentaurError);
    assert.equal(error.code, 'MODEL_LOAD_FAILED');
    assert.match(error.message, /`node` needs @tensorflow\/tfjs-node, which is not installed; run `npm install @tensorflow\/tfjs-node`/);
    return true;
  });
  await assert.rejects(createBackend({ kind: 'tfjs', engine: 'cpu' }, model), (error: unknown) => {
    assert.ok(error instanceof CentaurError);
    assert.equal(error.code, 'MODEL_LOAD_FAILED');
    assert.match(error.message, /already runs TF\.js on `wasm`.*set `engine: wasm` or `engine: auto`/);
    return true;
  });
  const wasm = await createBackend({ kind: 'tfjs', engine: 'wasm' }, model);
  assert.match(wasm.description, ENGINE_DESCRIPTION);
  await wasm.close();
});

test('the demo model in TF.js gives the onnx backend’s outputs within 1e-4 on quick-start images', async () => {
  const onnxModel = await loadManifest(DEMO_ONNX);
  const tfjsModel = await loadManifest(DEMO_TFJS);
  assert.equal(tfjsModel.manifest.format, 'tfjs');
  const onnx = await createBackend({ kind: 'onnx', intraOpNumThreads: 2 }, onnxModel);
  const before = tf.memory();
  const tfjs = await createBackend({ kind: 'tfjs' }, tfjsModel);
  try {
    assert.match(tfjs.description, ENGINE_DESCRIPTION);
    const loaded = tf.memory();
    const n = 16;
    const { floats, labels } = await quickstartBatch(onnxModel, n);
    const perImage = floats.length / n;
    // The pooled buffer is bigger than the batch: only the first n·h·w·c values may be read.
    const pooled = new Float32Array(floats.length + perImage).fill(Number.NaN);
    pooled.set(floats);
    const report: string[] = [];
    for (const size of [1, 5, n]) {
      const shape: [number, number, number, number] = [size, 224, 224, 3];
      const expected = await onnx.run(batchOf(floats, shape));
      const actual: InferenceOutput = await tfjs.run(batchOf(pooled, shape));
      const p = maxDifference(actual.probabilities, expected.probabilities);
      const e = maxDifference(actual.embedding as Float32Array, expected.embedding as Float32Array);
      assert.equal(actual.embeddingSize, 1280);
      assert.ok(p <= TOLERANCE, `batch ${size}: probabilities differ by up to ${p}`);
      assert.ok(e <= TOLERANCE, `batch ${size}: embeddings differ by up to ${e}`);
      assert.deepEqual(argmaxRows(actual.probabilities, 2), argmaxRows(expected.probabilities, 2));
      report.push(`batch ${size}: probabilities ${p.toExponential(2)}, embeddings ${e.toExponential(2)}`);
    }
    const predicted = argmaxRows((await tfjs.run(batchOf(floats, [n, 224, 224, 3]))).probabilities, 2).map((i) => tfjsModel.manifest.classes[i]);
    assert.ok(predicted.filter((c, i) => c === labels[i]).length >= n - 1, `predicted ${predicted.join(',')}`);
    process.stderr.write(`# tfjs vs onnx max |diff|: ${report.join('; ')}\n`);
    assert.deepEqual(tf.memory().numTensors, loaded.numTensors, 'tensors left behind by runs');
    assert.deepEqual(tf.memory().numBytes, loaded.numBytes, 'bytes left behind by runs');
  } finally {
    await tfjs.close();
    await onnx.close();
  }
  assert.equal(tf.memory().numTensors, before.numTensors, 'close() disposes the weights');
  assert.equal(tf.memory().numBytes, before.numBytes);
});

test('the tiny fixture as a TF.js graph model and as a layers model equals the ONNX fixture', async () => {
  const onnx = await createBackend({ kind: 'onnx', intraOpNumThreads: 1 }, await loadManifest(TINY_ONNX));
  try {
    const n = 7;
    const data = pseudoImages(n, 48, 11, 48 * 3);
    const expected = await onnx.run(batchOf(data, [n, 4, 4, 3]));
    for (const dir of [TINY_GRAPH, TINY_LAYERS]) {
      const backend = await createBackend({ kind: 'tfjs' }, await loadManifest(dir));
      try {
        const actual = await backend.run(batchOf(data, [n, 4, 4, 3]));
        assert.equal(actual.embeddingSize, 3);
        assert.ok(maxDifference(actual.probabilities, expected.probabilities) <= 1e-6, dir);
        assert.ok(maxDifference(actual.embedding as Float32Array, expected.embedding as Float32Array) <= 1e-6, dir);
      } finally {
        await backend.close();
      }
    }
  } finally {
    await onnx.close();
  }
});

test('a float16 batch (micro-batch dtype float16) is refused with TENSOR_SHAPE_MISMATCH saying to pack float32, not run', async () => {
  const backend = await createBackend({ kind: 'tfjs' }, await loadManifest(TINY_GRAPH));
  try {
    const half: BatchTensor = { data: new Uint16Array(2 * 48), shape: [2, 4, 4, 3], layout: 'NHWC', release: () => {} };
    await assert.rejects(backend.run(half), (error: unknown) => {
      assert.ok(error instanceof CentaurError, String(error));
      assert.equal(error.code, 'TENSOR_SHAPE_MISMATCH');
      assert.equal(error.retriable, false);
      assert.match(error.message, /batch is float16 .*tfjs backend feeds input `.+` as float32; set `dtype: float32` on micro-batch/);
      return true;
    });
    // The same backend still runs float32 batches.
    const out = await backend.run(batchOf(pseudoImages(2, 48, 3), [2, 4, 4, 3]));
    assert.equal(out.probabilities.length, 4);
  } finally {
    await backend.close();
  }
});

test('a model whose names or shapes differ from the manifest is refused with MODEL_LOAD_FAILED naming both sides', async () => {
  const cases: { source: string; edit: (m: Record<string, unknown>) => void; message: RegExp }[] = [
    {
      source: TINY_GRAPH,
      edit: (m) => (m.outputs = { probabilities: 'probs', embedding: 'embedding' }),
      message: /the model has no output `probs` for probabilities \(outputs: .*probabilities.*\); fix outputs\.probabilities in the manifest/,
    },
    {
      source: TINY_LAYERS,
      edit: (m) => (m.outputs = { probabilities: 'probabilities', embedding: 'features' }),
      message: /the model has no output `features` for embedding \(outputs: embedding, probabilities\); fix outputs\.embedding in the manifest/,
    },
    { source: TINY_LAYERS, edit: (m) => ((m.input as Record<string, unknown>).name = 'pixels'), message: /no input `pixels` \(inputs: input\); fix input\.name/ },
    { source: TINY_GRAPH, edit: (m) => ((m.input as Record<string, unknown>).width = 5), message: /input `input` has shape \[-1, 4, 4, 3\], the manifest says NHWC 4×5×3/ },
    { source: TINY_GRAPH, edit: (m) => (m.classes = ['dark', 'grey', 'bright']), message: /output probabilities has 2 values for 1 inputs × 3 classes/ },
    { source: TINY_GRAPH, edit: (m) => (m.format = 'onnx'), message: /`format: onnx`; the tfjs backend loads TF\.js models/ },
  ];
  for (const c of cases) {
    const dir = await editedCopy(c.source, c.edit);
    try {
      await assertLoadFails(dir, c.message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const before = tf.memory().numTensors;
  const missing = await editedCopy(TINY_GRAPH, () => undefined);
  try {
    await rm(path.join(missing, 'group1-shard1of1.bin'));
    await assertLoadFails(missing, /cannot read weight shard .*group1-shard1of1\.bin/);
  } finally {
    await rm(missing, { recursive: true, force: true });
  }
  assert.equal(tf.memory().numTensors, before, 'a refused model leaves no tensors');
});

test('no TF.js memory leak over 100k images (tiny graph and layers models, batches of 64)', async () => {
  const batch = 64;
  const batches = Math.ceil(100_000 / batch);
  const data = pseudoImages(batch, 48, 3);
  for (const dir of [TINY_GRAPH, TINY_LAYERS]) {
    const backend: InferenceBackend = await createBackend({ kind: 'tfjs' }, await loadManifest(dir));
    try {
      await backend.run(batchOf(data, [batch, 4, 4, 3]));
      const before = tf.memory();
      const started = performance.now();
      let checksum = 0;
      for (let i = 0; i < batches; i += 1) {
        const size = i % 7 === 6 ? 1 + (i % batch) : batch; // some partial batches too
        const out = await backend.run(batchOf(data, [size, 4, 4, 3]));
        checksum += out.probabilities[0] as number;
      }
      const after = tf.memory();
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `# ${path.basename(dir)}: ${batches} batches (~${batches * batch} images) in ${seconds.toFixed(1)} s; tensors ${before.numTensors} → ${after.numTensors}, bytes ${before.numBytes} → ${after.numBytes}\n`,
      );
      assert.ok(Number.isFinite(checksum));
      assert.equal(after.numTensors, before.numTensors, `${dir}: tensors leaked`);
      assert.equal(after.numBytes, before.numBytes, `${dir}: bytes leaked`);
      assert.equal(after.numDataBuffers, before.numDataBuffers, `${dir}: data buffers leaked`);
    } finally {
      await backend.close();
    }
  }
});

test('topologies/demo-tfjs.yaml classifies the 200 quick-start images with the onnx demo\'s accuracy (99.5%)', async () => {
  const file = path.join(ROOT, 'topologies/demo-tfjs.yaml');
  const out = await mkdtemp(path.join(tmpdir(), 'centaur-demo-tfjs-'));
  try {
    // The file as shipped, writing into a temporary folder and without the terminal sink.
    const yaml = (await readFile(file, 'utf8'))
      .replaceAll('../out/demo-tfjs', JSON.stringify(out))
      .replace('\n  print:\n    kind: stdout-sink\n    from: [infer]\n', '\n');
    assert.doesNotMatch(yaml, /stdout-sink/);
    const runtime = new Runtime(parseTopology(yaml, file, { env: {} }), { logger: pino({ level: 'silent' }) });
    const summary = await runtime.run();
    assert.equal(summary.inputs, 200);
    assert.equal(summary.predictions, 200);
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.accuracy?.correct, 199, JSON.stringify(summary.accuracy));
    process.stderr.write(`# demo-tfjs: ${summary.imagesPerSecond.toFixed(1)} images/s, accuracy ${summary.accuracy?.correct}/${summary.accuracy?.labelled}\n`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
