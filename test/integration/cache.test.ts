/**
 * The `cache` operator against the real Redis of the services script: a topology over generated
 * images (files-source → cache lookup → decode-image → micro-batch → infer → cache store →
 * files-sink). A second run over the same images plus repeated copies and new images answers
 * every repeat from the cache (decode and infer skipped) with the uncached predictions and the
 * `cached` flag; with Redis unreachable every input is still predicted and counted as bypass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateImages } from '../../src/demo/generate-images.js';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { deleteKeys, redisClient, REDIS_URL, requireRedis, uniqueNamespace } from '../helpers/redis.js';
import { readJsonLines } from '../helpers/jsonl-files.js';

const MODEL = path.resolve('models/demo');

interface Rec {
  id: string;
  prediction: { label: string; confidence: number; probabilities: Record<string, number>; cached?: true };
  embedding?: number[];
  image?: Record<string, unknown>;
}

function topologyYaml(url: string, namespace: string, out: string): string {
  return `version: 1
name: cache-it
nodes:
  images: { kind: files-source, path: images, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  lookup: { kind: cache, mode: lookup, from: [images], namespace: ${namespace}, url: ${JSON.stringify(url)}, model: { path: ${JSON.stringify(MODEL)} }, maxBatch: 16, timeoutMs: 500 }
  decode: { kind: decode-image, from: [lookup], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  store: { kind: cache, mode: store, from: [infer], namespace: ${namespace}, url: ${JSON.stringify(url)}, ttlSeconds: 600, timeoutMs: 500 }
  out: { kind: files-sink, from: [store], dir: ${out}, includeEmbedding: true }
  dlq: { kind: dead-letter, dir: ${out} }
`;
}

async function readRecords(dir: string): Promise<Map<string, Rec>> {
  const records = await readJsonLines<Rec>(dir, 'out-');
  return new Map(records.map((r) => [r.id, r]));
}

/** Runs the topology file and returns its summary, cache lookup counts and node counters. */
async function run(file: string): Promise<{ inputs: number; predictions: number; deadLetters: number; unfinished: number; lookups: Record<string, number>; stores: Record<string, number>; inferred: number; decoded: number }> {
  const runtime = new Runtime(await loadTopologyFile(file), { logger: createLogger('silent') });
  const summary = await runtime.run();
  const counts = async (name: string): Promise<Record<string, number>> => {
    const metric = runtime.metrics.registry.getSingleMetric(name);
    const values = metric === undefined ? [] : (await metric.get()).values;
    return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [String(v.labels.outcome), v.value]));
  };
  const counters = runtime.nodeCounters();
  return {
    inputs: summary.inputs,
    predictions: summary.predictions,
    deadLetters: summary.deadLetters,
    unfinished: summary.unfinished,
    lookups: await counts('centaur_cache_lookups_total'),
    stores: await counts('centaur_cache_stores_total'),
    inferred: counters.get('infer')?.received ?? -1,
    decoded: counters.get('decode')?.received ?? -1,
  };
}

