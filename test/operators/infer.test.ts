import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import type { Observable } from 'rxjs';
import type { OperatorContext } from '../../src/core/component.js';
import type { Batch, BatchTensor, Envelope, ImageTensor, Item } from '../../src/core/envelope.js';
import { isBatch } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { fromFloat16Array, toFloat16Array } from '../../src/core/fp16.js';
import { createBackend } from '../../src/inference/create-backend.js';
import type { InferenceBackend, InferenceOutput } from '../../src/inference/backend.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { InferOptions, createInfer, createInferWithBackend, describeInfer, infer } from '../../src/operators/infer.js';
import { createMicroBatch } from '../../src/operators/micro-batch.js';
import { packBatch } from '../../src/tensors/pack-batch.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = 'test/fixtures/tiny-model';
const DEMO = path.join(ROOT, 'models/demo');

// The tiny model's head, as in test/fixtures/tiny-model/build.py.
const W = [
  [-1.5, 1.0],
  [-2.0, 2.5],
  [-0.5, 0.5],
];
const B = [1.0, -1.0];

/** Embedding (channel means of the /255 image) and softmax probabilities, computed in JS. */
function expected(pixels: Uint8Array): { embedding: number[]; probabilities: number[] } {
  const embedding = [0, 0, 0];
  for (let i = 0; i < pixels.length; i += 1) embedding[i % 3] = (embedding[i % 3] as number) + (pixels[i] as number) / 255;
  for (let c = 0; c < 3; c += 1) embedding[c] = (embedding[c] as number) / 16;
  const logits = B.map((b, k) => b + embedding.reduce((sum, e, c) => sum + e * (W[c]?.[k] as number), 0));
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return { embedding, probabilities: exps.map((e) => e / total) };
}

const noop = (): void => {};

/** A 4×4 RGB image with pseudo-random but fixed pixels. */
function image(seed: number, size = 4): ImageTensor {
  const data = new Uint8Array(size * size * 3);
  let s = seed * 7919 + 17;
  for (let i = 0; i < data.length; i += 1) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s % 256;
  }
  return { data, width: size, height: size, channels: 3, scale: 'unit' };
}

function envelope(i: number, tensor: ImageTensor | null = image(i)): Envelope {
  return {
    id: `e${i}`,
    eventTime: 0,
    position: { source: 'test', partition: '0', offset: i },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: 1000 + (tensor?.data.byteLength ?? 0),
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: noop, deadLettered: noop },
    ...(tensor === null ? {} : { tensor }),
  };
}

function context(): { ctx: OperatorContext; failed: { id: string; error: CentaurError }[] } {
  const failed: { id: string; error: CentaurError }[] = [];
  const ctx: OperatorContext = {
    nodeId: 'infer',
    scheduler: asyncScheduler,
    fail: (e, error) => failed.push({ id: e.id, error: error as CentaurError }),
  };
  return { ctx, failed };
}

const options = (overrides: Partial<InferOptions> = {}): InferOptions => ({
  model: { path: FIXTURE },
  backend: { kind: 'onnx', intraOpNumThreads: 1 },
  maxBatchesInFlight: 2,
  maxBatchSize: 64,
  retryWindowMs: 0,
  includeEmbedding: true,
  ...overrides,
});

/** The real tiny-model backend, shared by the tests that wrap it in counting or failing fakes. */
let sharedBackend: InferenceBackend | null = null;
async function realBackendRun(batch: BatchTensor): Promise<InferenceOutput> {
  sharedBackend ??= await createBackend({ kind: 'onnx', intraOpNumThreads: 1 }, await loadManifest(path.join(ROOT, FIXTURE)));
  return sharedBackend.run(batch);
}

/** The real tiny model behind a backend that records each run's batch size. */
function countingBackend(): { sizes: number[]; backend: InferenceBackend } {
  const sizes: number[] = [];
  const backend: InferenceBackend = {
    name: 'counting',
    description: 'counting',
    run: (batch) => {
      sizes.push(batch.shape[0]);
      return realBackendRun(batch);
    },
    close: async () => undefined,
  };
  return { sizes, backend };
}

