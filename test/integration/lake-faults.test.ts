/**
 * The data-lake topology through outages: upload events on Kafka point to images in S3; the
 * images are fetched, looked up in a Redis cache, classified, stored in the cache, archived and
 * recorded in the lake and written to a local file. Mid-run the S3 server becomes unreachable for
 * 10 s (a TCP forwarder in front of the shared S3Proxy drops and refuses connections) and the
 * Redis server of the test is killed and started again. The run must go on: every event comes out
 * exactly once, nothing is dead-lettered, every repeated image is archived once, and the Kafka
 * offsets are committed to the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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
import { freePort, requireRedisServer, startRedis, stopRedis } from '../helpers/redis-server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const MODEL = path.resolve('models/demo');
const IMAGES = 8;
const EVENTS = 48;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Out {
  id: string;
  source: { partition: string; offset: number };
  prediction: { label: string; cached?: true };
}

function topologyYaml(o: { topic: string; group: string; s3: string; bucket: string; redis: string; out: string }): string {
  const s3 = `s3: { endpoint: ${JSON.stringify(o.s3)}, forcePathStyle: true }`;
  return `version: 1
name: lake-faults
nodes:
  events: { kind: kafka-source, brokers: [${BROKERS}], topics: [${o.topic}], groupId: ${o.group}, value: { format: json } }
  fetch: { kind: fetch-object, from: [events], ${s3}, timeoutMs: 2000 }
  lookup: { kind: cache, mode: lookup, from: [fetch], url: ${JSON.stringify(o.redis)}, model: { path: ${JSON.stringify(MODEL)} }, maxBatch: 8, timeoutMs: 300 }
  decode: { kind: decode-image, from: [lookup], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  store: { kind: cache, mode: store, from: [infer], url: ${JSON.stringify(o.redis)}, ttlSeconds: 600, timeoutMs: 300 }
  lake: { kind: object-sink, from: [store], uri: "s3://${o.bucket}/lake", ${s3}, maxFileRecords: 8, maxIdleMs: 300, timeoutMs: 2000, retries: 16 }
  out: { kind: files-sink, from: [store], dir: ${JSON.stringify(o.out)} }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(o.out)} }
`;
}

async function readOut(dir: string): Promise<Out[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('out-') && n.endsWith('.jsonl'));
  const text = (await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')))).join('');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Out);
}

async function deadLetters(dir: string): Promise<number> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('dead-letters'));
  const text = (await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')))).join('');
  return text.split('\n').filter((l) => l.length > 0).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

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
    const classes: DemoClass[] = ['horse', 'human'];
    for (let i = 0; i < IMAGES; i += 1) {
      await putS3(bucket, `uploads/img-${i}.jpg`, await renderImage(classes[i % 2] as DemoClass, 1000 + i, { width: 160, height: 120 }));
    }
    const event = (i: number): OutMessage => {
      const uploadId = `upload-${i}`;
      return { key: uploadId, value: Buffer.from(JSON.stringify({ uploadId, uri: `s3://${bucket}/uploads/img-${i % IMAGES}.jpg`, uploadTime: 1_700_000_000_000 + i })) };
    };
    const all = Array.from({ length: EVENTS }, (_, i) => event(i));
    await produce(topic, all.slice(0, EVENTS / 2));

    const yaml = topologyYaml({ topic, group, s3: proxy.url, bucket, redis: `redis://127.0.0.1:${redisPort}`, out });
    runtime = new Runtime(parseTopology(yaml, path.join(dir, 'topology.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
    running = runtime.run();
    await waitFor('the first outputs', async () => (await readOut(out)).length >= 8, 90_000);

    // The outage: S3 unreachable for 10 s, Redis killed; the second half arrives meanwhile.
    await proxy.cut();
    await stopRedis(redis);
    const cutAt = Date.now();
    await produce(topic, all.slice(EVENTS / 2));
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
    await waitFor('the offsets committed to the end', async () => {
      const offsets = await committedOffsets(group, topic);
      return [...offsets.values()].reduce((a, b) => a + b, 0) >= EVENTS;
    }, 30_000);
    runtime.stop();
    const summary = (await running) as { inputs: number; predictions: number; deadLetters: number };
    running = undefined;

    const records = await readOut(out);
    assert.equal(records.length, EVENTS, 'each event written once');
    assert.deepEqual(new Set(records.map((r) => r.id)), new Set(all.map((m) => m.key)));
    assert.equal(await deadLetters(out), 0, 'nothing dead-lettered');
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.inputs, EVENTS);
    assert.equal(summary.predictions, EVENTS);
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

    // The cache bypassed while Redis was down and answered repeats again after it came back.
    const lookups = await runtime.metrics.registry.getSingleMetric('centaur_cache_lookups_total')?.get();
    const byOutcome = Object.fromEntries((lookups?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
    assert.ok((byOutcome.hit ?? 0) > 0, `repeats answered from the cache: ${JSON.stringify(byOutcome)}`);
    assert.equal((byOutcome.hit ?? 0) + (byOutcome.miss ?? 0) + (byOutcome.bypass ?? 0), EVENTS, 'every input looked up once');
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
