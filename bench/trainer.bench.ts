/**
 * The trainer beside serving, on one machine: inference throughput of the demo pipeline
 * (files-source → decode-image → micro-batch → infer → files-sink, 320×240 JPEGs) alone, then while
 * `trainer-sink` trains heads back to back (retrain requests of new episodes, one after another,
 * on a training set of `--rows` rows of 1,280-d embeddings in 3 classes under the demo model's
 * fingerprint), with the training process at nice 19 (the default) and at 0. Prints images/s per
 * run (median of `--runs`, with the range), the ratio to the throughput alone, and the time from
 * a retrain request to its version promoted (median and range over every request served).
 *
 *   npm run bench:trainer -- [--runs 3] [--images 1500] [--rows 10000]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import type { Envelope } from '../src/core/envelope.js';
import { createLogger } from '../src/core/logger.js';
import { generateImages } from '../src/demo/generate-images.js';
import { Random } from '../src/drift/state/random.js';
import { loadManifest } from '../src/inference/manifest.js';
import { ModelRegistry } from '../src/registry/model-registry.js';
import { Runtime } from '../src/runtime/runtime.js';
import { trainerSink } from '../src/sinks/trainer-sink.js';
import { storeFor } from '../src/storage/store-for.js';
import { splitOf } from '../src/training-set/training-row.js';
import type { TrainingRow } from '../src/training-set/training-row.js';
import { TrainingSetTable } from '../src/training-set/training-set-table.js';
import { parseTopology } from '../src/topology/load.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const RUNS = arg('runs', 3);
const IMAGES = arg('images', 1500);
const ROWS = arg('rows', 10_000);
const logger = createLogger('silent');
const dir = await mkdtemp(path.join(tmpdir(), 'centaur-trainer-bench-'));

// The images served, and the training set trained on (synthetic clusters under the demo fingerprint).
await generateImages({ outDir: path.join(dir, 'images'), count: IMAGES, seed: 5, width: 320, height: 240 });
const fingerprint = (await loadManifest('models/demo')).fingerprint;
const base = pathToFileURL(path.join(dir, 'lake', 'training-set')).href;
const store = await storeFor(base);
const table = await TrainingSetTable.open({ base, buckets: 16, policy: 'latest', classes: new Set(['horse', 'human']), compression: 'zstd', retries: 0 }, store, logger, 'bench');
const r = Random.fromSeed(3);
const centres = [0, 1, 2].map(() => Float32Array.from({ length: 1280 }, () => r.nextDouble() * 2 - 1));
const rows: TrainingRow[] = Array.from({ length: ROWS }, (_, i) => {
  const label = ['horse', 'human', 'dog'][i % 3] as string;
  const id = `bench-${i}`;
  return {
    inputId: id,
    split: splitOf(id, { validation: 0.1, holdout: 0.1 }),
    annotations: [{ annotator: 'bench', label, origin: 'kafka', labelTime: 1 }],
    features: { entity: id, eventTime: 1, modelVersion: '1', modelFingerprint: fingerprint, embedding: Float32Array.from(centres[i % 3] as Float32Array, (v) => v * 0.1 + (r.nextDouble() * 2 - 1)), predictedLabel: label === 'dog' ? 'horse' : label, confidence: 0.8 },
    updatedTime: 1,
  };
});
await table.put(rows);
await table.close();

const serveYaml = `version: 1
name: trainer-bench
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224], scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(path.resolve('models/demo'))} }, backend: { kind: onnx, intraOpNumThreads: 2 } }
  out: { kind: files-sink, from: [infer], dir: out }
`;

async function serve(): Promise<number> {
  await rm(path.join(dir, 'out'), { recursive: true, force: true });
  const summary = await new Runtime(parseTopology(serveYaml, path.join(dir, 'serve.yaml')), { logger }).run();
  return summary.completed / summary.durationSeconds;
}

let episode = 0;
const ajv = new Ajv({ useDefaults: true, strict: false });
/** Trains back to back until `stop` says so; the seconds from each request to its promotion. */
async function trainLoop(niceness: number, stop: () => boolean): Promise<number[]> {
  const registryDir = path.join(dir, `registry-${niceness}-${episode}`);
  const registry = new ModelRegistry(registryDir);
  await cp('models/demo', path.join(dir, 'parent'), { recursive: true });
  await registry.register(path.join(dir, 'parent'), { aliases: ['production'] });
  const o = { trainingSet: base, model: { registry: registryDir, name: 'horse-or-human' }, workDir: path.join(dir, `runs-${niceness}-${episode}`), niceness, files: { dir: path.join(dir, 'training-runs') } };
  if (!ajv.validate(trainerSink.options, o)) throw new Error(JSON.stringify(ajv.errors));
  const sink = await trainerSink.create(o, { nodeId: 'trainer', topologyName: 'bench', baseDir: dir, logger });
  const seconds: number[] = [];
  try {
    while (!stop()) {
      episode += 1;
      const bytes = Buffer.from(JSON.stringify({ id: `bench/${episode}`, episode: `bench/${episode}`, model: { name: 'horse-or-human', version: '1' }, requestedAt: Date.now() }));
      const envelope: Envelope = { id: `r${episode}`, eventTime: 0, position: { source: 'r', partition: '0', offset: episode }, payload: { kind: 'bytes', bytes }, sizeBytes: bytes.length, metadata: {}, receivedAt: 0, timings: {}, delivery: { acknowledge: () => undefined, deadLettered: () => undefined } };
      const started = performance.now();
      await sink.write([envelope]);
      seconds.push((performance.now() - started) / 1000);
    }
  } finally {
    await sink.close();
  }
  return seconds;
}

const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
const range = (v: readonly number[], digits: number): string => `${median(v).toFixed(digits)} [${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}]`;
await serve(); // warm-up: the model and the page cache
const alone: number[] = [];
const during: Record<number, { rates: number[]; requestSeconds: number[] }> = { 19: { rates: [], requestSeconds: [] }, 0: { rates: [], requestSeconds: [] } };
for (let run = 0; run < RUNS; run++) {
  alone.push(await serve());
  for (const niceness of [19, 0]) {
    let done = false;
    const training = trainLoop(niceness, () => done);
    // Let the first training start before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const rate = await serve();
    done = true;
    during[niceness]?.rates.push(rate);
    during[niceness]?.requestSeconds.push(...(await training));
  }
}
const a = median(alone);
console.log(`${IMAGES} images 320×240 through the demo pipeline; training set ${ROWS} rows × 1,280 dims, 3 classes; ${RUNS} runs`);
console.log('| serving | images/s, median [min–max] | ÷ alone | retrain request → promoted, s |');
console.log('|---|---|---|---|');
console.log(`| alone | ${range(alone, 0)} | 1.00 | – |`);
for (const niceness of [19, 0]) {
  const d = during[niceness] as { rates: number[]; requestSeconds: number[] };
  console.log(`| while training (nice ${niceness}) | ${range(d.rates, 0)} | ${(median(d.rates) / a).toFixed(2)} | ${range(d.requestSeconds, 1)} (${d.requestSeconds.length} requests) |`);
}
await rm(dir, { recursive: true, force: true });