const collect = (items: Observable<Item>): Promise<Item[]> => lastValueFrom(items.pipe(toArray()));
const flatten = (items: Item[]): Envelope[] => items.flatMap((item) => (isBatch(item) ? item.envelopes : [item]));

function assertPredicted(envelopes: readonly Envelope[], sources: readonly ImageTensor[], withEmbedding = true): void {
  assert.equal(envelopes.length, sources.length);
  envelopes.forEach((e, i) => {
    const want = expected((sources[i] as ImageTensor).data);
    const p = e.prediction;
    assert.ok(p, `${e.id} has a prediction`);
    assert.equal(p.probabilities.length, 2);
    p.probabilities.forEach((v, k) => assert.ok(Math.abs(v - (want.probabilities[k] as number)) < 1e-5, `${e.id} p[${k}]`));
    const best = (want.probabilities[1] as number) > (want.probabilities[0] as number) ? 1 : 0;
    assert.equal(p.classIndex, best);
    assert.equal(p.label, ['dark', 'bright'][best]);
    assert.equal(p.confidence, p.probabilities[best]);
    if (withEmbedding) {
      assert.ok(e.embedding instanceof Float32Array && e.embedding.length === 3);
      e.embedding.forEach((v, c) => assert.ok(Math.abs(v - (want.embedding[c] as number)) < 1e-5, `${e.id} emb[${c}]`));
    } else {
      assert.equal(e.embedding, undefined);
    }
    const { fingerprint, ...model } = e.model ?? {};
    assert.deepEqual(model, { name: 'tiny', version: '1', classes: ['dark', 'bright'] });
    assert.match(fingerprint ?? '', /^[0-9a-f]{64}$/, 'the model\'s fingerprint');
    assert.equal(e.tensor, undefined);
    assert.equal(e.sizeBytes, 1000);
    assert.equal(typeof e.timings.infer, 'number');
  });
}

void test('schema: defaults fill in, including backend { kind: onnx }', () => {
  const validate = new Ajv({ useDefaults: true, strict: false }).compile(InferOptions);
  const value: Record<string, unknown> = { model: { path: 'models/demo' } };
  assert.ok(validate(value), JSON.stringify(validate.errors));
  assert.deepEqual(value, {
    model: { path: 'models/demo' },
    backend: { kind: 'onnx' },
    maxBatchesInFlight: 2,
    maxBatchSize: 64,
    retryWindowMs: 60_000,
    includeEmbedding: true,
  });
  assert.equal(validate({ model: { path: 'x' }, backend: { kind: 'tflite' } }), false);
  assert.equal(validate({ model: { path: 'x' }, backend: { kind: 'tfjs', engine: 'wasm', threads: 2 } }), true);
  assert.equal(validate({ model: { path: 'x' }, backend: { kind: 'tfjs', engine: 'gpu' } }), false);
  assert.equal(validate({ model: { path: 'x' }, backend: { kind: 'onnx', threads: 2 } }), false);
  assert.equal(infer.kind, 'infer');
});

void test('batches packed by micro-batch: predictions and embeddings match the model, pooled buffers come back', async () => {
  const op = await createInfer(options(), { baseDir: ROOT });
  try {
    assert.match(op.backendDescription, /^onnxruntime-node \d+\.\d+\.\d+ \(cpu, 1 threads\)$/);
    assert.equal(describeInfer(op), op.backendDescription);
    const batcher = createMicroBatch({ maxSize: 4, maxDelayMs: 5, layout: 'NHWC', dtype: 'float32', poolSize: 2 });
    const { ctx, failed } = context();
    const inputs = Array.from({ length: 10 }, (_, i) => envelope(i));
    const sources = inputs.map((e) => e.tensor as ImageTensor);
    const out = await collect(op.apply(batcher.apply(from(inputs), { ...ctx, nodeId: 'batch' }), ctx));
    assert.deepEqual(failed, []);
    assert.ok(out.every((item) => isBatch(item) && item.tensor === null));
    assert.deepEqual(
      out.map((item) => (item as Batch).envelopes.length),
      [4, 4, 2],
    );
    assertPredicted(flatten(out), sources);
    assert.equal(batcher.poolStats().outstanding, 0);
  } finally {
    await op.close();
  }
});

