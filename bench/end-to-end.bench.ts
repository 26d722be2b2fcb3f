/**
 * The throughput benchmark: in one process, (c) the demo topology end to end on 640×480 JPEGs,
 * (a) decode+resize alone and (b) onnx inference alone (batch 32), each on both cores; prints
 * images/s, the ratio c / (1 / (1/a + 1/b)) against the ideal of sharing two cores, per-image
 * latency percentiles and peak RSS. Stages (a) and (b) keep the best of three runs. Usage: npm run bench -- [--images 20000] [--stage-images 3000].
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { glob } from 'tinyglobby';
import { envelopesOf } from '../src/core/envelope.js';
import type { Envelope } from '../src/core/envelope.js';
import { createLogger } from '../src/core/logger.js';
import { decodeImage } from '../src/operators/decode-image.js';
import { DecodeImageOptions } from '../src/operators/decode-image.js';
import { packBatch } from '../src/tensors/pack-batch.js';
import { loadManifest } from '../src/inference/manifest.js';
import { createBackend } from '../src/inference/create-backend.js';
import { Runtime } from '../src/runtime/runtime.js';
import { loadTopologyFile } from '../src/topology/load.js';
import { Value } from '@sinclair/typebox/value';
import { benchImages } from '../src/bench/bench-images.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '20000' },
    'stage-images': { type: 'string', default: '3000' },
    model: { type: 'string', default: 'models/demo' },
    batch: { type: 'string', default: '32' },
    'decode-concurrency': { type: 'string', default: '4' },
    'batches-in-flight': { type: 'string', default: '2' },
    'infer-threads': { type: 'string', default: '2' },
  },
});
const total = Number(values.images);
const stageImages = Math.min(Number(values['stage-images']), total);
const batchSize = Number(values.batch);
const decodeConcurrency = Number(values['decode-concurrency']);
const batchesInFlight = Number(values['batches-in-flight']);
const inferThreads = Number(values['infer-threads']);
const modelDir = path.resolve(values.model);
const logger = createLogger('warn');
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.stderr.write('UV_THREADPOOL_SIZE is not set: run through `npm run bench`, which sizes it as `centaur` does (8)\n');
}

const dir = await benchImages(total);
const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort();

// (c) End to end first, so its peak RSS is not inflated by the in-memory stages below.
const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
const topologyFile = path.join(work, 'bench.yaml');
await writeFile(
  topologyFile,
  `version: 1
name: bench
limits: { maxInFlight: 512 }
nodes:
  images: { kind: files-source, path: ${JSON.stringify(dir)}, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224], concurrency: ${decodeConcurrency} }
  batch: { kind: micro-batch, from: [decode], maxSize: ${batchSize}, maxDelayMs: 15 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(modelDir)} }, backend: { kind: onnx, intraOpNumThreads: ${inferThreads} }, maxBatchesInFlight: ${batchesInFlight} }
  out: { kind: files-sink, from: [infer], dir: out }
  dlq: { kind: dead-letter, dir: out }
`,
);
const topology = await loadTopologyFile(topologyFile);
const summary = await new Runtime(topology, { logger }).run();
await rm(work, { recursive: true, force: true });
const c = summary.imagesPerSecond;

// (a) decode + resize alone, both cores (the operator's own concurrency, as in the topology).
const sample = await Promise.all(files.slice(0, stageImages).map((f) => readFile(f)));
const decodeOptions = Value.Default(DecodeImageOptions, { size: [224, 224], concurrency: decodeConcurrency }) as DecodeImageOptions;
const decoder = await decodeImage.create(decodeOptions, { nodeId: 'decode', topologyName: 'bench', baseDir: '.', logger });
const envelopes = sample.map((bytes, i): Envelope => ({
  id: String(i),
  eventTime: 0,
  position: { source: 'bench', partition: '0', offset: i },
  payload: { kind: 'bytes', bytes },
  sizeBytes: bytes.length,
  metadata: {},
  receivedAt: 0,
  timings: {},
  delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
}));
// Each stage alone runs REPEATS times and keeps its best rate, so the ideal is not understated.
const REPEATS = 3;
let a = 0;
let decoded: Envelope[] = [];
for (let r = 0; r < REPEATS; r += 1) {
  const fresh = envelopes.map((e): Envelope => ({ ...e, timings: {} }));
  const started = performance.now();
  const decodedItems = await lastValueFrom(
    decoder.apply(from(fresh), { nodeId: 'decode', scheduler: asyncScheduler, fail: (_e, error) => { throw error; } }).pipe(toArray()),
  );
  a = Math.max(a, fresh.length / ((performance.now() - started) / 1000));
  decoded = decodedItems.flatMap(envelopesOf);
}

// (b) onnx inference alone, batch 32, two intra-op threads.
const model = await loadManifest(modelDir);
const backend = await createBackend({ kind: 'onnx', intraOpNumThreads: 2, allowSpinning: true }, model);
const perImage = model.manifest.input.height * model.manifest.input.width * model.manifest.input.channels;
const buffer = new Float32Array(perImage * batchSize);
const shape = packBatch(decoded.slice(0, batchSize).map((e) => e.tensor).filter((t) => t !== undefined), buffer, 'NHWC', 'float32');
const tensor = { data: buffer, shape, layout: 'NHWC' as const, release: () => undefined };
await backend.run(tensor);
const runs = Math.max(1, Math.round(stageImages / batchSize));
let b = 0;
for (let r = 0; r < REPEATS; r += 1) {
  const started = performance.now();
  for (let i = 0; i < runs; i += 1) await backend.run(tensor);
  b = Math.max(b, (runs * batchSize) / ((performance.now() - started) / 1000));
}
await backend.close();

const ideal = 1 / (1 / a + 1 / b);
const result = {
  images: total,
  decodeImagesPerSecond: round(a),
  inferImagesPerSecond: round(b),
  idealImagesPerSecond: round(ideal),
  endToEndImagesPerSecond: round(c),
  ratio: round(c / ideal, 3),
  latencyMs: { p50: round(summary.latencyMs.p50), p95: round(summary.latencyMs.p95), p99: round(summary.latencyMs.p99) },
  peakRssMiB: round(summary.peakRssBytes / 2 ** 20),
  predictions: summary.predictions,
  deadLetters: summary.deadLetters,
  accuracy: summary.accuracy?.ratio,
  backend: backend.description,
  uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
};
process.stdout.write(
  [
    `(a) decode+resize alone     ${result.decodeImagesPerSecond} images/s`,
    `(b) onnx inference alone    ${result.inferImagesPerSecond} images/s (batch ${batchSize})`,
    `    ideal sharing 2 cores   ${result.idealImagesPerSecond} images/s = 1 / (1/a + 1/b)`,
    `(c) end to end              ${result.endToEndImagesPerSecond} images/s on ${total} images`,
    `    ratio c / ideal         ${result.ratio}`,
    `    latency p50 / p95 / p99 ${result.latencyMs.p50} / ${result.latencyMs.p95} / ${result.latencyMs.p99} ms`,
    `    peak RSS                ${result.peakRssMiB} MiB`,
    JSON.stringify(result),
    '',
  ].join('\n'),
);

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
