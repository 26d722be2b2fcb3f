/**
 * The whole learning loop against the real services (Kafka with the schema registry, Redis, the
 * S3-compatible store, MLflow): horse and human camera frames stream through a topology that
 * serves a model followed in the registry, watches drift, stores embeddings and asks for labels;
 * then dogs appear. Drift → a retrain request → label requests → simulated annotators (the
 * generator's ground truth, answering on the labels topic) → the training set in S3 → a 3-class
 * head → blessed → registered (and mirrored in MLflow's Model Registry) → promoted → `infer` swaps.
 * After the swap the new version names the stream's classes (≥ 90 % of the frames it predicted and
 * 80 % of the dogs; the demo backbone allows about 95 % with every frame labelled);
 * across the swap no frame is lost or predicted twice, every prediction names its version, and
 * each retrain request is trained once. The drift node follows the versions: the new version is
 * compared with a reference built from its own first inputs, and asks for no retraining.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { driftProfileCommand } from '../../src/cli/drift-profile.js';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { GeneratedImage } from '../../src/demo/generate-images.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { avroSchema, BROKERS, consumeUntil, createTopics, kafka, produce, registerSchema, REGISTRY_URL, registry, requireServices, unique } from '../helpers/kafka.js';
import { MLFLOW_URL, mlflowPython, requireMlflow } from '../helpers/mlflow.js';
import { createBuckets, deleteBuckets, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { REDIS_URL, requireRedis } from '../helpers/redis.js';
import { demoModelCopy } from '../helpers/training-rows.js';

const WINDOW = 100;

interface Prediction {
  id: string;
  model: { name: string; version: string };
  label: string;
}

interface TrainingRun {
  requestId: string;
  episode: string;
  version: string | null;
  status: string;
  reason: string;
  classes: string[];
}

test('closed loop: dogs appear → drift → labels → a 3-class head, blessed, registered in MLflow, promoted, served; nothing lost or doubled', async (t) => {
  if (!(await requireServices(t)) || !(await requireRedis(t)) || !(await requireObjectStores(t)) || !(await requireMlflow(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-loop-'));
  const bucket = uniqueBucket('loop');
  await createBuckets(bucket);
  t.after(() => deleteBuckets(bucket).catch(() => undefined));
  const name = `hoh-${randomUUID().slice(0, 8)}`;
  const models = new ModelRegistry(path.join(dir, 'registry'));
  await models.register(await demoModelCopy(dir, name), { aliases: ['production'] });

  // The drift reference: the model's outputs and embeddings on horses and humans.
  await generateImages({ outDir: path.join(dir, 'reference'), count: 1000, seed: 41_000, width: 320, height: 240 });
  const said: string[] = [];
  assert.equal(await driftProfileCommand(path.join(dir, 'reference'), { out: path.join(dir, 'profile.json'), model: path.join(dir, 'parent'), calibrateSizes: String(WINDOW) }, { out: (s) => said.push(s), err: (s) => said.push(s) }), 0, said.join('\n'));

  // The stream: 400 horse/human frames, then horse, human and dog in turn.
  const before = await generateImages({ outDir: path.join(dir, 'before'), count: 400, seed: 42_000, width: 320, height: 240 });
  const after = await generateImages({ outDir: path.join(dir, 'after'), count: 3000, seed: 43_000, width: 320, height: 240, classes: ['horse', 'human', 'dog'] });
  const truth = new Map<string, string>();

  const topics = { frames: unique('loop-frames'), predictions: unique('loop-predictions'), requests: unique('loop-label-requests'), labels: unique('loop-labels'), retrain: unique('loop-retrain'), runs: unique('loop-runs') };
  await createTopics(Object.values(topics), 1);
  const frameSchema = await registerSchema(`${topics.frames}-value`, await avroSchema('camera-frame'));
  const labelSchema = await registerSchema(`${topics.labels}-value`, await avroSchema('label'));
  let sent = 0;
  const publish = async (images: readonly GeneratedImage[]): Promise<void> => {
    const messages = await Promise.all(
      images.map(async (image) => {
        const frameId = `f-${String(sent++).padStart(5, '0')}`;
        truth.set(frameId, image.label);
        const record = { cameraId: 'cam-1', frameId, captureTime: Date.now(), image: await readFile(image.path), contentType: 'image/jpeg', metadata: {} };
        return { key: 'cam-1', value: await registry.encode(frameSchema, record), headers: { label: image.label } };
      }),
    );
    // 320×240 JPEGs of ~40 KB: 20 to a request stays under the broker's 1 MB limit.
    for (let i = 0; i < messages.length; i += 20) await produce(topics.frames, messages.slice(i, i + 20));
  };

  // Simulated annotators: every label request answered with the frame's true class.
  const annotators = kafka.consumer({ groupId: unique('annotators'), maxWaitTimeInMs: 100 });
  await annotators.connect();
  await annotators.subscribe({ topics: [topics.requests], fromBeginning: true });
  let answered = 0;
  await annotators.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      const request = (await registry.decode(message.value as Buffer)) as { inputId: string; strategy: string };
      const label = truth.get(request.inputId);
      if (label === undefined) return;
      const value = await registry.encode(labelSchema, { inputId: request.inputId, label, annotator: 'simulated', origin: 'kafka', labelTime: Date.now(), selection: request.strategy });
      await produce(topics.labels, [{ key: request.inputId, value }]);
      answered += 1;
    },
  });
  t.after(() => annotators.disconnect());

  const feast = unique('loop').replace(/[^A-Za-z0-9_]/g, '_');
  const s3 = `{ endpoint: ${JSON.stringify(S3_ENDPOINT)}, forcePathStyle: true }`;
  const sr = `{ url: ${JSON.stringify(REGISTRY_URL)} }`;
  const yaml = `version: 1
name: ${unique('loop')}
limits: { maxInFlight: 256, commitIntervalMs: 200 }
nodes:
  frames: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topics.frames}], groupId: ${unique('frames')}, schemaRegistry: ${sr} }
  decode: { kind: decode-image, from: [frames], size: [224, 224], scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { registry: registry, name: ${name}, pollIntervalMs: 300 }, includeEmbedding: true }
  drift:
    kind: drift
    from: [infer]
    profile: profile.json
    follow: { registry: registry, name: ${name} }
    window: { by: count, size: ${WINDOW} }
    reports: { files: { dir: drift } }
    retrain: { consecutive: 2, recovery: 2, kafka: { brokers: [${BROKERS}], topic: ${topics.retrain}, format: avro, schemaRegistry: ${sr} } }
  predictions: { kind: kafka-sink, from: [drift], brokers: [${BROKERS}], topic: ${topics.predictions}, schemaRegistry: ${sr} }
  features: { kind: feature-store-sink, from: [infer], online: { url: ${JSON.stringify(REDIS_URL)}, project: ${feast}, featureView: image_embeddings } }
  select: { kind: select-for-labelling, from: [infer], window: { size: ${WINDOW} }, budget: { perWindow: 60 }, explorationShare: 0.3 }
  label-requests: { kind: kafka-sink, from: [select], brokers: [${BROKERS}], topic: ${topics.requests}, record: label-request, key: id, schemaRegistry: ${sr} }
  labels: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topics.labels}], groupId: ${unique('labels')}, schemaRegistry: ${sr}, value: { format: avro, content: label } }
  training-set:
    kind: training-set-sink
    from: [labels]
    features: { url: ${JSON.stringify(REDIS_URL)}, project: ${feast}, featureView: image_embeddings }
    uri: s3://${bucket}/lake
    s3: ${s3}
    classes: [horse, human]
    split: { validation: 0.1, holdout: 0.2 }
  retrain-requests: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topics.retrain}], groupId: ${unique('trainer')}, value: { format: bytes } }
  trainer:
    kind: trainer-sink
    from: [retrain-requests]
    trainingSet: s3://${bucket}/lake/training-set
    s3: ${s3}
    model: { registry: registry, name: ${name} }
    training: { minPerClass: 150 }
    blessing: { minHoldoutPerClass: 15 }
    labels: { pollSeconds: 1, maxWaitSeconds: 240 }
    niceness: 10
    mlflow: { url: ${JSON.stringify(MLFLOW_URL)}, experiment: ${JSON.stringify(`centaur-loop-${name}`)} }
    schemaRegistry: ${sr}
    kafka: { brokers: [${BROKERS}], topic: ${topics.runs}, format: avro, schemaRegistry: ${sr} }
  failed: { kind: dead-letter, dir: failed }
`;
  const runtime = new Runtime(parseTopology(yaml, path.join(dir, 'loop.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
  const running = runtime.run();
  let summary;
  try {
    await publish(before);
    // Dogs appear: frames keep coming, 150 at a time, until production moves (or 4 minutes pass).
    let next = 0;
    const started = Date.now();
    while ((await models.aliases(name)).production === '1' && Date.now() - started < 240_000) {
      if (next < 1500) {
        await publish(after.slice(next, next + 150));
        next += 150;
      }
      await new Promise((r) => setTimeout(r, 1500));
    }
    const promoted = (await models.aliases(name)).production;
    assert.notEqual(promoted, '1', `production never moved; ${answered} labels answered`);
    t.diagnostic(`promoted version ${String(promoted)} after ${Math.round((Date.now() - started) / 1000)} s of the shifted stream, ${answered} labels answered, ${sent} frames sent`);
    // After the swap: 1,500 more frames (the new version's drift reference takes its first 1,000).
    await new Promise((r) => setTimeout(r, 1000));
    await publish(after.slice(next, next + 1500));
    const predictions = await consumeUntil(topics.predictions, (m) => m.length >= sent, { timeoutMs: 120_000, quietMs: 1000 });
    const decoded = await Promise.all(predictions.map(async (m) => (await registry.decode(m.value as Buffer)) as Prediction));

    // Nothing lost, nothing doubled, every prediction names its version.
    const ids = decoded.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'no frame predicted twice');
    assert.equal(ids.length, sent, 'every frame predicted');
    assert.ok(decoded.every((p) => p.model.name === name && /^\d+$/.test(p.model.version)));
    const swappedAt = decoded.findIndex((p) => p.model.version !== '1');
    assert.ok(swappedAt > 0, 'the stream swapped versions');
    const served = decoded.slice(swappedAt).filter((p) => p.model.version !== '1');
    const correct = served.filter((p) => truth.get(p.id) === p.label).length;
    const confusion: Record<string, Record<string, number>> = {};
    for (const p of served) {
      const row = (confusion[truth.get(p.id) ?? '?'] ??= {});
      row[p.label] = (row[p.label] ?? 0) + 1;
    }
    t.diagnostic(`after the swap: ${correct}/${served.length} correct (${((100 * correct) / served.length).toFixed(1)} %); true → predicted ${JSON.stringify(confusion)}; versions ${JSON.stringify([...new Set(served.map((p) => p.model.version))])}`);
    assert.ok(served.length >= 600);
    // The demo backbone's ceiling on this stream: the same head trained on 1,500 fully labelled
    // frames of these classes names 95.0–95.3 % of them; the loop's head, from the labels it asked
    // for, reaches 93–95 %. The parent, which never says dog, is at about two thirds.
    assert.ok(correct / served.length >= 0.9, `accuracy after the swap ${correct / served.length}`);
    const dogs = served.filter((p) => truth.get(p.id) === 'dog');
    assert.ok(dogs.filter((p) => p.label === 'dog').length / dogs.length >= 0.8, 'dogs are named dogs');
    assert.ok(served.some((p) => p.label === 'dog'));

    // One training per retrain request, and the promoted version in MLflow's registry. The new
    // version is compared with its own reference: it asks for no retraining. Wait until every
    // request's episode has its TrainingRun.
    const episodes = async (): Promise<Set<string>> => {
      const requests = await consumeUntil(topics.retrain, (m) => m.length >= 1, { timeoutMs: 10_000, quietMs: 500 });
      const decodedRequests = (await Promise.all(requests.map((m) => registry.decode(m.value as Buffer)))) as { episode: string; model: { version: string } }[];
      assert.deepEqual([...new Set(decodedRequests.map((r) => r.model.version))], ['1'], 'only version 1 asks for retraining');
      return new Set(decodedRequests.map((r) => r.episode));
    };
    let requested = await episodes();
    let records: TrainingRun[] = [];
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const runs = await consumeUntil(topics.runs, (m) => m.length >= requested.size, { timeoutMs: 20_000, quietMs: 500 });
      records = (await Promise.all(runs.map((m) => registry.decode(m.value as Buffer)))) as TrainingRun[];
      requested = await episodes();
      if (records.length >= requested.size) break;
    }
    t.diagnostic(`retrain requests ${requested.size}; training runs ${JSON.stringify(records.map((r) => [r.version, r.status, r.reason]))}`);
    assert.ok(records.length >= 1);
    assert.equal(new Set(records.map((r) => r.episode)).size, records.length, 'one TrainingRun per episode');
    assert.deepEqual(new Set(records.map((r) => r.episode)), requested, 'every request answered');
    const trained = records.filter((r) => r.version !== null && r.status !== 'not_blessed');
    assert.deepEqual((await models.versions(name)).map((v) => v.version), ['1', ...trained.map((r) => r.version)], 'one version per training, none half-registered');
    const first = records.find((r) => r.version === '2');
    assert.equal(first?.status, 'promoted', first?.reason);
    assert.deepEqual(first?.classes, ['horse', 'human', 'dog']);
    const inMlflow = await mlflowPython<{ version: string }>(
      'import json, sys\nfrom mlflow import MlflowClient\nv = MlflowClient().get_model_version_by_alias(sys.argv[1], "production")\nprint(json.dumps({"version": v.tags["centaur.version"]}))',
      [name],
    );
    assert.equal(inMlflow.version, (await models.aliases(name)).production, 'MLflow\'s production is the registry\'s');
  } finally {
    runtime.stop();
    summary = await running;
  }
  assert.equal(summary.deadLetters, 0);
  // The drift node reported the new version's windows against its warm-up reference.
  const reports = (await readFile(path.join(dir, 'drift', 'drift-reports.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { model: { version: string }; dataset: { datasetDrift: boolean } | null });
  const promotedReports = reports.filter((r) => r.model.version !== '1');
  t.diagnostic(`drift windows: ${reports.length - promotedReports.length} of version 1, ${promotedReports.length} of the promoted version (${promotedReports.filter((r) => r.dataset?.datasetDrift === true).length} drifted)`);
  assert.ok(promotedReports.length >= 1, 'the promoted version is monitored after its warm-up');
  // Per-class figures follow the served version's class list: dogs counted as dogs once it knows them.
  const perClass = summary.accuracy?.perClass ?? {};
  assert.ok((perClass.dog?.labelled ?? 0) > 0 && (perClass.dog?.correct ?? 0) > 0, JSON.stringify(perClass));
  assert.ok((perClass.other?.labelled ?? 0) > 0, 'before the swap a dog is outside the classes');
});