void test('single envelopes are packed by infer itself; includeEmbedding false leaves the embedding out', async () => {
  const op = await createInfer(options({ includeEmbedding: false }), { baseDir: ROOT });
  try {
    const { ctx, failed } = context();
    const inputs = Array.from({ length: 5 }, (_, i) => envelope(i + 100));
    const sources = inputs.map((e) => e.tensor as ImageTensor);
    const out = await collect(op.apply(from(inputs), ctx));
    assert.deepEqual(failed, []);
    assertPredicted(flatten(out), sources, false);
    assert.equal(op.poolStats().outstanding, 0);
  } finally {
    await op.close();
  }
});

void test('a tensorless batch bigger than maxBatchSize is packed and run in chunks', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  const { sizes, backend: fake } = countingBackend();
  const op = createInferWithBackend(model, fake, { maxBatchesInFlight: 2, maxBatchSize: 2, includeEmbedding: true });
  const { ctx, failed } = context();
  const inputs = Array.from({ length: 5 }, (_, i) => envelope(i + 200));
  const sources = inputs.map((e) => e.tensor as ImageTensor);
  const batch: Batch = { kind: 'batch', envelopes: inputs, tensor: null };
  const out = await collect(op.apply(from([batch]), ctx));
  assert.deepEqual(failed, []);
  assert.deepEqual(sizes, [2, 2, 1]);
  assertPredicted(flatten(out), sources);
  assert.equal(op.poolStats().outstanding, 0);
});

void test('a packed batch bigger than maxBatchSize is split before running', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  const { sizes, backend: fake } = countingBackend();
  const op = createInferWithBackend(model, fake, { maxBatchesInFlight: 1, maxBatchSize: 3, includeEmbedding: true });
  const batcher = createMicroBatch({ maxSize: 7, maxDelayMs: 5, layout: 'NHWC', dtype: 'float32', poolSize: 1 });
  const { ctx, failed } = context();
  const inputs = Array.from({ length: 7 }, (_, i) => envelope(i + 300));
  const sources = inputs.map((e) => e.tensor as ImageTensor);
  const out = await collect(op.apply(batcher.apply(from(inputs), ctx), ctx));
  assert.deepEqual(failed, []);
  assert.deepEqual(sizes, [3, 3, 1]);
  assertPredicted(flatten(out), sources);
  assert.equal(batcher.poolStats().outstanding, 0);
});

void test('order is kept with maxBatchesInFlight 3 when later batches finish first', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  let running = 0;
  let peak = 0;
  const slowFirst: InferenceBackend = {
    name: 'slow-first',
    description: 'slow-first',
    run: async (batch) => {
      running += 1;
      peak = Math.max(peak, running);
      // Later batches (higher first pixel) finish sooner.
      await new Promise((resolve) => setTimeout(resolve, 30 - (batch.data[0] as number) * 25));
      running -= 1;
      return realBackendRun(batch);
    },
    close: async () => undefined,
  };
  const op = createInferWithBackend(model, slowFirst, { maxBatchesInFlight: 3, maxBatchSize: 64, includeEmbedding: true });
  const { ctx, failed } = context();
  const inputs = Array.from({ length: 12 }, (_, i) => {
    const t = image(i + 400);
    t.data[0] = Math.round((i / 11) * 255);
    return envelope(i + 400, t);
  });
  const sources = inputs.map((e) => e.tensor as ImageTensor);
  const out = await collect(op.apply(from(inputs), ctx));
  assert.deepEqual(failed, []);
  assert.equal(peak, 3);
  assert.deepEqual(
    flatten(out).map((e) => e.id),
    inputs.map((e) => e.id),
  );
  assertPredicted(flatten(out), sources);
});

