/**
 * Kafka in and out against the real broker and schema registry: camera frames (Avro, JPEG bytes)
 * and upload events (Avro, file:// references) go in; predictions come out on a topic and are
 * read back by an independent consumer with the registry; poison messages land in the Kafka
 * dead-letter topic; inputs = predictions + dead letters; committed offsets reach the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { avroSchema, BROKERS, CLIENTS, committedOffsets, consumeUntil, createTopics, produce, registerSchema, registry, REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';
import type { OutMessage } from '../helpers/kafka.js';

const MODEL = path.resolve('models/demo');

async function images(count: number): Promise<{ file: string; label: string }[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kafka-'));
  await generateImages({ outDir: dir, count, seed: 7_000_003, width: 160, height: 120, quality: 85 });
  const out: { file: string; label: string }[] = [];
  for (const folder of ['horses', 'humans']) {
    for (const name of (await readdir(path.join(dir, folder))).sort()) out.push({ file: path.join(dir, folder, name), label: folder === 'horses' ? 'horse' : 'human' });
  }
  return out;
}

function topology(t: { frames: string; uploads: string; predictions: string; dlq: string; group: string }, client: string): string {
  return `version: 1
name: kafka-round-trip
limits: { commitIntervalMs: 100 }
nodes:
  cameras:
    kind: kafka-source
    brokers: [${BROKERS}]
    client: ${client}
    topics: [${t.frames}]
    groupId: ${t.group}
    schemaRegistry: { url: ${REGISTRY_URL} }
  uploads:
    kind: kafka-source
    brokers: [${BROKERS}]
    client: ${client}
    topics: [${t.uploads}]
    groupId: ${t.group}-uploads
    schemaRegistry: { url: ${REGISTRY_URL} }
  fetch: { kind: fetch-object, from: [uploads], fileBase: ${JSON.stringify(tmpdir())} }
  decode: { kind: decode-image, from: [cameras, fetch], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  out:
    kind: kafka-sink
    from: [infer]
    brokers: [${BROKERS}]
    client: ${client}
    topic: ${t.predictions}
    schemaRegistry: { url: ${REGISTRY_URL} }
  dlq:
    kind: kafka-dead-letter
    brokers: [${BROKERS}]
    client: ${client}
    topic: ${t.dlq}
    schemaRegistry: { url: ${REGISTRY_URL} }
`;
}

for (const client of CLIENTS) test(`${client}: frames and upload events in, one prediction per input out; poison messages in the DLQ; offsets committed`, async (t) => {
  if (!(await requireServices(t))) return;
  const topics = { frames: unique('frames'), uploads: unique('uploads'), predictions: unique('predictions'), dlq: unique('dlq'), group: unique('group') };
  await createTopics([topics.frames], 4);
  await createTopics([topics.uploads, topics.predictions, topics.dlq], 2);

  const frameSchema = await avroSchema('camera-frame');
  const uploadSchema = await avroSchema('image-upload');
  const frameId = await registerSchema(`${topics.frames}-value`, frameSchema);
  const uploadId = await registerSchema(`${topics.uploads}-value`, uploadSchema);

  const all = await images(40);
  const frames = all.slice(0, 24);
  const uploads = all.slice(24);
  const frameMessages: OutMessage[] = [];
  for (const [i, img] of frames.entries()) {
    const record = { cameraId: `cam-${i % 4}`, frameId: `frame-${i}`, captureTime: 1_700_000_000_000 + i, image: await readFile(img.file), contentType: 'image/jpeg', metadata: { site: 'paddock' } };
    frameMessages.push({ key: record.cameraId, value: await registry.encode(frameId, record), headers: { label: img.label, 'trace-id': `trace-${i}` } });
  }
  // Poison: a bad magic byte, an unknown schema id, a truncated Avro body, and a frame whose image is not an image.
  const good = frameMessages[0]?.value as Buffer;
  const unknownId = Buffer.from(good);
  unknownId.writeInt32BE(987_654_321, 1);
  const notAnImage = await registry.encode(frameId, { cameraId: 'cam-0', frameId: 'bad-image', captureTime: 1, image: Buffer.from('definitely not a jpeg'), contentType: null, metadata: {} });
  const poison: OutMessage[] = [
    { key: 'cam-0', value: Buffer.concat([Buffer.from([7]), good.subarray(1)]) },
    { key: 'cam-1', value: unknownId },
    { key: 'cam-2', value: good.subarray(0, 40) },
    { key: 'cam-3', value: notAnImage },
  ];
  await produce(topics.frames, [...frameMessages.slice(0, 12), ...poison, ...frameMessages.slice(12)]);

  const uploadMessages: OutMessage[] = [];
  for (const [i, img] of uploads.entries()) {
    const record = { uploadId: `upload-${i}`, uri: pathToFileURL(img.file).href, uploader: 'tests', uploadTime: 1_700_000_100_000 + i, contentType: 'image/jpeg', sizeBytes: null, metadata: {} };
    uploadMessages.push({ key: record.uploadId, value: await registry.encode(uploadId, record), headers: { label: img.label } });
  }
  const missing = { uploadId: 'upload-missing', uri: pathToFileURL(path.join(tmpdir(), 'centaur-nonexistent', 'image.jpg')).href, uploader: 'tests', uploadTime: 1, contentType: null, sizeBytes: null, metadata: {} };
  uploadMessages.push({ key: missing.uploadId, value: await registry.encode(uploadId, missing) });
  // An event naming a file outside `fileBase` is refused, never read.
  const outside = { ...missing, uploadId: 'upload-outside', uri: 'file:///etc/passwd' };
  uploadMessages.push({ key: outside.uploadId, value: await registry.encode(uploadId, outside) });
  await produce(topics.uploads, uploadMessages);

  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kafka-topology-'));
  await writeFile(path.join(dir, 'topology.yaml'), topology(topics, client));
  const runtime = new Runtime(parseTopology(topology(topics, client), path.join(dir, 'topology.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
  const running = runtime.run();

  const expectedPredictions = frames.length + uploads.length;
  const predictions = await consumeUntil(topics.predictions, (m) => m.length >= expectedPredictions, { timeoutMs: 90000, quietMs: 500 });
  const dead = await consumeUntil(topics.dlq, (m) => m.length >= 6, { timeoutMs: 30000 });
  // Let the last commits go out, then drain.
  await new Promise((resolve) => setTimeout(resolve, 500));
  runtime.stop();
  const summary = await running;

  assert.equal(predictions.length, expectedPredictions, 'one prediction per good input');
  assert.equal(dead.length, 6, 'four poison frames, one missing object, one refused URI');
  assert.equal(summary.inputs, frameMessages.length + poison.length + uploadMessages.length);
  assert.equal(summary.inputs, summary.predictions + summary.deadLetters);

  const decoded = await Promise.all(predictions.map(async (m) => ({ key: m.key, headers: m.headers, record: (await registry.decode(m.value as Buffer)) as Record<string, unknown> })));
  const ids = new Set(decoded.map((d) => d.record.id));
  for (let i = 0; i < frames.length; i += 1) assert.ok(ids.has(`frame-${i}`), `prediction for frame-${i}`);
  for (let i = 0; i < uploads.length; i += 1) assert.ok(ids.has(`upload-${i}`), `prediction for upload-${i}`);
  const frame3 = decoded.find((d) => d.record.id === 'frame-3');
  assert.ok(frame3 !== undefined);
  assert.equal(frame3.key, 'cam-3', 'keyed by camera id');
  assert.equal(frame3.headers['trace-id'], 'trace-3');
  assert.equal(frame3.headers['model-name'], 'horse-or-human');
  const r = frame3.record;
  assert.equal(r.eventTime, 1_700_000_000_003);
  assert.equal(r.traceId, 'trace-3');
  assert.equal(r.groundTruth, frames[3]?.label);
  assert.equal((r.source as Record<string, unknown>).topic, topics.frames);
  assert.equal((r.model as Record<string, unknown>).name, 'horse-or-human');
  const probabilities = r.probabilities as { label: string; probability: number }[];
  assert.deepEqual(probabilities.map((p) => p.label), ['horse', 'human']);
  assert.ok(Math.abs(probabilities.reduce((s, p) => s + p.probability, 0) - 1) < 1e-5);
  assert.equal(r.label, probabilities[r.classIndex as number]?.label);
  assert.equal(r.score, probabilities[r.classIndex as number]?.probability);
  const correct = decoded.filter((d) => d.record.label === d.record.groundTruth).length;
  assert.ok(correct / decoded.length > 0.9, `accuracy ${correct}/${decoded.length}`);

  const letters = await Promise.all(dead.map(async (m) => (await registry.decode(m.value as Buffer)) as Record<string, unknown>));
  const codes = letters.map((l) => (l.error as { code: string }).code).sort();
  assert.deepEqual(codes, ['AVRO_DECODE_FAILED', 'IMAGE_FORMAT_REFUSED', 'KAFKA_VALUE_INVALID', 'OBJECT_FETCH_FAILED', 'OBJECT_URI_REFUSED', 'SCHEMA_NOT_FOUND']);
  const badMagic = letters.find((l) => (l.error as { code: string }).code === 'KAFKA_VALUE_INVALID');
  assert.ok(badMagic !== undefined);
  assert.deepEqual(badMagic.payload, poison[0]?.value, 'the original bytes, byte for byte');
  assert.equal((badMagic.source as Record<string, unknown>).topic, topics.frames);
  assert.equal(badMagic.node, 'cameras');
  const missingLetter = letters.find((l) => (l.error as { code: string }).code === 'OBJECT_FETCH_FAILED');
  assert.equal(missingLetter?.node, 'fetch');
  assert.equal(missingLetter?.uri, missing.uri, 'the reference that could not be fetched');
  const refusedLetter = letters.find((l) => (l.error as { code: string }).code === 'OBJECT_URI_REFUSED');
  assert.equal(refusedLetter?.uri, outside.uri);
  assert.match((refusedLetter?.error as { message: string }).message, /outside fileBase/);

  // Every partition's committed offset is its end: nothing left to read again.
  const committed = await committedOffsets(topics.group, topics.frames);
  const perPartition = new Map<number, number>();
  for (const m of await consumeUntil(topics.frames, (x) => x.length >= frameMessages.length + poison.length, { timeoutMs: 20000 })) {
    perPartition.set(m.partition, Math.max(perPartition.get(m.partition) ?? -1, Number(m.offset)));
  }
  for (const [partition, last] of perPartition) assert.equal(committed.get(partition), last + 1, `partition ${partition} committed through its end`);
});
