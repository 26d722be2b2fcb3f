/**
 * The CLI with Kafka: `publish-images` sends a folder's images as frames that a Kafka topology
 * reads (labels included), frames of camera size in requests under the broker's limit, frames over
 * it by claim check (stored in S3, referenced by an ImageUpload, read back through fetch-object),
 * and a topology naming a topic that does not exist is a config error (exit 2) that says which topic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { CliIo } from '../../src/cli/main.js';
import { BROKERS, consumeUntil, createTopics, registry, REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';
import { createBuckets, deleteBuckets, getS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) };
  return { code: await main(argv, io), out, err };
}

test('publish-images sends every image with its label, as raw bytes or as Avro camera frames', async (t) => {
  if (!(await requireServices(t))) return;
  const bytesTopic = unique('publish-bytes');
  const avroTopic = unique('publish-avro');
  await createTopics([bytesTopic, avroTopic], 2);
  const r1 = await cli('publish-images', 'data/quickstart', '--topic', bytesTopic, '--format', 'bytes', '--brokers', BROKERS, '--cameras', '3');
  assert.equal(r1.code, 0, r1.err);
  assert.match(r1.out, /published 200 images/);
  const raw = await consumeUntil(bytesTopic, (m) => m.length >= 200, { timeoutMs: 30000 });
  assert.equal(raw.length, 200);
  const horse = raw.find((m) => m.headers.id === path.join('horses', 'horse-000000.jpg'));
  assert.equal(horse?.headers.label, 'horse');
  assert.deepEqual(new Set(raw.map((m) => m.key)), new Set(['cam-0', 'cam-1', 'cam-2']));
  assert.equal(horse?.value?.subarray(0, 2).toString('hex'), 'ffd8', 'the JPEG itself');

  const r2 = await cli('publish-images', 'data/quickstart/humans', '--topic', avroTopic, '--brokers', BROKERS, '--registry', REGISTRY_URL);
  assert.equal(r2.code, 0, r2.err);
  const frames = await consumeUntil(avroTopic, (m) => m.length >= 100, { timeoutMs: 30000 });
  const record = (await registry.decode(frames[0]?.value as Buffer)) as { cameraId: string; image: Buffer };
  assert.match(record.cameraId, /^cam-\d$/);
  assert.equal(record.image.subarray(0, 2).toString('hex'), 'ffd8');
});

test('publish-images: camera-sized frames go out in requests under the limit; a frame over it stops the command, saying what was sent', async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-publish-large-'));
  // 60 frames of 1280×960 (≈ 90 KB each: 5 MB in all, five times the broker's 1 MB limit).
  await generateImages({ outDir: path.join(dir, 'frames'), count: 60, seed: 3, width: 1280, height: 960, quality: 90 });
  const topic = unique('publish-large');
  await createTopics([topic], 1);
  const r = await cli('publish-images', path.join(dir, 'frames'), '--topic', topic, '--format', 'bytes', '--brokers', BROKERS);
  assert.equal(r.code, 0, r.err);
  const got = await consumeUntil(topic, (m) => m.length >= 60, { timeoutMs: 30000 });
  assert.equal(got.length, 60);
  assert.ok(got.reduce((sum, m) => sum + (m.value?.length ?? 0), 0) > 1_100_000, 'more than one request\'s worth');

  // Three small frames, then one over the limit: three sent, then the reason.
  await generateImages({ outDir: path.join(dir, 'mixed', 'a'), count: 3, seed: 4, width: 96, height: 72 });
  await generateImages({ outDir: path.join(dir, 'mixed', 'b'), count: 1, seed: 5, width: 1280, height: 960, quality: 95 });
  const small = unique('publish-over');
  await createTopics([small], 1);
  const over = await cli('publish-images', path.join(dir, 'mixed'), '--topic', small, '--format', 'bytes', '--brokers', BROKERS, '--max-request-bytes', '40000');
  assert.equal(over.code, 2);
  assert.match(over.err, /3 of 4 frames were sent before this: b\/.*horse-000000\.jpg makes a message of \d+ bytes, over the limit of 40000/);
  assert.equal((await consumeUntil(small, (m) => m.length >= 3, { timeoutMs: 15000, quietMs: 500 })).length, 3);
});

test('create-topics creates the missing topics only; a sink whose topic is missing is a config error (exit 2)', async (t) => {
  if (!(await requireServices(t))) return;
  const existing = unique('exists');
  const fresh = unique('fresh');
  await createTopics([existing], 1);
  const r = await cli('create-topics', existing, fresh, '--partitions', '3', '--brokers', BROKERS);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), `created ${fresh}`);
  assert.equal((await cli('create-topics', fresh, '--brokers', BROKERS)).out.trim(), 'every topic exists already');
  assert.equal((await cli('create-topics', 'x', '--partitions', 'zero')).code, 2);

  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kafka-cli-'));
  const missing = unique('missing-out');
  const file = path.join(dir, 'missing-sink.yaml');
  await writeFile(file, `version: 1
name: missing-sink
nodes:
  in: { kind: kafka-source, brokers: [${BROKERS}], topics: [${fresh}], groupId: ${unique('g')}, value: { format: bytes } }
  out: { kind: kafka-sink, from: [in], brokers: [${BROKERS}], topic: ${missing}, record: input }
`);
  const run = await cli('run', file, '--log-level', 'silent', '--http', '127.0.0.1:0');
  assert.equal(run.code, 2);
  assert.match(run.err, new RegExp(`topic ${missing} not found`));
});

test('run: a topic that does not exist is a config error naming it (exit 2)', async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kafka-cli-'));
  const topic = unique('missing');
  const file = path.join(dir, 'missing.yaml');
  await writeFile(file, `version: 1
name: missing
nodes:
  in: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topic}], groupId: ${unique('g')}, value: { format: bytes } }
  out: { kind: files-sink, from: [in], dir: out }
`);
  const r = await cli('run', file, '--log-level', 'silent', '--http', '127.0.0.1:0');
  assert.equal(r.code, 2);
  assert.match(r.err, new RegExp(`${topic} not found`));
});

test('publish-images --claim-check: a frame over the limit goes to the lake (S3) and an ImageUpload reference to the uploads topic; a topology reading both predicts every frame', { timeout: 180_000 }, async (t) => {
  if (!(await requireServices(t)) || !(await requireObjectStores(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-claim-check-'));
  await generateImages({ outDir: path.join(dir, 'frames', 'a'), count: 3, seed: 6, width: 96, height: 72 });
  await generateImages({ outDir: path.join(dir, 'frames', 'b'), count: 1, seed: 7, width: 1280, height: 960, quality: 95 });
  const frames = unique('claim-frames');
  const uploads = unique('claim-uploads');
  const predictions = unique('claim-predictions');
  await createTopics([frames, uploads, predictions], 1);
  const bucket = uniqueBucket('claim');
  await createBuckets(bucket);
  t.after(() => deleteBuckets(bucket));

  const r = await cli(
    'publish-images', path.join(dir, 'frames'), '--topic', frames, '--brokers', BROKERS, '--registry', REGISTRY_URL,
    '--max-request-bytes', '40000', '--claim-check', `s3://${bucket}/frames`, '--uploads-topic', uploads, '--s3-endpoint', S3_ENDPOINT,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`published 3 images to ${frames}, 1 by reference to ${uploads} \\(stored under s3://${bucket}/frames\\)`));
  // The reference, read with the registry's own client: an ImageUpload naming the stored object.
  const [message] = await consumeUntil(uploads, (m) => m.length >= 1, { timeoutMs: 15000 });
  const upload = (await registry.decode(message?.value as Buffer)) as { uploadId: string; uri: string; sizeBytes: number; contentType: string; metadata: Record<string, string> };
  const big = await readFile(path.join(dir, 'frames', 'b', 'horses', 'horse-000000.jpg'));
  assert.equal(upload.sizeBytes, big.length);
  assert.equal(upload.contentType, 'image/jpeg');
  assert.equal(upload.metadata.label, 'horse');
  assert.equal(message?.key, path.join('b', 'horses', 'horse-000000.jpg'), 'keyed by the upload id');
  assert.equal(upload.uploadId, message?.key);
  assert.match(upload.metadata.cameraId ?? '', /^cam-\d$/);
  const sha = createHash('sha256').update(big).digest('hex');
  assert.equal(upload.uri, `s3://${bucket}/frames/${sha.slice(0, 2)}/${sha}.jpg`);
  assert.ok((await getS3(bucket, `frames/${sha.slice(0, 2)}/${sha}.jpg`)).equals(big), 'the lake holds the frame byte for byte');

  // The consumer side of the pattern (topologies/kafka-cameras.yaml's shape): frames inline, uploads fetched.
  const file = path.join(dir, 'cameras.yaml');
  await writeFile(file, `version: 1
name: ${unique('claim')}
nodes:
  frames: { kind: kafka-source, brokers: [${BROKERS}], topics: [${frames}], groupId: ${unique('g')}, schemaRegistry: { url: ${REGISTRY_URL} }, stopAtEnd: true }
  uploads: { kind: kafka-source, brokers: [${BROKERS}], topics: [${uploads}], groupId: ${unique('g')}, schemaRegistry: { url: ${REGISTRY_URL} }, stopAtEnd: true }
  fetch: { kind: fetch-object, from: [uploads], allow: ["s3://${bucket}/frames/"], s3: { endpoint: ${S3_ENDPOINT}, forcePathStyle: true } }
  decode: { kind: decode-image, from: [frames, fetch], size: [224, 224] }
  infer: { kind: infer, from: [decode], model: { path: ${JSON.stringify(path.resolve('models/demo'))} } }
  out: { kind: kafka-sink, from: [infer], brokers: [${BROKERS}], topic: ${predictions}, value: { format: json } }
`);
  const run = await cli('run', file, '--log-level', 'warn', '--no-http');
  assert.equal(run.code, 0, run.err);
  const predicted = await consumeUntil(predictions, (m) => m.length >= 4, { timeoutMs: 30000 });
  const ids = predicted.map((m) => (JSON.parse(m.value?.toString('utf8') ?? '{}') as { id: string }).id).sort();
  assert.equal(ids.length, 4);
  assert.ok(ids.includes(path.join('b', 'horses', 'horse-000000.jpg')), `the big frame was predicted from the lake: ${ids.join(', ')}`);
});