void test('bad images (size, missing, pixel scaling) fail alone with TENSOR_SHAPE_MISMATCH; the rest are predicted', async () => {
  const op = await createInfer(options(), { baseDir: ROOT });
  try {
    const { ctx, failed } = context();
    const good = [envelope(1), envelope(2)];
    const wrongSize = envelope(3, image(3, 5));
    const noImage = envelope(4, null);
    const wrongScale = envelope(5, { ...image(5), scale: 'symmetric' });
    const batch: Batch = { kind: 'batch', envelopes: [good[0] as Envelope, wrongSize, noImage, wrongScale, good[1] as Envelope], tensor: null };
    const out = await collect(op.apply(from([batch]), ctx));
    assert.deepEqual(
      failed.map((f) => [f.id, f.error.code]),
      [
        ['e3', 'TENSOR_SHAPE_MISMATCH'],
        ['e4', 'TENSOR_SHAPE_MISMATCH'],
        ['e5', 'TENSOR_SHAPE_MISMATCH'],
      ],
    );
    assert.match(failed[0]?.error.message ?? '', /5×5×3.*model wants 4×4×3/);
    assert.match(failed[1]?.error.message ?? '', /no decoded image; add decode-image upstream/);
    assert.match(failed[2]?.error.message ?? '', /scaled `symmetric` but the model was trained on `unit`; set `scale: unit` on decode-image/);
    assertPredicted(
      flatten(out),
      good.map((e) => image(Number(e.id.slice(1)))),
    );
  } finally {
    await op.close();
  }
});

void test('a packed batch in the wrong layout fails all its envelopes and its buffer is released', async () => {
  const op = await createInfer(options(), { baseDir: ROOT });
  try {
    const batcher = createMicroBatch({ maxSize: 3, maxDelayMs: 5, layout: 'NCHW', dtype: 'float32', poolSize: 1 });
    const { ctx, failed } = context();
    const out = await collect(op.apply(batcher.apply(from([envelope(1), envelope(2)]), ctx), ctx));
    assert.deepEqual(out, []);
    assert.deepEqual(
      failed.map((f) => [f.id, f.error.code]),
      [
        ['e1', 'TENSOR_SHAPE_MISMATCH'],
        ['e2', 'TENSOR_SHAPE_MISMATCH'],
      ],
    );
    assert.match(failed[0]?.error.message ?? '', /NCHW.*wants NHWC/);
    assert.equal(batcher.poolStats().outstanding, 0);
  } finally {
    await op.close();
  }
});

void test('a packed batch scaled otherwise than the model was trained fails all its envelopes', async () => {
  const op = await createInfer(options(), { baseDir: ROOT });
  try {
    const batcher = createMicroBatch({ maxSize: 3, maxDelayMs: 5, layout: 'NHWC', dtype: 'float32', poolSize: 1 });
    const { ctx, failed } = context();
    const symmetric = [envelope(1, { ...image(1), scale: 'symmetric' }), envelope(2, { ...image(2), scale: 'symmetric' })];
    const out = await collect(op.apply(batcher.apply(from(symmetric), ctx), ctx));
    assert.deepEqual(out, []);
    assert.deepEqual(failed.map((f) => f.error.code), ['TENSOR_SHAPE_MISMATCH', 'TENSOR_SHAPE_MISMATCH']);
    assert.match(failed[0]?.error.message ?? '', /set `scale: unit` on decode-image/);
    assert.equal(batcher.poolStats().outstanding, 0);
  } finally {
    await op.close();
  }
});

