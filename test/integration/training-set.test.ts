/**
 * Labels back into a training set, against the real services: generated images (a third of them
 * dogs, a class the model never saw) are predicted, their embeddings stored in Redis by
 * `feature-store-sink` and the uncertain ones sent to a real Label Studio; annotations made
 * through Label Studio's API come back through `label-studio-source` and land in the Parquet
 * training set with their embeddings (read by pyarrow and pandas); Avro labels from Kafka do the
 * same, with repeated, disagreeing, unknown and malformed labels; and a `kill -9` of a
 * `centaur run` mid-stream loses and duplicates nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { feastRow } from '../../src/feature-store/feast-redis-layout.js';
import { onlineFeatures } from '../../src/feature-store/feature-row.js';
import { FeastOnlineStore } from '../../src/feature-store/online-store.js';
import { decodeParquet } from '../../src/formats/parquet.js';
import { AvroRegistryCodec } from '../../src/kafka/schema-registry.js';
import { LabelStudioClient } from '../../src/labelling/label-studio-client.js';
import type { LabelsSummary } from '../../src/observability/api-types.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { startCentaur } from '../helpers/centaur-process.js';
import { readJsonLines } from '../helpers/jsonl-files.js';
import { BROKERS, createTopics, produce, REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';
import { LABEL_STUDIO_TOKEN, LABEL_STUDIO_URL, requireLabelStudio } from '../helpers/label-studio.js';
import { createBuckets, deleteBuckets, getS3, listS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { requirePytools, runPython } from '../helpers/pytools.js';
import { REDIS_URL, requireRedis } from '../helpers/redis.js';

const MODEL = path.resolve('models/demo');
const logger = createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent');

interface Row {
  input_id: string;
  split: string;
  label: string;
  new_class: boolean;
  label_origin: string;
  annotators: string[];
  annotator_labels: string[];
  agreement: number;
  selection: string | null;
  embedding: Float32Array;
  predicted_label: string;
  model_version: string;
  model_fingerprint: string | null;
}

interface DeadLetter {
  id: string;
  error: { code: string; message: string };
}

/** A Feast name unique to a test. */
function feastName(prefix: string): string {
  return unique(prefix).replace(/[^A-Za-z0-9_]/g, '_');
}

/** Every row of the training-set files in a folder. */
async function folderRows(dir: string): Promise<Row[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.parquet'));
  const rows = await Promise.all(names.map(async (n) => decodeParquet(await readFile(path.join(dir, n)))));
  return rows.flat() as unknown as Row[];
}

