/**
 * Time from a label to its row in the training set: label events paced on a Kafka topic (JSON,
 * `labelTime` = when produced) through `kafka-source` (`value.content: label`) into
 * `training-set-sink` (a folder lake, embeddings of 1,280 floats stored in Redis beforehand).
 * Reads the `centaur_label_to_training_seconds` histogram of the run for the share of labels whose
 * row was in the lake within each bound, and the rows for the count. Needs Kafka and Redis
 * (`scripts/services/services.sh up kafka redis`).
 * Usage: npm run bench:labels -- [--labels 300] [--rate 30] [--inputs 100]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../src/core/logger.js';
import { feastRow } from '../src/feature-store/feast-redis-layout.js';
import { onlineFeatures } from '../src/feature-store/feature-row.js';
import { FeastOnlineStore } from '../src/feature-store/online-store.js';
import { decodeParquet } from '../src/formats/parquet.js';
import { Runtime } from '../src/runtime/runtime.js';
import { loadTopologyFile } from '../src/topology/load.js';

const { values } = parseArgs({ options: { labels: { type: 'string', default: '300' }, rate: { type: 'string', default: '30' }, inputs: { type: 'string', default: '100' } } });
const labels = Number(values.labels);
const rate = Number(values.rate);
const inputs = Number(values.inputs);
const brokers = (process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const redis = process.env.CENTAUR_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('warn');

const run = randomUUID().slice(0, 8);
const project = `bench_${run}`;
const topic = `bench-labels-${run}`;
const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-labels-'));
const ids = Array.from({ length: inputs }, (_, i) => `cam-${i % 8}/frame-${i}`);

const store = new FeastOnlineStore({ url: redis, timeoutMs: 5000, ttlSeconds: 3600 }, logger, 'bench');
await store.connect();
await store.write(
  ids.map((id) =>
    feastRow(
      { project, featureView: 'image_embeddings', joinKey: 'image_id' },
      id,
      onlineFeatures({ entity: id, eventTime: Date.now(), modelName: 'horse-or-human', modelVersion: '1', embedding: new Float32Array(1280).fill(0.25), predictedLabel: 'horse', confidence: 0.7, probabilities: [0.7, 0.3] }),
      Date.now(),
    ),
  ),
);
await store.close();

const kafka = new Kafka({ clientId: 'bench-labels', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
await admin.disconnect();

const file = path.join(work, 'labels.yaml');
await writeFile(
  file,
  `version: 1
name: bench-labels
nodes:
  labels: { kind: kafka-source, brokers: [${brokers.join(',')}], topics: [${topic}], groupId: bench-${run}, value: { format: json, content: label } }
  train: { kind: training-set-sink, from: [labels], features: { url: '${redis}', project: ${project}, featureView: image_embeddings }, uri: ${path.join(work, 'lake')}, classes: [horse, human] }
  failed: { kind: dead-letter, dir: ${path.join(work, 'failed')} }
`,
);
const runtime = new Runtime(await loadTopologyFile(file), { logger });
const running = runtime.run();
await new Promise((r) => setTimeout(r, 3000)); // the consumer joins its group

const producer = kafka.producer();
await producer.connect();
const annotators = Math.ceil(labels / inputs);
const start = Date.now();
for (let i = 0; i < labels; i++) {
  const due = start + (i * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const inputId = ids[i % inputs] as string;
  const annotator = `ann-${Math.floor(i / inputs) % annotators}`;
  await producer.send({ topic, messages: [{ key: inputId, value: JSON.stringify({ inputId, label: i % 3 === 0 ? 'human' : 'horse', annotator, labelTime: Date.now() }) }] });
}
await producer.disconnect();

/** Rows of the table and the annotations they hold. */
async function table(): Promise<{ rows: number; annotations: number; lagsMs: number[] }> {
  const dir = path.join(work, 'lake', 'training-set');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.parquet'));
  const rows = (await Promise.all(names.map(async (n) => decodeParquet(await readFile(path.join(dir, n)))))).flat();
  return {
    rows: rows.length,
    annotations: rows.reduce((n, r) => n + (r.annotators as string[]).length, 0),
    lagsMs: rows.map((r) => (r.updated_time as number) - (r.label_time as number)),
  };
}
const deadline = Date.now() + 60000;
let last = await table();
while (last.annotations < labels && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 250));
  last = await table();
}
const metrics = (await runtime.metrics.render(false)).body;
runtime.stop();
await running;

const buckets = [...metrics.matchAll(/centaur_label_to_training_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/g)].map((m) => ({ le: m[1] as string, count: Number(m[2]) }));
const total = buckets.find((b) => b.le === '+Inf')?.count ?? 0;
console.log(`${labels} labels at ${rate}/s for ${inputs} inputs: ${last.rows} rows, ${last.annotations} annotations in the lake`);
console.log('label → row in the lake (centaur_label_to_training_seconds):');
for (const b of buckets) console.log(`  ≤ ${b.le.padEnd(5)} s: ${((100 * b.count) / Math.max(1, total)).toFixed(1)} %`);
const lags = last.lagsMs.sort((a, b) => a - b);
const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? Number.NaN;
console.log(`label → join (updated_time − label_time of each row's latest label): p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${lags[lags.length - 1]} ms`);
