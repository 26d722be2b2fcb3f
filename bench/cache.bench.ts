/**
 * The cache hit path: the demo pipeline with the Redis `cache` (lookup before decode, store after
 * infer) on 640×480 JPEGs, run twice in one process with a fresh namespace: (m) every image new
 * (all misses: cache overhead on top of decode and inference) and (h) the same images again (all
 * hits). Prints images/s and the ratio h / m (target ≥ 5). Needs Redis
 * (`scripts/services/services.sh up redis`). Usage: npm run bench:cache -- [--images 1000]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/core/logger.js';
import { Runtime } from '../src/runtime/runtime.js';
import { loadTopologyFile } from '../src/topology/load.js';
import { benchImages } from '../src/bench/bench-images.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '1000' } } });
const count = Number(values.images);
const redis = process.env.CENTAUR_REDIS_URL ?? 'redis://127.0.0.1:6379';

const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-cache-'));
const images = await benchImages(count);
const namespace = `bench-${randomUUID().slice(0, 8)}`;
const model = path.resolve('models/demo');
const file = path.join(work, 'cache.yaml');
await writeFile(
  file,
  `version: 1
name: bench-cache
limits: { maxInFlight: 512 }
nodes:
  images: { kind: files-source, path: ${images} }
  lookup: { kind: cache, mode: lookup, from: [images], namespace: ${namespace}, url: '${redis}', model: { path: ${model} } }
  decode: { kind: decode-image, from: [lookup], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 32, maxDelayMs: 15 }
  infer: { kind: infer, from: [batch], model: { path: ${model} }, backend: { kind: onnx, intraOpNumThreads: 2 } }
  store: { kind: cache, mode: store, from: [infer], namespace: ${namespace}, url: '${redis}', ttlSeconds: 600 }
  out: { kind: files-sink, from: [store], dir: ${path.join(work, 'out')} }
  dlq: { kind: dead-letter, dir: ${path.join(work, 'out')} }
`,
);

async function run(label: string): Promise<number> {
  const summary = await new Runtime(await loadTopologyFile(file), { logger: createLogger('warn') }).run();
  if (summary.predictions !== count) throw new Error(`${label}: ${summary.predictions} predictions for ${count} images`);
  return summary.imagesPerSecond;
}

const misses = await run('all new');
const hits = await run('all repeated');
process.stdout.write(`| run | images/s |\n|---|---|\n| (m) ${count} new images (all misses) | ${misses.toFixed(1)} |\n| (h) the same images again (all hits) | ${hits.toFixed(1)} |\n\nratio h / m: **${(hits / misses).toFixed(2)}** (target ≥ 5)\n`);
