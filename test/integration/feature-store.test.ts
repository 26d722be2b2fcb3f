/**
 * `feature-store-sink` against the real Redis and Feast itself: a topology over generated images
 * (files-source → decode-image → micro-batch → infer with the demo model → feature-store-sink, and
 * a files-sink beside it as the record of what Centaur computed). Then Feast 0.67, in Python, with
 * the fixture repository (test/fixtures/feast) pointed at the test's Redis under a project of its
 * own, runs `feast apply` and `get_online_features` for every image: the values equal Centaur's.
 * pyarrow reads the offline Parquet files back, and Feast's file offline store joins them point in
 * time with `get_historical_features`. A Redis that goes away fails writes with the
 * retriable FEATURE_STORE_UNAVAILABLE, and writes succeed again once it is back. The offline
 * files land the same way in S3 (S3Proxy) and Azure Blob (Azurite).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { Sink } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { feastRedisKey } from '../../src/feature-store/feast-redis-layout.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { featureStoreSink } from '../../src/sinks/feature-store-sink.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { requirePytools, runPython } from '../helpers/pytools.js';
import { AZURE_CONNECTION, createBuckets, deleteBuckets, getAzure, getS3, listAzure, listS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { readJsonLines } from '../helpers/jsonl-files.js';
import { redisClient, REDIS_URL, requireRedis } from '../helpers/redis.js';

const MODEL = path.resolve('models/demo');
const FIXTURE = path.resolve('test/fixtures/feast');
const logger = createLogger('silent');

/** A Feast project name no other test uses (letters, digits, underscores). */
function uniqueProject(): string {
  return `it_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Feast's `connection_string` (`host:port,db=N,password=…`) for a redis:// URL. */
function feastConnection(url: string): string {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return [`${u.hostname}:${u.port || '6379'}`, ...(db === '' ? [] : [`db=${db}`]), ...(u.password === '' ? [] : [`password=${decodeURIComponent(u.password)}`])].join(',');
}

/** Deletes every Redis key of a Feast project (keys end with the project's name). */
async function deleteProjectKeys(project: string): Promise<number> {
  const client = redisClient();
  try {
    const keys = await client.keysBuffer(`*${project}`);
    return keys.length === 0 ? 0 : await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

interface Rec {
  id: string;
  label?: string;
  eventTime: string;
  prediction: { label: string; confidence: number };
  model: { name: string; version: string };
  embedding: number[];
}

async function readRecords(dir: string): Promise<Map<string, Rec>> {
  const records = await readJsonLines<Rec>(dir, 'out-');
  return new Map(records.map((r) => [r.id, r]));
}

/** Within the 1e-6 rounding of the JSON records, and float32's own precision. */
function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1.5e-6 + Math.abs(expected) * 2 ** -23, `${what}: ${actual} vs ${expected}`);
}

const FEAST_READ = `
import json, shutil, subprocess, sys, os
import pyarrow.parquet as pq
fixture, repo, project, connection, lake, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
shutil.copytree(fixture, repo)
cfg = os.path.join(repo, 'feature_store.yaml')
text = open(cfg).read().replace('project: centaur', 'project: ' + project).replace('"127.0.0.1:6379"', json.dumps(connection))
open(cfg, 'w').write(text)
defs = os.path.join(repo, 'features.py')
source = open(defs).read().replace('path="data/features"', 'path=' + json.dumps(lake))
open(defs, 'w').write(source)
subprocess.run([os.path.join(os.path.dirname(sys.executable), 'feast'), 'apply'], cwd=repo, check=True, capture_output=True)
from feast import FeatureStore
store = FeatureStore(repo_path=repo)
features = ['image_features:embedding', 'image_features:predicted_label', 'image_features:confidence', 'image_features:model_version']
online = store.get_online_features(features=features, entity_rows=[{'image_id': i} for i in ids]).to_dict()
table = pq.read_table(lake)
schema = {f.name: str(f.type) for f in table.schema}
rows = table.to_pylist()
for r in rows:
    for k in ('event_timestamp', 'created_timestamp'):
        r[k] = round(r[k].timestamp() * 1000)
    r['dt'] = str(r.get('dt'))
import pandas as pd
known = [i for i in ids if i != 'horses/never-seen.png']
entity_df = pd.DataFrame({'image_id': known + known[:1], 'event_timestamp': [pd.Timestamp.now(tz='UTC')] * len(known) + [pd.Timestamp('2000-01-01', tz='UTC')]})
hist = store.get_historical_features(entity_df=entity_df, features=features[1:]).to_df()
historical = [[r.image_id, r.event_timestamp.year, None if pd.isna(r.predicted_label) else r.predicted_label, None if pd.isna(r.model_version) else r.model_version] for r in hist.itertuples()]
files = sorted(os.path.relpath(os.path.join(d, f), lake) for d, _, fs in os.walk(lake) for f in fs)
print(json.dumps({'online': online, 'schema': schema, 'rows': rows, 'files': files, 'historical': historical}))
`;

interface FeastAnswer {
  online: Record<string, unknown[]>;
  schema: Record<string, string>;
  rows: Record<string, unknown>[];
  files: string[];
  /** get_historical_features: [image id, year of the entity row's time, predicted_label, model_version]. */
  historical: [string, number, string | null, string | null][];
}

test('Feast reads what the sink wrote: online features equal Centaur’s, offline Parquet rows read back with pyarrow', async (t) => {
  if (!(await requireRedis(t)) || !(await requirePytools(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-feature-store-'));
  const project = uniqueProject();
  try {
    await generateImages({ outDir: path.join(dir, 'images'), count: 10, seed: 5_300_001, width: 160, height: 120 });
    await writeFile(
      path.join(dir, 'fs.yaml'),
      `version: 1
name: feature-store-it
nodes:
  images: { kind: files-source, path: images, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  features:
    kind: feature-store-sink
    from: [infer]
    online: { url: ${JSON.stringify(REDIS_URL)}, project: ${project}, featureView: image_features, ttlSeconds: 600 }
    offline: { uri: lake, maxFileRecords: 4, maxIdleMs: 50 }
  out: { kind: files-sink, from: [infer], dir: out, includeEmbedding: true }
  dlq: { kind: dead-letter, dir: out }
`,
    );
    const summary = await new Runtime(await loadTopologyFile(path.join(dir, 'fs.yaml')), { logger }).run();
    assert.equal(summary.inputs, 10);
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.unfinished, 0);

    const records = await readRecords(path.join(dir, 'out'));
    assert.equal(records.size, 10);
    const ids = [...records.keys()].sort();
    const answer = JSON.parse(
      await runPython(FEAST_READ, [FIXTURE, path.join(dir, 'repo'), project, feastConnection(REDIS_URL), path.join(dir, 'lake', 'features'), JSON.stringify([...ids, 'horses/never-seen.png'])]),
    ) as FeastAnswer;

    // Online: every image's features as Centaur computed them; an unknown id has none.
    const online = answer.online;
    assert.deepEqual(online.image_id, [...ids, 'horses/never-seen.png']);
    ids.forEach((id, i) => {
      const rec = records.get(id) as Rec;
      assert.equal(online.predicted_label?.[i], rec.prediction.label, id);
      assert.equal(online.model_version?.[i], rec.model.version, id);
      close(online.confidence?.[i] as number, rec.prediction.confidence, `${id} confidence`);
      const embedding = online.embedding?.[i] as number[];
      assert.equal(embedding.length, 1280, id);
      assert.equal(embedding.length, rec.embedding.length);
      embedding.forEach((v, j) => close(v, rec.embedding[j] as number, `${id} embedding[${j}]`));
    });
    for (const feature of ['embedding', 'predicted_label', 'confidence', 'model_version']) assert.equal(online[feature]?.[ids.length], null, feature);

    // The keys expire as configured.
    const client = redisClient();
    try {
      const ttl = await client.ttl(feastRedisKey(project, 'image_id', ids[0] as string));
      assert.ok(ttl > 500 && ttl <= 600, `ttl ${ttl}`);
    } finally {
      client.disconnect();
    }

    // Offline: one row per image in dt= partitions of Parquet files, rolled at 4 rows.
    assert.equal(answer.schema.embedding, 'list<item: float>');
    assert.equal(answer.schema.event_timestamp, 'timestamp[ms, tz=UTC]');
    assert.equal(answer.schema.confidence, 'float');
    assert.ok(answer.files.length >= 3, answer.files.join(', '));
    for (const file of answer.files) assert.match(file, /^dt=\d{4}-\d{2}-\d{2}\/part-[0-9TZ]+-[0-9a-f]{6}-\d{6}\.parquet$/);
    assert.equal(answer.rows.length, 10);
    const byId = new Map(answer.rows.map((r) => [r.image_id as string, r]));
    assert.deepEqual([...byId.keys()].sort(), ids);
    ids.forEach((id, i) => {
      const rec = records.get(id) as Rec;
      const row = byId.get(id) as Record<string, unknown>;
      assert.equal(row.event_timestamp, Date.parse(rec.eventTime), id);
      assert.equal(row.dt, rec.eventTime.slice(0, 10), id);
      assert.equal(row.model_name, 'horse-or-human');
      assert.equal(row.model_version, rec.model.version);
      assert.equal(row.predicted_label, rec.prediction.label);
      assert.equal(row.true_label, rec.label);
      close(row.confidence as number, rec.prediction.confidence, `${id} offline confidence`);
      assert.deepEqual(row.embedding, online.embedding?.[i], `${id}: the same float32 values online and offline`);
    });

    // Feast's own offline store joins the Parquet rows point in time: as of now each image's
    // prediction; as of 2000, before its event time, nothing (Feast 0.67 leaves the row out).
    const historical = [...answer.historical].sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1]);
    assert.deepEqual(
      historical.filter((r) => r[1] !== 2000),
      ids.map((id) => [id, new Date().getUTCFullYear(), records.get(id)?.prediction.label, '1']),
    );
    assert.deepEqual(historical.filter((r) => r[1] === 2000 && r[2] !== null), []);
  } finally {
    const deleted = await deleteProjectKeys(project);
    t.diagnostic(`deleted ${deleted} keys`);
    await rm(dir, { recursive: true, force: true });
  }
});

/** A TCP proxy to Redis that can be cut and restored on the same port. */
async function redisProxy(): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection(Number(target.port || 6379), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const port = await listen(0);
  return { port, cut, restore: async () => void (await listen(port)), close: cut };
}

function predicted(id: string, extra: Partial<Envelope> = {}): Envelope {
  return {
    id,
    eventTime: Date.UTC(2026, 5, 1, 12),
    position: { source: 'in', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    prediction: { label: 'horse', classIndex: 0, confidence: 0.75, probabilities: [0.75, 0.25] },
    model: { name: 'demo', version: '3' },
    embedding: new Float32Array([0.5, -0.25, 1]),
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    ...extra,
  };
}

async function onlineSink(url: string, project: string): Promise<Sink> {
  const o: Record<string, unknown> = { online: { url, project, featureView: 'image_features', timeoutMs: 500 } };
  assert.ok(new Ajv({ useDefaults: true, strict: false }).validate(featureStoreSink.options, o));
  return featureStoreSink.create(o, { nodeId: 'features', topologyName: 't', baseDir: tmpdir(), logger });
}

test('Redis going away fails writes with the retriable FEATURE_STORE_UNAVAILABLE; writes succeed once it is back', async (t) => {
  if (!(await requireRedis(t))) return;
  const project = uniqueProject();
  const proxy = await redisProxy();
  const url = `redis://127.0.0.1:${proxy.port}`;
  const sink = await onlineSink(url, project);
  const client = redisClient();
  try {
    const key = feastRedisKey(project, 'image_id', 'a.png');
    assert.deepEqual(await sink.write([predicted('a.png')]), []);
    assert.equal(await client.hlen(key), 7, 'six features (the four of the Feast view, model_name, probabilities) and the timestamp');

    await proxy.cut();
    await assert.rejects(sink.write([predicted('b.png')]), (e: unknown) => e instanceof CentaurError && e.code === 'FEATURE_STORE_UNAVAILABLE' && e.retriable);
    assert.match(sink.health?.() ?? '', /not connected/);

    await proxy.restore();
    let written = false;
    for (let i = 0; i < 100 && !written; i += 1) {
      try {
        await sink.write([predicted('b.png')]);
        written = true;
      } catch (e) {
        assert.ok(e instanceof CentaurError && e.code === 'FEATURE_STORE_UNAVAILABLE');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(written, 'the write succeeded after Redis came back');
    assert.equal(await client.hlen(feastRedisKey(project, 'image_id', 'b.png')), 7);
    assert.equal(sink.health?.(), null);
  } finally {
    await sink.close();
    await proxy.close();
    client.disconnect();
    await deleteProjectKeys(project);
  }
});

test('a Redis unreachable at start stops the start with FEATURE_STORE_UNAVAILABLE', async (t) => {
  if (!(await requireRedis(t))) return;
  const proxy = await redisProxy();
  await proxy.cut();
  await assert.rejects(onlineSink(`redis://127.0.0.1:${proxy.port}`, uniqueProject()), (e: unknown) => e instanceof CentaurError && e.code === 'FEATURE_STORE_UNAVAILABLE');
});

test('inputs without an embedding or a key are dead letters; the others are written', async (t) => {
  if (!(await requireRedis(t))) return;
  const project = uniqueProject();
  const o: Record<string, unknown> = { online: { url: REDIS_URL, project, featureView: 'image_features', keyFrom: 'key' } };
  assert.ok(new Ajv({ useDefaults: true, strict: false }).validate(featureStoreSink.options, o));
  const sink = await featureStoreSink.create(o, { nodeId: 'features', topologyName: 't', baseDir: tmpdir(), logger });
  const client = redisClient();
  try {
    const noKey = predicted('a');
    const noEmbedding = predicted('b', { key: 'kb', embedding: undefined });
    const rejections = (await sink.write([noKey, noEmbedding, predicted('c', { key: 'kc' })])) ?? [];
    assert.deepEqual(
      rejections.map((r) => [r.envelope.id, r.error.code]),
      [
        ['a', 'FEATURE_ROW_INVALID'],
        ['b', 'FEATURE_ROW_INVALID'],
      ],
    );
    assert.match(rejections[1]?.error.message ?? '', /embedding/);
    assert.equal(await client.exists(feastRedisKey(project, 'image_id', 'kc')), 1);
    assert.equal(await client.exists(feastRedisKey(project, 'image_id', 'kb')), 0);
    assert.equal(await client.ttl(feastRedisKey(project, 'image_id', 'kc')), -1, 'no TTL by default');
  } finally {
    await sink.close();
    client.disconnect();
    await deleteProjectKeys(project);
  }
});

const READ_PARQUET = `
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
rows = t.to_pylist()
for r in rows:
    r['event_timestamp'] = round(r['event_timestamp'].timestamp() * 1000)
    del r['created_timestamp']
print(json.dumps(rows))
`;

for (const kind of [
  { scheme: 's3', settings: { s3: { endpoint: S3_ENDPOINT, forcePathStyle: true } }, list: listS3, get: getS3 },
  { scheme: 'azure', settings: { azure: { connectionString: AZURE_CONNECTION } }, list: listAzure, get: getAzure },
] as const) {
  test(`offline rows in ${kind.scheme}://: date-partitioned Parquet objects that pyarrow reads`, async (t) => {
    if (!(await requireObjectStores(t)) || !(await requirePytools(t))) return;
    const bucket = uniqueBucket('features');
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-feature-lake-'));
    await createBuckets(bucket);
    try {
      const o: Record<string, unknown> = { offline: { uri: `${kind.scheme}://${bucket}/lake`, maxIdleMs: 20, retries: 1, ...kind.settings } };
      assert.ok(new Ajv({ useDefaults: true, strict: false }).validate(featureStoreSink.options, o), 'options');
      const sink = await featureStoreSink.create(o, { nodeId: 'features', topologyName: 't', baseDir: dir, logger });
      try {
        const day = Date.UTC(2026, 3, 5, 6, 7, 8, 9);
        assert.deepEqual(await sink.write([predicted('a.png', { eventTime: day, label: 'horse' }), predicted('b.png', { eventTime: day + 1 })]), []);
      } finally {
        await sink.close();
      }
      const keys = await kind.list(bucket, 'lake/');
      assert.equal(keys.length, 1, keys.join(', '));
      assert.match(keys[0] as string, /^lake\/features\/dt=2026-04-05\/part-[0-9TZ]+-[0-9a-f]{6}-000001\.parquet$/);
      const file = path.join(dir, 'part.parquet');
      await writeFile(file, await kind.get(bucket, keys[0] as string));
      const rows = JSON.parse(await runPython(READ_PARQUET, [file])) as Record<string, unknown>[];
      assert.deepEqual(rows, [
        { image_id: 'a.png', event_timestamp: Date.UTC(2026, 3, 5, 6, 7, 8, 9), model_name: 'demo', model_version: '3', embedding: [0.5, -0.25, 1], predicted_label: 'horse', confidence: 0.75, true_label: 'horse' },
        { image_id: 'b.png', event_timestamp: Date.UTC(2026, 3, 5, 6, 7, 8, 10), model_name: 'demo', model_version: '3', embedding: [0.5, -0.25, 1], predicted_label: 'horse', confidence: 0.75, true_label: null },
      ]);
    } finally {
      await deleteBuckets(bucket);
      await rm(dir, { recursive: true, force: true });
    }
  });
}