test('repeated images are answered from Redis with the uncached predictions, marked cached, skipping decode and infer', async (t) => {
  if (!(await requireRedis(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cache-'));
  const namespace = uniqueNamespace('it');
  const client = redisClient();
  try {
    const images = path.join(dir, 'images');
    const generated = await generateImages({ outDir: images, count: 30, seed: 4_200_001, width: 160, height: 120 });
    await writeFile(path.join(dir, 'a.yaml'), topologyYaml(REDIS_URL, namespace, 'out1'));
    const first = await run(path.join(dir, 'a.yaml'));
    assert.equal(first.predictions, 30);
    assert.equal(first.unfinished, 0);
    assert.deepEqual(first.lookups, { miss: 30 });
    assert.deepEqual(first.stores, { ok: 30 });
    assert.equal((await client.keys(`centaur:cache:${namespace}:*`)).length, 30);
    const ttl = await client.ttl((await client.keys(`centaur:cache:${namespace}:*`))[0] as string);
    assert.ok(ttl > 500 && ttl <= 600, `ttl ${ttl}`);

    // Repeats: 15 copies of stored images under new names, and 10 images never seen.
    const copies = new Map<string, string>();
    for (const image of generated.slice(0, 15)) {
      const rel = path.relative(images, image.path);
      const copy = path.join(path.dirname(rel), `repeat-${path.basename(rel)}`);
      await copyFile(image.path, path.join(images, copy));
      copies.set(copy, rel);
    }
    await generateImages({ outDir: path.join(dir, 'new'), count: 10, seed: 4_200_002, width: 160, height: 120 });
    for (const cls of ['horses', 'humans']) {
      for (const name of await readdir(path.join(dir, 'new', cls))) await copyFile(path.join(dir, 'new', cls, name), path.join(images, cls, `new-${name}`));
    }
    await writeFile(path.join(dir, 'b.yaml'), topologyYaml(REDIS_URL, namespace, 'out2'));
    const second = await run(path.join(dir, 'b.yaml'));
    const hitRate = (second.lookups.hit ?? 0) / second.inputs;
    t.diagnostic(`second run: ${second.inputs} inputs, ${second.lookups.hit ?? 0} hits, ${second.lookups.miss ?? 0} misses: hit rate ${(hitRate * 100).toFixed(1)}%`);
    assert.equal(second.inputs, 55);
    assert.equal(second.predictions, 55);
    assert.equal(second.deadLetters, 0);
    assert.equal(second.unfinished, 0);
    assert.deepEqual(second.lookups, { hit: 45, miss: 10 });
    assert.deepEqual(second.stores, { ok: 10 });
    assert.equal(second.decoded, 10, 'hits skip decode-image');
    assert.equal(second.inferred, 10, 'hits skip infer');

    const uncached = await readRecords(path.join(dir, 'out1'));
    const records = await readRecords(path.join(dir, 'out2'));
    assert.equal(records.size, 55);
    for (const [id, record] of records) {
      const original = uncached.get(copies.get(id) ?? id);
      if (original === undefined) {
        assert.ok(path.basename(id).startsWith('new-'), id);
        assert.equal(record.prediction.cached, undefined, `${id} was inferred`);
        continue;
      }
      assert.equal(record.prediction.cached, true, `${id} came from the cache`);
      assert.equal(original.prediction.cached, undefined);
      assert.equal(record.prediction.label, original.prediction.label, id);
      assert.deepEqual(record.prediction.probabilities, original.prediction.probabilities, id);
      assert.equal(record.prediction.confidence, original.prediction.confidence, id);
      assert.deepEqual(record.embedding, original.embedding, `${id}: embedding`);
      assert.deepEqual(record.image, original.image, `${id}: image features`);
    }
  } finally {
    await deleteKeys(client, `centaur:cache:${namespace}:*`);
    client.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with Redis unreachable every input is still predicted and counted as bypass', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cache-down-'));
  try {
    await generateImages({ outDir: path.join(dir, 'images'), count: 20, seed: 4_200_003, width: 160, height: 120 });
    // Port 1 on loopback: nothing listens, connections are refused.
    await writeFile(path.join(dir, 'down.yaml'), topologyYaml('redis://127.0.0.1:1', uniqueNamespace('down'), 'out'));
    const result = await run(path.join(dir, 'down.yaml'));
    assert.equal(result.inputs, 20);
    assert.equal(result.predictions, 20);
    assert.equal(result.deadLetters, 0);
    assert.equal(result.unfinished, 0);
    assert.deepEqual(result.lookups, { bypass: 20 });
    assert.deepEqual(result.stores, { error: 20 });
    const records = await readRecords(path.join(dir, 'out'));
    assert.equal(records.size, 20);
    for (const record of records.values()) assert.equal(record.prediction.cached, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