void test('float16 batches (micro-batch dtype float16) reach the backend of a float32 model as half-precision views, split by maxBatchSize', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  const seen: { data: Uint16Array; rows: number }[] = [];
  const halfAware: InferenceBackend = {
    name: 'half-aware',
    description: 'half-aware',
    run: (batch) => {
      assert.ok(batch.data instanceof Uint16Array, 'handed over as half precision');
      const rows = batch.shape[0];
      seen.push({ data: batch.data, rows });
      // The tiny onnx model takes float32: widen, as a server that takes FP16 would compute on these values.
      return realBackendRun({ ...batch, data: fromFloat16Array(batch.data.subarray(0, rows * 48)) });
    },
    close: async () => undefined,
  };
  const op = createInferWithBackend(model, halfAware, { maxBatchesInFlight: 1, maxBatchSize: 3, includeEmbedding: true });
  const batcher = createMicroBatch({ maxSize: 5, maxDelayMs: 5, layout: 'NHWC', dtype: 'float16', poolSize: 1 });
  const { ctx, failed } = context();
  const inputs = Array.from({ length: 5 }, (_, i) => envelope(i + 500));
  const sources = inputs.map((e) => e.tensor as ImageTensor);
  const out = flatten(await collect(op.apply(batcher.apply(from(inputs), ctx), ctx)));
  assert.deepEqual(failed, []);
  assert.deepEqual(seen.map((s) => s.rows), [3, 2]);
  assert.equal(seen[0]?.data.buffer, seen[1]?.data.buffer, 'both chunks are views of the one pooled buffer');
  const floats = new Float32Array(5 * 48);
  packBatch(sources, floats, 'NHWC', 'float32');
  assert.deepEqual([...(seen[0]?.data ?? []), ...(seen[1]?.data ?? [])], Array.from(toFloat16Array(floats)));
  assert.equal(out.length, 5);
  out.forEach((e, i) => {
    const want = expected((sources[i] as ImageTensor).data);
    e.prediction?.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (want.probabilities[k] as number)) < 1e-3, `${e.id} p[${k}]`));
  });
  assert.equal(batcher.poolStats().outstanding, 0);
});

void test('batchWish: infer asks for what its backend takes (float16 first for FP16), its model layout, and its smallest row limit', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  const half: InferenceBackend = { name: 'half', description: 'half', batchDtypes: ['float16', 'float32'], maxBatchRows: 2, run: realBackendRun, close: async () => undefined };
  const plain: InferenceBackend = { name: 'plain', description: 'plain', run: realBackendRun, close: async () => undefined };
  const settings = { maxBatchesInFlight: 1, maxBatchSize: 3, includeEmbedding: false };
  const halfWish = createInferWithBackend(model, half, settings).batchWish?.();
  assert.deepEqual(
    { dtype: halfWish?.dtype, accepts: halfWish?.accepts, layout: halfWish?.layout, maxRows: halfWish?.maxRows },
    { dtype: 'float16', accepts: ['float16', 'float32'], layout: model.manifest.input.layout, maxRows: 2 },
  );
  assert.equal(halfWish?.who, `model ${model.manifest.name} ${model.manifest.version} on half`);
  const plainWish = createInferWithBackend(model, plain, settings).batchWish?.();
  assert.deepEqual([plainWish?.dtype, plainWish?.accepts, plainWish?.maxRows], ['float32', ['float32'], 3]);
  const uint8Model = { ...model, manifest: { ...model.manifest, input: { ...model.manifest.input, dtype: 'uint8' as const, scale: 'uint8' as const } } };
  assert.deepEqual(createInferWithBackend(uint8Model, plain, settings).batchWish?.().accepts, ['uint8']);
  const onnx = await createInfer(options(), { baseDir: ROOT });
  try {
    assert.deepEqual(onnx.batchWish?.().accepts, ['float32']);
  } finally {
    await onnx.close();
  }
});

