/**
 * The data-lake topology: upload events on Kafka point to images in S3; the images are fetched,
 * looked up in a Redis cache, classified, stored in the cache, archived and recorded (Parquet) in
 * the lake, written to a feature store (Feast's Redis layout online, Parquet offline) and to a
 * local file.
 *
 * - End to end: the first wave of events names each image once, the second repeats them; every
 *   repeat is answered from the cache, every event has its row online and offline, and each image
 *   is archived once however often it repeats. Parquet files are read back with pyarrow.
 * - Faults: mid-run the S3 server becomes unreachable for 10 s (a TCP forwarder in front of the
 *   shared S3Proxy drops and refuses connections) and the Redis server of the test is killed and
 *   started again. The run must go on: every event comes out exactly once, nothing is
 *   dead-lettered, every repeated image is archived once, and the Kafka offsets are committed to
 *   the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import { renderImage } from '../../src/demo/generate-images.js';
import type { DemoClass } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { BROKERS, committedOffsets, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import type { OutMessage } from '../helpers/kafka.js';
import { createBuckets, deleteBuckets, getS3, listS3, putS3, requireObjectStores, S3_ENDPOINT } from '../helpers/object-stores.js';
import { runPython, requirePytools } from '../helpers/pytools.js';
import { deleteKeys, redisClient, REDIS_URL, requireRedis, uniqueNamespace } from '../helpers/redis.js';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../helpers/redis-server.js';
import { readJsonLines } from '../helpers/jsonl-files.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const MODEL = path.resolve('models/demo');
const IMAGES = 8;
const EVENTS = 48;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Out {
  id: string;
  source: { partition: string; offset: number };
  prediction: { label: string; cached?: true };
  embedding?: number[];
}

interface Lake {
  topic: string;
  group: string;
  /** The S3 endpoint the topology talks to. */
  s3: string;
  bucket: string;
  /** The cache's Redis. */
  redis: string;
  namespace: string;
  out: string;
  /** Prediction records in the lake. */
  records: 'jsonl' | 'parquet';
  /** A feature store online (this Redis, this Feast project) and offline (Parquet in the lake). */
  features?: { redis: string; project: string };
}

function topologyYaml(o: Lake): string {
  const s3 = `s3: { endpoint: ${JSON.stringify(o.s3)}, forcePathStyle: true }`;
  const redis = JSON.stringify(o.redis);
  const features =
    o.features === undefined
      ? ''
      : `  features:
    kind: feature-store-sink
    from: [store]
    online: { url: ${JSON.stringify(o.features.redis)}, project: ${o.features.project}, featureView: image_embeddings }
    offline: { uri: "s3://${o.bucket}/lake", ${s3}, maxFileRecords: 16, maxIdleMs: 300 }
`;
  return `version: 1
name: lake-pipeline
nodes:
  events: { kind: kafka-source, brokers: [${BROKERS}], topics: [${o.topic}], groupId: ${o.group}, value: { format: json } }
  fetch: { kind: fetch-object, from: [events], ${s3}, timeoutMs: 2000 }
  lookup: { kind: cache, mode: lookup, from: [fetch], url: ${redis}, namespace: ${o.namespace}, model: { path: ${JSON.stringify(MODEL)} }, maxBatch: 8, timeoutMs: 300 }
  decode: { kind: decode-image, from: [lookup], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  store: { kind: cache, mode: store, from: [infer], url: ${redis}, namespace: ${o.namespace}, ttlSeconds: 600, timeoutMs: 300 }
  lake: { kind: object-sink, from: [store], uri: "s3://${o.bucket}/lake", ${s3}, records: ${o.records}, includeEmbedding: true, maxFileRecords: 8, maxIdleMs: 300, timeoutMs: 2000, retries: 16 }
${features}  out: { kind: files-sink, from: [store], dir: ${JSON.stringify(o.out)}, includeEmbedding: true }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(o.out)} }
`;
}

