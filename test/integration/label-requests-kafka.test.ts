/**
 * Label requests on Kafka: generated images, a third of them dogs (a class the demo model never
 * saw), through `infer` → `select-for-labelling` (archiving each pick's bytes in an S3 lake) →
 * `kafka-sink` (`record: label-request`, Avro with the real schema registry). An independent
 * consumer reads exactly the budget's requests, each decodable with the committed schema and equal
 * to the registry's decoding, naming the input, its archived image (the same bytes, in the real
 * S3-compatible store), the prediction with every class's probability, and why it was picked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import avro from 'avsc';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { avroSchema, BROKERS, consumeUntil, createTopics, REGISTRY_URL, registry, requireServices, unique } from '../helpers/kafka.js';
import { createBuckets, deleteBuckets, listS3, requireObjectStores, s3, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';

const MODEL = path.resolve('models/demo');

interface LabelRequest {
  id: string;
  node: string;
  inputId: string;
  imageUri: string | null;
  model: { name: string; version: string };
  predicted: string;
  probabilities: { label: string; probability: number }[];
  uncertainty: number;
  method: string;
  strategy: string;
  window: number;
}

test('select-for-labelling → kafka-sink (record: label-request, Avro): the budget\'s requests, readable with the committed schema', async (t) => {
  if (!(await requireServices(t)) || !(await requireObjectStores(t))) return;
  const bucket = uniqueBucket('labelling');
  await createBuckets(bucket);
  t.after(() => deleteBuckets(bucket));
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-label-requests-'));
  await generateImages({ outDir: path.join(dir, 'images'), count: 150, seed: 777, width: 96, height: 72, classes: ['horse', 'human', 'dog'] });
  const topic = unique('label-requests');
  await createTopics([topic], 1);
  const name = unique('label-requests');
  const file = path.join(dir, 'select.yaml');
  await writeFile(
    file,
    `version: 1
name: ${name}
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  select:
    kind: select-for-labelling
    from: [infer]
    window: { size: 50 }
    budget: { perWindow: 5 }
    explorationShare: 0.2
    archive: { uri: s3://${bucket}/lake, s3: { endpoint: ${JSON.stringify(S3_ENDPOINT)}, forcePathStyle: true } }
  requests:
    kind: kafka-sink
    from: [select]
    brokers: [${BROKERS}]
    topic: ${topic}
    record: label-request
    key: id
    schemaRegistry: { url: ${JSON.stringify(REGISTRY_URL)} }
`,
  );
  const summary = await new Runtime(await loadTopologyFile(file), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') }).run();
  assert.equal(summary.completed, 150);
  assert.equal(summary.deadLetters, 0);
  const messages = await consumeUntil(topic, (m) => m.length >= 15, { timeoutMs: 30_000, quietMs: 1500 });
  assert.equal(messages.length, 15, '5 per window of 50, 3 windows');
  const committed = avro.Type.forSchema(JSON.parse(await avroSchema('label-request')) as avro.Schema);
  const requests = await Promise.all(
    messages.map(async (m) => {
      const value = m.value as Buffer;
      assert.equal(value[0], 0, 'Confluent framing');
      const decoded = committed.fromBuffer(value.subarray(5)) as LabelRequest;
      assert.deepEqual(JSON.parse(JSON.stringify(await registry.decode(value))), JSON.parse(JSON.stringify(decoded)));
      return decoded;
    }),
  );
  assert.equal(new Set(requests.map((r) => r.inputId)).size, 15, 'no input requested twice');
  for (const r of requests) {
    assert.equal(r.id, `${name}/select/${r.inputId}`);
    assert.equal(r.node, 'select');
    assert.equal(r.model.name, 'horse-or-human');
    assert.deepEqual(r.probabilities.map((p) => p.label), ['horse', 'human']);
    assert.match(r.imageUri ?? '', new RegExp(`^s3://${bucket}/lake/labelling/[0-9a-f]{2}/[0-9a-f]{64}\\.jpg$`), 'the archived image is named');
    assert.ok(r.uncertainty >= 0 && r.uncertainty <= 1 && r.method === 'margin');
    assert.ok(['uncertainty', 'diversity', 'exploration'].includes(r.strategy));
  }
  assert.ok(requests.some((r) => r.strategy === 'exploration'), 'a share is drawn at random');
  // The archive holds the picks' very bytes, content-addressed, read back with the AWS SDK.
  assert.equal((await listS3(bucket, 'lake/labelling/')).length, 15);
  const sample = requests[0]!;
  const key = sample.imageUri!.slice(`s3://${bucket}/`.length);
  const stored = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  assert.equal(createHash('sha256').update(stored).digest('hex'), key.split('/').pop()!.slice(0, 64));
});