void test('the onnx backend refuses a float16 batch for its float32 model: TENSOR_SHAPE_MISMATCH saying to pack float32, not retried', async () => {
  const op = await createInfer(options(), { baseDir: ROOT });
  try {
    const batcher = createMicroBatch({ maxSize: 3, maxDelayMs: 5, layout: 'NHWC', dtype: 'float16', poolSize: 1 });
    const { ctx, failed } = context();
    const out = await collect(op.apply(batcher.apply(from([envelope(1), envelope(2)]), ctx), ctx));
    assert.deepEqual(out, []);
    assert.deepEqual(
      failed.map((f) => [f.id, f.error.code, f.error.retriable]),
      [
        ['e1', 'TENSOR_SHAPE_MISMATCH', false],
        ['e2', 'TENSOR_SHAPE_MISMATCH', false],
      ],
    );
    assert.match(failed[0]?.error.message ?? '', /batch is float16 .*onnx backend feeds input `input` as float32; set `dtype: float32` on micro-batch/);
    assert.equal(batcher.poolStats().outstanding, 0);
  } finally {
    await op.close();
  }
});

void test('a failing backend is retried with backoff; after 3 retries the batch is dead-lettered and the stream goes on', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  const calls: number[] = [];
  let failuresLeft = 2;
  const flaky: InferenceBackend = {
    name: 'flaky',
    description: 'flaky',
    run: async (batch) => {
      calls.push(performance.now());
      const first = batch.data[0] as number;
      // Batches whose first value is 0 always fail; others fail twice, then succeed.
      if (first === 0 || failuresLeft-- > 0) throw new CentaurError('INFERENCE_FAILED', 'backend down');
      return realBackendRun(batch);
    },
    close: async () => undefined,
  };
  const op = createInferWithBackend(model, flaky, { maxBatchesInFlight: 1, maxBatchSize: 64, includeEmbedding: true });
  const { ctx, failed } = context();
  const doomed = image(1);
  doomed.data[0] = 0;
  const lucky = image(2);
  lucky.data[0] = 200;
  const started = performance.now();
  const out = await collect(op.apply(from([envelope(1, doomed), envelope(2, lucky)]), ctx));
  assert.deepEqual(
    failed.map((f) => [f.id, f.error.code]),
    [['e1', 'INFERENCE_FAILED']],
  );
  assert.equal(calls.length, 4 + 3); // e1: 1 try + 3 retries; e2: two failures, then success
  assert.ok(performance.now() - started >= 50 + 100 + 200, 'backoff waited');
  assertPredicted(flatten(out), [lucky]);
  assert.equal(op.poolStats().outstanding, 0);
});

void test('an inference server that is away for less than retryWindowMs costs no dead letter; one away for longer dead-letters once the window has passed', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  // The server is unreachable until `backAt` (a restart), then answers.
  let backAt = 0;
  const restarting: InferenceBackend = {
    name: 'restarting',
    description: 'restarting',
    run: async (batch) => {
      if (performance.now() < backAt) throw new CentaurError('INFERENCE_SERVER_UNAVAILABLE', 'connection refused');
      return realBackendRun(batch);
    },
    close: async () => undefined,
  };
  const within = createInferWithBackend(model, restarting, { maxBatchesInFlight: 1, maxBatchSize: 64, includeEmbedding: false, retryWindowMs: 2_000 });
  const first = context();
  backAt = performance.now() + 700;
  const out = await collect(within.apply(from([envelope(1, image(1)), envelope(2, image(2))]), first.ctx));
  assert.deepEqual(first.failed, [], 'no dead letter while the server restarts within the window');
  assert.equal(flatten(out).length, 2);
  assert.ok(performance.now() >= backAt, 'the batch waited for the server');

  const beyond = createInferWithBackend(model, restarting, { maxBatchesInFlight: 1, maxBatchSize: 64, includeEmbedding: false, retryWindowMs: 400 });
  const second = context();
  const started = performance.now();
  backAt = started + 60_000;
  await collect(beyond.apply(from([envelope(3, image(3))]), second.ctx));
  const waited = performance.now() - started;
  assert.deepEqual(
    second.failed.map((f) => [f.id, f.error.code]),
    [['e3', 'INFERENCE_SERVER_UNAVAILABLE']],
  );
  assert.ok(waited >= 400 && waited < 4_000, `gave up after the window (${waited.toFixed(0)} ms)`);
});