/** The images in the bucket (`uploads/img-<i>.jpg`, two classes) and the upload event of the i-th event (image i mod IMAGES). */
async function putImages(bucket: string): Promise<(i: number) => OutMessage> {
  const classes: DemoClass[] = ['horse', 'human'];
  for (let i = 0; i < IMAGES; i += 1) {
    await putS3(bucket, `uploads/img-${i}.jpg`, await renderImage(classes[i % 2] as DemoClass, 1000 + i, { width: 160, height: 120 }));
  }
  return (i) => {
    const uploadId = `upload-${i}`;
    return { key: uploadId, value: Buffer.from(JSON.stringify({ uploadId, uri: `s3://${bucket}/uploads/img-${i % IMAGES}.jpg`, uploadTime: 1_700_000_000_000 + i })) };
  };
}

/** Cache lookups of a run by outcome (hit, miss, bypass). */
async function lookupsOf(runtime: Runtime): Promise<Record<string, number>> {
  const lookups = await runtime.metrics.registry.getSingleMetric('centaur_cache_lookups_total')?.get();
  return Object.fromEntries((lookups?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
}

/** Downloads the Parquet files under a prefix and reads them with pyarrow: rows as JSON (embeddings as lists). */
async function readParquet(bucket: string, prefix: string, dir: string): Promise<Record<string, unknown>[]> {
  const keys = (await listS3(bucket, prefix)).filter((k) => k.endsWith('.parquet'));
  const files: string[] = [];
  for (const [i, key] of keys.entries()) {
    const file = path.join(dir, `part-${i}.parquet`);
    await writeFile(file, await getS3(bucket, key));
    files.push(file);
  }
  const script = `
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
tables = [pq.read_table(f) for f in sys.argv[1:]]
rows = pa.concat_tables(tables).to_pylist() if tables else []
print(json.dumps(rows, default=str))
`;
  return JSON.parse(await runPython(script, files)) as Record<string, unknown>[];
}

async function readOut(dir: string): Promise<Out[]> {
  return readJsonLines<Out>(dir, 'out-');
}

async function deadLetters(dir: string): Promise<number> {
  return (await readJsonLines<unknown>(dir, 'dead-letters')).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('end to end: events on Kafka, images in S3; repeats from the cache, rows in the feature store, images archived once', { timeout: 240_000 }, async (t) => {
  if (!(await requireServices(t)) || !(await requireObjectStores(t)) || !(await requireRedis(t)) || !(await requirePytools(t))) return;
  const bucket = unique('lake-e2e').toLowerCase();
  const topic = unique('uploads');
  const group = unique('lake-e2e');
  const namespace = uniqueNamespace('lake-e2e');
  const project = `lake_e2e_${namespace.slice(-8)}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-lake-e2e-'));
  const out = path.join(dir, 'out');
  await createBuckets(bucket);
  await createTopics([topic], 2);
  const redis = redisClient();
  const runtime = new Runtime(
    parseTopology(topologyYaml({ topic, group, s3: S3_ENDPOINT, bucket, redis: REDIS_URL, namespace, out, records: 'parquet', features: { redis: REDIS_URL, project } }), path.join(dir, 'topology.yaml')),
    { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') },
  );
  let running: Promise<unknown> | undefined;
  try {
    const event = await putImages(bucket);
    const all = Array.from({ length: EVENTS }, (_, i) => event(i));
    running = runtime.run();
    // First each image once, then only repeats: every repeat must be a cache hit.
    await produce(topic, all.slice(0, IMAGES));
    await waitFor('the first wave', async () => (await readOut(out)).length >= IMAGES, 90_000);
    await produce(topic, all.slice(IMAGES));
    await waitFor('every event in the output', async () => new Set((await readOut(out)).map((r) => r.id)).size >= EVENTS, 90_000);
    await waitFor('the offsets committed to the end', async () => [...(await committedOffsets(group, topic)).values()].reduce((a, b) => a + b, 0) >= EVENTS, 30_000);
    runtime.stop();
    const summary = (await running) as { inputs: number; predictions: number; deadLetters: number };
    running = undefined;

    const records = await readOut(out);
    assert.equal(records.length, EVENTS);
    assert.equal(summary.deadLetters, 0);
    const lookups = await lookupsOf(runtime);
    t.diagnostic(`cache hit rate ${(((lookups.hit ?? 0) / EVENTS) * 100).toFixed(1)}% (${lookups.hit ?? 0} of ${EVENTS})`);
    assert.deepEqual(lookups, { hit: EVENTS - IMAGES, miss: IMAGES }, 'the first sight of each image misses, every repeat hits');
    assert.equal(records.filter((r) => r.prediction.cached === true).length, EVENTS - IMAGES);
    const byId = new Map(records.map((r) => [r.id, r]));

    // Raw images archived once each, however often they came.
    assert.equal((await listS3(bucket, 'lake/images/')).length, IMAGES);

    // Prediction records in Parquet, embeddings included, as pyarrow reads them.
    const predictions = await readParquet(bucket, 'lake/predictions/', dir);
    assert.deepEqual(new Set(predictions.map((r) => r.id)), new Set(byId.keys()), 'one Parquet record per event');
    for (const row of predictions) {
      const embedding = row.embedding as number[];
      const expected = byId.get(row.id as string)?.embedding ?? [];
      assert.equal(embedding.length, 1280);
      assert.ok(Math.abs((embedding[7] as number) - (expected[7] as number)) < 1e-5, 'the embedding of the record');
    }

    // The feature store: one row per event offline, the latest per image id online (Feast's Redis layout).
    const offline = await readParquet(bucket, 'lake/features/', dir);
    assert.deepEqual(new Set(offline.map((r) => r.image_id)), new Set(byId.keys()), 'one offline row per event');
    const online = await redis.keys(`*${project}`);
    assert.equal(online.length, EVENTS, 'one online row per image id');
    const fields = await redis.hkeys(online[0] as string);
    assert.ok(fields.includes('_ts:image_embeddings'), `Feast's timestamp field: ${fields.join(', ')}`);
  } finally {
    if (running !== undefined) {
      runtime.stop();
      await running.catch(() => undefined);
    }
    await deleteKeys(redis, `*${project}`).catch(() => undefined);
    await deleteKeys(redis, `centaur:cache:${namespace}:*`).catch(() => undefined);
    redis.disconnect();
    await deleteBuckets(bucket).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});

test('S3 unreachable for 10 s and Redis killed mid-run: every event comes out once, none lost', { timeout: 240_000 }, async (t) => {
  if (!(await requireServices(t)) || !(await requireObjectStores(t)) || !requireRedisServer(t)) return;
  const bucket = unique('lake-faults').toLowerCase();
  const topic = unique('uploads');
  const group = unique('lake-faults');
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-lake-faults-'));
  const out = path.join(dir, 'out');
  await createBuckets(bucket);
  await createTopics([topic], 2);
  const s3Port = Number(new URL(S3_ENDPOINT).port || 80);
  const proxy = await TcpProxy.start(new URL(S3_ENDPOINT).hostname, s3Port);
  const redisPort = await freePort();
  let redis = await startRedis(redisPort, dir);
  let runtime: Runtime | undefined;
  let running: Promise<unknown> | undefined;
  try {
    const event = await putImages(bucket);
    // Two halves around the outage, then one event per image once everything is back.
    const total = EVENTS + IMAGES;
    const all = Array.from({ length: total }, (_, i) => event(i));
    await produce(topic, all.slice(0, EVENTS / 2));

    const yaml = topologyYaml({ topic, group, s3: proxy.url, bucket, redis: `redis://127.0.0.1:${redisPort}`, namespace: 'faults', out, records: 'jsonl' });
    runtime = new Runtime(parseTopology(yaml, path.join(dir, 'topology.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
    running = runtime.run();
    await waitFor('the first outputs', async () => (await readOut(out)).length >= 8, 90_000);

    // The outage: S3 unreachable for 10 s, Redis killed; the second half arrives meanwhile.
    await proxy.cut();
    await stopRedis(redis);
    const cutAt = Date.now();
    await produce(topic, all.slice(EVENTS / 2, EVENTS));
    await sleep(5000);
    redis = await startRedis(redisPort, dir);
    await sleep(Math.max(0, 10_000 - (Date.now() - cutAt)));
    const connectionsBeforeRestore = proxy.connections;
    await proxy.restore();

    await waitFor('every event in the output', async () => new Set((await readOut(out)).map((r) => r.id)).size >= EVENTS, 120_000).catch(async (error: unknown) => {
      const seen = new Set((await readOut(out)).map((r) => r.id));
      const counters = Object.fromEntries(runtime?.nodeCounters() ?? []);
      throw new Error(`${(error as Error).message}: ${seen.size} of ${EVENTS}; missing ${all.map((m) => m.key).filter((k) => !seen.has(String(k))).join(', ')}; in flight ${JSON.stringify(runtime?.inFlight())}; nodes ${JSON.stringify(counters)}`);
    });
    // Redis came back empty; the second half's predictions were stored after it: repeats hit again.
    await produce(topic, all.slice(EVENTS));
    await waitFor('the last wave in the output', async () => new Set((await readOut(out)).map((r) => r.id)).size >= total, 60_000);
    await waitFor('the offsets committed to the end', async () => {
      const offsets = await committedOffsets(group, topic);
      return [...offsets.values()].reduce((a, b) => a + b, 0) >= total;
    }, 30_000);
    runtime.stop();
    const summary = (await running) as { inputs: number; predictions: number; deadLetters: number };
    running = undefined;

    const records = await readOut(out);
    assert.equal(records.length, total, 'each event written once');
    assert.deepEqual(new Set(records.map((r) => r.id)), new Set(all.map((m) => m.key)));
    assert.equal(await deadLetters(out), 0, 'nothing dead-lettered');
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.inputs, total);
    assert.equal(summary.predictions, total);
    assert.ok(proxy.connections > connectionsBeforeRestore, 'the stores reconnected after the outage');

    // The lake: each distinct image archived once, every event recorded.
    const archived = (await listS3(bucket, 'lake/images/')).filter((k) => k.endsWith('.jpg'));
    assert.equal(archived.length, IMAGES, 'one archived object per distinct image');
    const recordKeys = (await listS3(bucket, 'lake/predictions/')).filter((k) => k.endsWith('.jsonl'));
    const lakeIds = (await Promise.all(recordKeys.map(async (k) => (await getS3(bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(new Set(lakeIds), new Set(all.map((m) => m.key)), 'every event recorded in the lake');

    // Every input looked up once, whatever Redis did; after it came back, the last wave all hit.
    const byOutcome = await lookupsOf(runtime);
    assert.equal((byOutcome.hit ?? 0) + (byOutcome.miss ?? 0) + (byOutcome.bypass ?? 0), total, 'every input looked up once');
    const lastWave = new Set(all.slice(EVENTS).map((m) => m.key));
    assert.deepEqual(
      records.filter((r) => lastWave.has(r.id)).map((r) => r.prediction.cached === true),
      Array.from({ length: IMAGES }, () => true),
      `repeats after the restart answered from the cache: ${JSON.stringify(byOutcome)}`,
    );
    assert.equal(records.filter((r) => r.prediction.cached === true).length, byOutcome.hit ?? 0, 'hits flagged as cached');
  } finally {
    if (running !== undefined) {
      runtime?.stop();
      await running.catch(() => undefined);
    }
    await proxy.close();
    await stopRedis(redis);
    await deleteBuckets(bucket).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
