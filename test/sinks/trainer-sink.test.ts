/**
 * `trainer-sink` on JSON retrain requests with a folder registry and a training set in a lake
 * folder: one training per episode (a redelivered request gets the same TrainingRun, no second
 * version), a blessed version promoted, a request that waits for labels and trains once they come,
 * one that runs out of wait, requests about other models left alone, malformed ones dead-lettered,
 * and a trainer stopped mid-training that registers nothing and trains the same version on restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import type { Sink } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { trainerSink } from '../../src/sinks/trainer-sink.js';
import type { TrainingRunRecord } from '../../src/sinks/trainer-sink.js';
import { storeFor } from '../../src/storage/store-for.js';
import { TrainingSetTable } from '../../src/training-set/training-set-table.js';
import { bytesEnvelope } from '../helpers/envelopes.js';
import { demoModelCopy, demoTrainingSet, DIMS, rows } from '../helpers/training-rows.js';

const ajv = new Ajv({ useDefaults: true, strict: false });

let offset = 0;
const envelope = (value: unknown): Envelope => bytesEnvelope('requests', ++offset, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

const request = (episode: string, model = 'horse-or-human'): Envelope =>
  envelope({ id: `cams/drift/${episode}`, topology: 'cams', node: 'drift', model: { name: model, version: '1' }, reason: 'embedding', reasons: ['embedding'], episode, requestedAt: 1_800_000_000_000, windows: [], driftedFeatures: [], embeddingScore: 0.4, baselineAccuracy: null });

async function setUp(): Promise<{ dir: string; registry: ModelRegistry }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-trainer-'));
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  await registry.register(await demoModelCopy(dir), { aliases: ['production'] });
  return { dir, registry };
}

async function create(dir: string, extra: Record<string, unknown> = {}): Promise<Sink> {
  const o = { trainingSet: 'lake/training-set', model: { registry: 'registry', name: 'horse-or-human' }, training: { minPerClass: 5 }, niceness: 0, files: { dir: 'out' }, ...extra };
  assert.ok(ajv.validate(trainerSink.options, o), JSON.stringify(ajv.errors));
  return trainerSink.create(o, { nodeId: 'trainer', topologyName: 'loop', baseDir: dir, logger: createLogger('silent') });
}

async function runsIn(dir: string): Promise<TrainingRunRecord[]> {
  const text = await readFile(path.join(dir, 'out', 'trainer-training-runs.jsonl'), 'utf8').catch(() => '');
  return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as TrainingRunRecord);
}

test('one training per episode: promoted when blessed, a redelivery answered from the ledger, other models and malformed requests', async () => {
  const { dir, registry } = await setUp();
  await demoTrainingSet(dir, (await loadManifest('models/demo')).fingerprint);
  const sink = await create(dir);
  try {
    assert.deepEqual(await sink.write([request('cams/drift/1/100')]), []);
    const [run] = await runsIn(dir);
    assert.equal(run?.status, 'promoted', run?.reason);
    assert.equal(run?.version, '2');
    assert.equal(run?.parentVersion, '1');
    assert.deepEqual(run?.classes, ['horse', 'human', 'dog']);
    assert.deepEqual(run?.newClasses, ['dog']);
    assert.match(run?.trainingSetContentHash ?? '', /^[0-9a-f]{64}$/);
    assert.ok((run?.holdoutAccuracy ?? 0) > (run?.productionHoldoutAccuracy ?? 1));
    assert.deepEqual(await registry.aliases('horse-or-human'), { production: '2', candidate: '2' });

    // The same episode again (redelivery, or a second request of the episode): the same result, no training.
    const restarted = await create(dir);
    assert.deepEqual(await restarted.write([request('cams/drift/1/100')]), []);
    await restarted.close();
    const runs = await runsIn(dir);
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1], runs[0]);
    assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1', '2']);

    // Another model's request is left alone; a malformed one is a dead letter.
    assert.deepEqual(await sink.write([request('cams/drift/9/1', 'other-model')]), []);
    const [rejected] = await sink.write([envelope('{"topology":"cams"}')]) ?? [];
    assert.equal(rejected?.error.code, 'RETRAIN_REQUEST_INVALID');
    assert.equal((await runsIn(dir)).length, 2);
  } finally {
    await sink.close();
  }
});

test('too few labels: the request waits and trains once they come; with no labels coming it ends as insufficient_labels', async () => {
  const { dir, registry } = await setUp();
  const fingerprint = (await loadManifest('models/demo')).fingerprint;
  const base = pathToFileURL(path.join(dir, 'lake', 'training-set')).href;
  const store = await storeFor(base);
  const table = await TrainingSetTable.open({ base, buckets: 4, policy: 'latest', classes: new Set(['horse', 'human']), compression: 'zstd', retries: 0 }, store, createLogger('silent'), 'test');
  const padded = (n: number, seed: number) => rows(n, fingerprint, seed).map((row) => ({ ...row, features: { ...row.features, embedding: Float32Array.from({ length: 1280 }, (_, d) => (d < DIMS ? row.features.embedding[d]! : 0)) } }));
  await table.put(padded(12, 1));
  const sink = await create(dir, { labels: { pollSeconds: 0.3, maxWaitSeconds: 60 } });
  try {
    const writing = sink.write([request('cams/drift/2/200')]);
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(await runsIn(dir), [], 'nothing trained while a class has too few labels');
    await table.put(padded(300, 2));
    await table.close();
    assert.deepEqual(await writing, []);
    const [run] = await runsIn(dir);
    assert.equal(run?.status, 'promoted', run?.reason);
    // It trains once a poll sees enough labels: the 300 new rows land bucket by bucket, so a poll
    // may come between two buckets and train on part of them — never on the first 12 alone.
    assert.ok((run?.trainingSetRows ?? 0) > 12 && (run?.trainingSetRows ?? 0) <= 312, `${run?.trainingSetRows} rows`);
    assert.equal((await registry.aliases('horse-or-human')).production, '2');
  } finally {
    await sink.close();
  }

  const impatient = await create(dir, { training: { minPerClass: 1000 }, labels: { pollSeconds: 0.2, maxWaitSeconds: 0.5 } });
  try {
    await impatient.write([request('cams/drift/3/300')]);
    const runs = await runsIn(dir);
    assert.equal(runs[1]?.status, 'insufficient_labels');
    assert.match(runs[1]?.reason ?? '', /too few labelled train examples: horse \d+, human \d+, dog \d+ \(at least 1000 each\)/);
    assert.equal(runs[1]?.version, null);
    assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1', '2']);
  } finally {
    await impatient.close();
  }
});

test('a trainer stopped mid-training registers nothing; restarted, it trains the version it claimed, once', async () => {
  const { dir, registry } = await setUp();
  await demoTrainingSet(dir, (await loadManifest('models/demo')).fingerprint);
  // Many small batches: the training takes long enough to be stopped in the middle.
  const sink = await create(dir, { training: { minPerClass: 5, batchSize: 8, patience: 0, maxEpochs: 400 } });
  const writing = sink.write([request('cams/drift/4/400')]);
  await new Promise((r) => setTimeout(r, 3000));
  await sink.close();
  await assert.rejects(writing, (e: Error & { retriable?: boolean }) => e.retriable === true);
  assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1'], 'nothing registered');
  assert.deepEqual(await runsIn(dir), []);

  const again = await create(dir);
  try {
    assert.deepEqual(await again.write([request('cams/drift/4/400')]), []);
  } finally {
    await again.close();
  }
  const runs = await runsIn(dir);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.version, '2', 'the version claimed before the stop');
  assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1', '2']);
});