void test('a manifest naming a missing file, a wrong sha256 or a wrong output name is MODEL_LOAD_FAILED', async () => {
  const cases: { edit: (m: Record<string, unknown>) => void; message: RegExp }[] = [
    { edit: (m) => (m.file = 'gone.onnx'), message: /gone\.onnx is missing/ },
    { edit: (m) => (m.sha256 = 'a'.repeat(64)), message: /has sha256 [0-9a-f]{64}, the manifest says a{64}/ },
    {
      edit: (m) => ((m.outputs as Record<string, unknown>).embedding = 'features'),
      message: /no output `features` for embedding \(outputs: .*\); fix outputs\.embedding/,
    },
    { edit: (m) => ((m.input as Record<string, unknown>).name = 'pixels'), message: /no input `pixels`/ },
    { edit: (m) => ((m.input as Record<string, unknown>).width = 8), message: /input `input` has shape \[N, 4, 4, 3\]/ },
    { edit: (m) => (m.classes = ['a', 'b', 'c']), message: /has 2 classes, the manifest lists 3/ },
  ];
  for (const { edit, message } of cases) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'centaur-infer-'));
    try {
      await cp(path.join(ROOT, FIXTURE), dir, { recursive: true });
      const file = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      edit(manifest);
      await writeFile(file, JSON.stringify(manifest));
      // The model path is relative to baseDir, like a topology's folder.
      await assert.rejects(
        createInfer(options({ model: { path: path.basename(dir) } }), { baseDir: path.dirname(dir) }),
        (error: unknown) => {
          assert.ok(error instanceof CentaurError, String(error));
          assert.equal(error.code, 'MODEL_LOAD_FAILED');
          assert.match(error.message, message);
          return true;
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

void test('the demo model (models/demo) gives [n,2] probabilities summing to 1 and [n,1280] embeddings', async (t) => {
  if (!existsSync(path.join(DEMO, 'manifest.json')) || !existsSync(path.join(DEMO, 'model.onnx'))) {
    t.skip('models/demo/manifest.json or models/demo/model.onnx is absent; build the demo model to run this test');
    return;
  }
  const op = await createInfer(options({ model: { path: 'models/demo' }, backend: { kind: 'onnx' } }), { baseDir: ROOT });
  try {
    const { input } = op.manifest;
    const n = 3;
    const inputs = Array.from({ length: n }, (_, i) => {
      const data = new Uint8Array(input.width * input.height * input.channels);
      for (let j = 0; j < data.length; j += 1) data[j] = (j * (i + 3)) % 256;
      return envelope(i, { data, width: input.width, height: input.height, channels: input.channels, scale: input.scale });
    });
    const { ctx, failed } = context();
    const batch: Batch = { kind: 'batch', envelopes: inputs, tensor: null };
    const out = flatten(await collect(op.apply(from([batch]), ctx)));
    assert.deepEqual(failed, []);
    assert.equal(out.length, n);
    for (const e of out) {
      assert.equal(e.prediction?.probabilities.length, 2);
      const sum = (e.prediction?.probabilities ?? []).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
      assert.equal(e.embedding?.length, 1280);
    }
  } finally {
    await op.close();
  }
});

void test('closes the shared tiny-model backend', async () => {
  await sharedBackend?.close();
  sharedBackend = null;
});

void test('close() closes the backend', async () => {
  const model = await loadManifest(path.join(ROOT, FIXTURE));
  let closed = 0;
  const backend: InferenceBackend = {
    name: 'fake',
    description: 'fake backend',
    run: realBackendRun,
    close: async () => {
      closed += 1;
    },
  };
  const op = createInferWithBackend(model, backend, { maxBatchesInFlight: 1, maxBatchSize: 4, includeEmbedding: true });
  assert.equal(describeInfer(op), 'fake backend');
  await op.close();
  assert.equal(closed, 1);
});