/** Every row of the training-set files under an S3 prefix. */
async function s3Rows(bucket: string, prefix: string): Promise<Row[]> {
  const keys = (await listS3(bucket, prefix)).filter((k) => k.endsWith('.parquet'));
  const rows = await Promise.all(keys.map(async (k) => decodeParquet(await getS3(bucket, k))));
  return rows.flat() as unknown as Row[];
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a topology until `done` holds, then stops it; returns the run's summary. */
async function runUntil(file: string, done: () => Promise<boolean>, timeoutMs: number, what: string, inspect?: (runtime: Runtime) => void) {
  const runtime = new Runtime(await loadTopologyFile(file), { logger });
  const running = runtime.run();
  try {
    await until(done, (x) => x, timeoutMs, what);
    inspect?.(runtime);
  } finally {
    runtime.stop();
  }
  return running;
}

/** Writes online feature rows for ids, as `feature-store-sink` would (a 4-d embedding, a prediction). */
async function storeFeatures(project: string, view: string, ids: readonly string[]): Promise<void> {
  const store = new FeastOnlineStore({ url: REDIS_URL, timeoutMs: 5000, ttlSeconds: 0 }, logger, 'test');
  await store.connect();
  try {
    await store.write(
      ids.map((id, i) =>
        feastRow(
          { project, featureView: view, joinKey: 'image_id' },
          id,
          onlineFeatures({ entity: id, eventTime: 1_700_000_000_000 + i, modelName: 'horse-or-human', modelVersion: '1', embedding: Float32Array.from([i, 1, 2, 3]), predictedLabel: 'horse', confidence: 0.6, probabilities: [0.6, 0.4] }),
          1_700_000_000_000 + i,
        ),
      ),
    );
  } finally {
    await store.close();
  }
}

test('Label Studio annotations come back into the Parquet training set with the stored embeddings; pyarrow and pandas read it', async (t) => {
  if (!(await requireLabelStudio(t)) || !(await requireRedis(t)) || !(await requirePytools(t))) return;
  process.env.CENTAUR_LABEL_STUDIO_TOKEN = LABEL_STUDIO_TOKEN;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-training-set-'));
  await generateImages({ outDir: path.join(dir, 'images'), count: 90, seed: 4242, width: 96, height: 72, classes: ['horse', 'human', 'dog'] });
  const project = unique('labels');
  const feast = feastName('ts');
  const features = `{ url: ${JSON.stringify(REDIS_URL)}, project: ${feast}, featureView: image_embeddings }`;
  await writeFile(
    path.join(dir, 'serve.yaml'),
    `version: 1
name: ${unique('serve')}
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  features: { kind: feature-store-sink, from: [infer], online: ${features} }
  select: { kind: select-for-labelling, from: [infer], window: { size: 45 }, budget: { perWindow: 6 }, explorationShare: 0.2 }
  tasks: { kind: label-studio-sink, from: [select], url: ${JSON.stringify(LABEL_STUDIO_URL)}, token: "\${CENTAUR_LABEL_STUDIO_TOKEN}", tokenType: legacy, project: ${project}, localFilesRoot: ${JSON.stringify(tmpdir())} }
  failed: { kind: dead-letter, dir: failed }
`,
  );
  const served = await new Runtime(await loadTopologyFile(path.join(dir, 'serve.yaml')), { logger }).run();
  assert.equal(served.completed, 90);
  assert.equal(served.deadLetters, 0);

  // People label the tasks through Label Studio's API: the class of the image's folder, a dog as a
  // new class named in the text field; one label is corrected afterwards.
  const client = new LabelStudioClient({ url: LABEL_STUDIO_URL, token: LABEL_STUDIO_TOKEN, tokenType: 'legacy', timeoutMs: 10000 });
  const projectId = (await client.findProject(project))!;
  const tasks = await client.listChangedTasks(projectId, 0, 100);
  assert.equal(tasks.length, 12, 'six per window of 45');
  const truth = (inputId: string): string => inputId.split('/')[0]!.replace(/s$/, '');
  for (const task of tasks) {
    const cls = truth(String(task.data.inputId));
    if (cls === 'dog') await client.annotate(task.id, 'other / new class', [{ from_name: 'newClass', to_name: 'image', type: 'textarea', value: { text: ['dog'] } }]);
    else await client.annotate(task.id, cls);
  }
  const corrected = tasks.find((x) => truth(String(x.data.inputId)) !== 'dog')!;
  const [first] = (await client.listChangedTasks(projectId, 0, 100)).filter((x) => x.id === corrected.id).map((x) => x.annotations[0]!);
  await fetch(`${LABEL_STUDIO_URL}/api/annotations/${first!.id}`, {
    method: 'PATCH',
    headers: { authorization: `Token ${LABEL_STUDIO_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ result: [{ from_name: 'label', to_name: 'image', type: 'choices', value: { choices: [truth(String(corrected.data.inputId)) === 'horse' ? 'human' : 'horse'] } }] }),
  });

  const lake = path.join(dir, 'lake');
  await writeFile(
    path.join(dir, 'labels.yaml'),
    `version: 1
name: ${unique('labels')}
nodes:
  labels: { kind: label-studio-source, url: ${JSON.stringify(LABEL_STUDIO_URL)}, token: "\${CENTAUR_LABEL_STUDIO_TOKEN}", tokenType: legacy, project: ${project}, pollIntervalMs: 200, pageSize: 5, watermark: { uri: state/labels.json } }
  train: { kind: training-set-sink, from: [labels], features: ${features}, uri: lake, model: { path: ${JSON.stringify(MODEL)} }, buckets: 4 }
  failed: { kind: dead-letter, dir: failed-labels }
`,
  );
  const started = Date.now();
  const expectedCorrection = truth(String(corrected.data.inputId)) === 'horse' ? 'human' : 'horse';
  await runUntil(
    path.join(dir, 'labels.yaml'),
    async () => {
      const rows = await folderRows(path.join(lake, 'training-set'));
      return rows.length === 12 && rows.some((r) => r.input_id === corrected.data.inputId && r.label === expectedCorrection);
    },
    60000,
    'twelve training rows with the correction',
  );
  t.diagnostic(`Label Studio → training set: ${Date.now() - started} ms for 12 tasks (poll 200 ms)`);
  assert.deepEqual(await readJsonLines(path.join(dir, 'failed-labels'), 'dead-letters'), []);

  const rows = await folderRows(path.join(lake, 'training-set'));
  const byId = new Map(rows.map((r) => [r.input_id, r]));
  assert.equal(byId.size, 12, 'one row per input, the correction replaced the first label');
  for (const task of tasks) {
    const row = byId.get(String(task.data.inputId))!;
    const cls = truth(row.input_id);
    assert.equal(row.embedding.length, 1280, 'the stored embedding of the input');
    assert.match(row.model_fingerprint ?? '', /^[0-9a-f]{64}$/, 'the fingerprint of the model that made the embedding');
    assert.equal(row.model_fingerprint, rows[0]!.model_fingerprint);
    assert.equal(row.predicted_label, task.data.predicted);
    assert.equal(row.selection, task.data.strategy);
    assert.equal(row.label_origin, 'label-studio');
    assert.deepEqual(row.annotators, ['label-studio:1'], 'one annotator, the correction replaced the first label');
    assert.equal(row.new_class, cls === 'dog');
    assert.equal(row.label, row.input_id === corrected.data.inputId ? expectedCorrection : cls);
  }

  const checked = await runPython(
    `import sys, json, pandas as pd, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1], format="parquet").to_table()
df = pd.read_parquet(sys.argv[1])
print(json.dumps({"rows": t.num_rows, "ids": int(df["input_id"].nunique()), "dim": sorted({len(e) for e in df["embedding"]}), "new": int(df["new_class"].sum()), "dogs": int((df["label"] == "dog").sum()), "splits": sorted(df["split"].unique().tolist()), "label_time": str(df["label_time"].dtype), "schema": int(df["schema_version"].iloc[0])}))`,
    [path.join(lake, 'training-set')],
  );
  const py = JSON.parse(checked) as { rows: number; ids: number; dim: number[]; new: number; dogs: number; splits: string[]; label_time: string; schema: number };
  const dogs = [...byId.values()].filter((r) => truth(r.input_id) === 'dog').length;
  assert.equal(py.rows, 12);
  assert.equal(py.ids, 12);
  assert.deepEqual(py.dim, [1280]);
  assert.equal(py.new, dogs);
  assert.equal(py.dogs, dogs);
  assert.match(py.label_time, /datetime64\[ms, UTC\]/);
  assert.equal(py.schema, 1);
});

test('Kafka Avro labels: repeats replace, disagreeing annotators are all kept under the majority policy, new classes kept, unknown and malformed labels dead-lettered', async (t) => {
  if (!(await requireServices(t)) || !(await requireRedis(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kafka-labels-'));
  const feast = feastName('kl');
  const ids = ['cam-1/a', 'cam-1/b', 'cam-2/c', 'cam-2/d'];
  await storeFeatures(feast, 'image_embeddings', ids);
  const topic = unique('labels');
  await createTopics([topic], 1);
  const codec = await AvroRegistryCodec.create({ url: REGISTRY_URL });
  const schema = await readFile('schemas/avro/label.avsc', 'utf8');
  const id = await codec.register(`${topic}-value`, schema);
  const label = (inputId: string, value: string, annotator: string, time: number) => ({ inputId, label: value, annotator, origin: 'kafka', labelTime: time, selection: null });
  const records = [
    label('cam-1/a', 'horse', 'ann', 1000),
    label('cam-1/a', 'human', 'bob', 1100),
    label('cam-1/a', 'horse', 'cat', 1200),
    label('cam-1/b', 'horse', 'ann', 1000),
    label('cam-1/b', 'human', 'ann', 2000),
    label('cam-2/c', 'human', 'ann', 1000),
    label('cam-2/c', 'human', 'ann', 1000),
    label('cam-2/d', 'zebra', 'ann', 1000),
    label('cam-9/unknown', 'horse', 'ann', 1000),
    label('cam-2/d', '   ', 'ann', 3000),
  ];
  await produce(topic, await Promise.all(records.map(async (r) => ({ key: r.inputId, value: await codec.encode(id, r) }))));
  await writeFile(
    path.join(dir, 'labels.yaml'),
    `version: 1
name: ${unique('kafka-labels')}
nodes:
  labels: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topic}], groupId: ${unique('g')}, schemaRegistry: { url: ${JSON.stringify(REGISTRY_URL)} }, value: { format: avro, content: label } }
  train: { kind: training-set-sink, from: [labels], features: { url: ${JSON.stringify(REDIS_URL)}, project: ${feast}, featureView: image_embeddings }, uri: lake, classes: [horse, human], policy: majority }
  failed: { kind: dead-letter, dir: failed }
`,
  );
  let summary: LabelsSummary | null = null;
  await runUntil(
    path.join(dir, 'labels.yaml'),
    async () => (await readJsonLines(path.join(dir, 'failed'), 'dead-letters')).length >= 2 && (await folderRows(path.join(dir, 'lake', 'training-set'))).length >= 4,
    60000,
    'four rows and two dead letters',
    (runtime) => (summary = runtime.metrics.labelsSummary()),
  );
  // The live summary (dashboard): every stored prediction is `horse`; labels horse, human, horse(majority), zebra.
  const status = (summary as LabelsSummary | null)?.nodes[0];
  assert.equal(status?.rows, 4);
  assert.equal(status?.newClassRows, 1);
  assert.deepEqual(status?.all.perClass.horse, { labelled: 1, predicted: 4, correct: 1, precision: 0.25, recall: 1 });
  assert.deepEqual(status?.all.perClass.human, { labelled: 2, predicted: 0, correct: 0, precision: null, recall: 0 });
  assert.equal(status?.all.perClass.new?.labelled, 1);
  assert.equal(status?.exploration.labelled, 0, 'none of these labels came from exploration');
  const rows = new Map((await folderRows(path.join(dir, 'lake', 'training-set'))).map((r) => [r.input_id, r]));
  assert.equal(rows.size, 4);
  const a = rows.get('cam-1/a')!;
  assert.deepEqual(a.annotators, ['ann', 'bob', 'cat']);
  assert.deepEqual(a.annotator_labels, ['horse', 'human', 'horse']);
  assert.equal(a.label, 'horse', 'the majority');
  assert.ok(Math.abs(a.agreement - 2 / 3) < 1e-6);
  assert.deepEqual(rows.get('cam-1/b')!.annotator_labels, ['human'], 'the newer label of the same annotator replaced the first');
  assert.deepEqual(rows.get('cam-2/c')!.annotators, ['ann'], 'a repeat adds nothing');
  assert.equal(rows.get('cam-2/d')!.label, 'zebra');
  assert.equal(rows.get('cam-2/d')!.new_class, true, 'a new class is kept and flagged');
  assert.deepEqual([...rows.get('cam-2/d')!.embedding], [3, 1, 2, 3], 'the stored embedding');
  const letters = await readJsonLines<DeadLetter>(path.join(dir, 'failed'), 'dead-letters');
  assert.deepEqual(letters.map((l) => l.error.code).sort(), ['LABEL_INPUT_UNKNOWN', 'LABEL_INVALID']);
  assert.equal(letters.find((l) => l.error.code === 'LABEL_INPUT_UNKNOWN')!.id, 'cam-9/unknown');
  assert.match(letters.find((l) => l.error.code === 'LABEL_INVALID')!.error.message, /`label` is empty/);
});

test('kill -9 of a labels-to-training-set process mid-stream: after a restart every annotation is in the lake once', async (t) => {
  if (!(await requireServices(t)) || !(await requireRedis(t)) || !(await requireObjectStores(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-labels-crash-'));
  const feast = feastName('kc');
  const ids = Array.from({ length: 100 }, (_, i) => `cam-${i % 5}/frame-${i}`);
  await storeFeatures(feast, 'image_embeddings', ids);
  const topic = unique('labels-crash');
  await createTopics([topic], 2);
  const annotators = ['ann', 'bob', 'cat', 'dan'];
  const messages = annotators.flatMap((annotator, k) =>
    ids.map((inputId, i) => ({ key: inputId, value: Buffer.from(JSON.stringify({ inputId, label: (i + k) % 3 === 0 ? 'human' : 'horse', annotator, labelTime: 1_700_000_000_000 + k * 1000 + i })) })),
  );
  await produce(topic, messages);
  const bucket = uniqueBucket('labels-crash');
  await createBuckets(bucket);
  try {
    const file = path.join(dir, 'labels.yaml');
    await writeFile(
      file,
      `version: 1
name: ${unique('labels-crash')}
limits: { maxInFlight: 64, commitIntervalMs: 50 }
nodes:
  labels: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topic}], groupId: ${unique('g')}, value: { format: json, content: label } }
  train: { kind: training-set-sink, from: [labels], features: { url: ${JSON.stringify(REDIS_URL)}, project: ${feast}, featureView: image_embeddings }, uri: s3://${bucket}, classes: [horse, human], buckets: 8, s3: { endpoint: ${JSON.stringify(S3_ENDPOINT)}, forcePathStyle: true } }
  failed: { kind: dead-letter, dir: failed }
`,
    );
    const annotations = (rows: Row[]) => rows.reduce((n, r) => n + r.annotators.length, 0);
    const first = startCentaur(file);
    await until(() => s3Rows(bucket, 'training-set/'), (rows) => annotations(rows) >= 40, 60000, 'some annotations in the lake');
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    const before = annotations(await s3Rows(bucket, 'training-set/'));
    const second = startCentaur(file);
    try {
      const rows = await until(() => s3Rows(bucket, 'training-set/'), (r) => annotations(r) >= 400, 90000, 'all 400 annotations');
      t.diagnostic(`annotations in the lake at the kill: ${before}; after the restart: ${annotations(rows)}`);
      assert.equal(rows.length, 100, 'one row per input');
      assert.equal(new Set(rows.map((r) => r.input_id)).size, 100);
      for (const row of rows) assert.deepEqual([...row.annotators].sort(), annotators, `${row.input_id}: each annotator once`);
      assert.equal(annotations(rows), 400, 'nothing lost, nothing doubled');
      assert.deepEqual(await readJsonLines(path.join(dir, 'failed'), 'dead-letters'), []);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  } finally {
    await deleteBuckets(bucket);
  }
});
