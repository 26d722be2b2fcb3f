/**
 * tfrecord-sink on the local file system (the same code path as S3 and Azure, without services):
 * the features of each record (encoded bytes or scaled tensor with its shape, true or predicted
 * label with its index, model version), a write waiting for its file, files rolling by records,
 * inputs spread over shards by id, gzip, envelopes without the needed payload refused as
 * PAYLOAD_MISSING, and options validated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import protobuf from 'protobufjs';
import sharp from 'sharp';
import type { Sink, SinkRejection } from '../../src/core/component.js';
import type { Envelope, ImageTensor } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { readRecords } from '../../src/formats/tfrecord.js';
import { shardOf, tfrecordSink } from '../../src/sinks/tfrecord-sink.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const logger = createLogger('silent');
const Example = protobuf.loadSync(path.resolve('src/formats/example.proto')).lookupType('tensorflow.Example');

async function sink(options: Record<string, unknown>, baseDir: string): Promise<Sink> {
  const filled = structuredClone(options);
  assert.ok(ajv.validate(tfrecordSink.options, filled), JSON.stringify(ajv.errors));
  return tfrecordSink.create(filled, { nodeId: 'cache', topologyName: 't', baseDir, logger });
}

async function jpeg(colour: string): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 12, channels: 3, background: colour } }).jpeg().toBuffer();
}

function envelope(id: string, bytes: Buffer, extra: Partial<Envelope> = {}): Envelope {
  return {
    id,
    eventTime: 0,
    position: { source: 'in', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    ...extra,
  };
}

const predicted = (label: string, classIndex: number): Partial<Envelope> => ({
  image: { width: 16, height: 12, format: 'jpeg', brightness: 0.5, contrast: 0.1, sharpness: 0.01 },
  prediction: { label, classIndex, confidence: 0.9, probabilities: classIndex === 0 ? [0.9, 0.1] : [0.1, 0.9] },
  model: { name: 'demo', version: '7', classes: ['horse', 'human'] },
});

interface Record_ {
  file: string;
  features: Record<string, { bytesList?: { value: Buffer[] }; floatList?: { value: number[] }; int64List?: { value: number[] } }>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** Every record of every file under `dir`, CRCs checked, decoded with TensorFlow's message definitions. */
async function recordsUnder(dir: string): Promise<Record_[]> {
  const out: Record_[] = [];
  for (const file of await filesUnder(dir)) {
    let body = await readFile(path.join(dir, file));
    if (file.endsWith('.gz')) body = gunzipSync(body);
    for (const data of readRecords(body)) {
      const plain = Example.toObject(Example.decode(data), { longs: Number, bytes: Buffer, arrays: true }) as { features: { feature: Record_['features'] } };
      out.push({ file, features: plain.features.feature });
    }
  }
  return out;
}

const text = (r: Record_, name: string): string | undefined => r.features[name]?.bytesList?.value[0]?.toString('utf8');
const ints = (r: Record_, name: string): number[] | undefined => r.features[name]?.int64List?.value;

test('encoded payload: image bytes with format, size, id, true or predicted label and model version; a write waits for its file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-sink-'));
  const s = await sink({ uri: 'cache', maxIdleMs: 50 }, dir);
  const red = await jpeg('#c02020');
  const blue = await jpeg('#2020c0');
  let resolved = false;
  const first = s
    .write([
      envelope('horses/a.jpg', red, { ...predicted('human', 1), label: 'horse' }),
      envelope('b.jpg', blue, predicted('human', 1)),
      envelope('c.jpg', red, { label: 'zebra', ...predicted('horse', 0) }),
      envelope('raw.jpg', blue),
    ])
    .then((r) => {
      resolved = true;
      return r;
    });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(resolved, false, 'not acknowledged before the file is uploaded');
  assert.deepEqual(await first, []);
  await s.close();

  const files = await filesUnder(path.join(dir, 'cache'));
  assert.equal(files.length, 1);
  assert.match(files[0] as string, /^tfrecords\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-00000-000001\.tfrecord$/);
  const records = await recordsUnder(path.join(dir, 'cache'));
  assert.deepEqual(records.map((r) => text(r, 'image/id')), ['horses/a.jpg', 'b.jpg', 'c.jpg', 'raw.jpg']);
  const [a, b, c, raw] = records as [Record_, Record_, Record_, Record_];
  assert.deepEqual(a.features['image/encoded']?.bytesList?.value, [red]);
  assert.deepEqual(b.features['image/encoded']?.bytesList?.value, [blue]);
  assert.equal(text(a, 'image/format'), 'jpeg');
  assert.deepEqual([ints(a, 'image/height'), ints(a, 'image/width')], [[12], [16]]);
  assert.deepEqual([text(a, 'label'), text(a, 'label/source'), ints(a, 'label/index')], ['horse', 'true', [0]], 'the true label wins, indexed by the model’s classes');
  assert.deepEqual([text(b, 'label'), text(b, 'label/source'), ints(b, 'label/index')], ['human', 'predicted', [1]]);
  assert.deepEqual([text(c, 'label'), text(c, 'label/source'), ints(c, 'label/index')], ['zebra', 'true', undefined], 'a label outside the classes has no index');
  assert.equal(text(a, 'model/version'), '7');
  assert.equal(text(raw, 'image/format'), 'jpeg', 'the format is read from the bytes without decode-image');
  for (const name of ['label', 'label/source', 'label/index', 'model/version', 'image/height', 'image/tensor']) assert.equal(raw.features[name], undefined, `no ${name} without it`);
});

test('tensor payload: float32 values scaled as the model sees them, with the HWC shape; `classes` indexes true labels', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-sink-'));
  const s = await sink({ uri: `file://${path.join(dir, 'out')}`, payload: 'tensor', prefix: 'train/v1', classes: ['horse', 'human'], maxIdleMs: 20 }, dir);
  const data = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 15) % 256);
  const tensor = (scale: ImageTensor['scale']): ImageTensor => ({ data, width: 3, height: 2, channels: 3, scale });
  const red = await jpeg('#c02020');
  const rejections = (await s.write([
    envelope('unit', red, { tensor: tensor('unit'), label: 'human' }),
    envelope('symmetric', red, { tensor: tensor('symmetric'), label: 'horse' }),
    envelope('no-tensor', red, predicted('horse', 0)),
  ])) ?? [];
  await s.close();

  assert.equal(rejections.length, 1);
  const [rejection] = rejections as [SinkRejection];
  assert.equal(rejection.envelope.id, 'no-tensor');
  assert.equal(rejection.error.code, 'PAYLOAD_MISSING');
  assert.equal(rejection.error.category, 'data');
  assert.match(rejection.error.message, /decode-image/);

  const records = await recordsUnder(path.join(dir, 'out'));
  assert.ok(records.every((r) => r.file.startsWith('train/v1/part-')));
  const [unit, symmetric] = records as [Record_, Record_];
  assert.equal(records.length, 2);
  assert.deepEqual(ints(unit, 'image/shape'), [2, 3, 3]);
  assert.deepEqual([ints(unit, 'image/height'), ints(unit, 'image/width')], [[2], [3]]);
  assert.deepEqual(unit.features['image/tensor']?.floatList?.value, [...data].map((v) => Math.fround(v / 255)));
  assert.deepEqual(symmetric.features['image/tensor']?.floatList?.value, [...data].map((v) => Math.fround(v / 127.5 - 1)));
  assert.equal(unit.features['image/encoded'], undefined);
  assert.equal(text(unit, 'image/format'), 'jpeg');
  assert.deepEqual([text(unit, 'label'), text(unit, 'label/source'), ints(unit, 'label/index')], ['human', 'true', [1]]);
  assert.deepEqual(ints(symmetric, 'label/index'), [0]);
});

test('encoded payload: a reference instead of bytes is refused as PAYLOAD_MISSING, naming it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-sink-'));
  const s = await sink({ uri: 'cache', maxIdleMs: 20 }, dir);
  const ref = { ...envelope('ref', Buffer.alloc(0)), payload: { kind: 'reference', uri: 's3://b/k.jpg' } } as Envelope;
  const rejections = (await s.write([ref])) ?? [];
  await s.close();
  assert.equal(rejections.length, 1);
  assert.equal(rejections[0]?.error.code, 'PAYLOAD_MISSING');
  assert.match(rejections[0]?.error.message ?? '', /s3:\/\/b\/k\.jpg.*fetch-object/);
  assert.deepEqual(await filesUnder(dir), [], 'no empty file is written');
});

test('shards: each input goes to shard FNV-1a(id) mod shards; each shard rolls its own files at maxFileRecords; gzip', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-sink-'));
  const s = await sink({ uri: 'cache', shards: 3, maxFileRecords: 2, compression: 'gzip', maxIdleMs: 50 }, dir);
  const red = await jpeg('#c02020');
  const ids = Array.from({ length: 15 }, (_, i) => `img-${i}.jpg`);
  await Promise.all([s.write(ids.slice(0, 8).map((id) => envelope(id, red))), s.write(ids.slice(8).map((id) => envelope(id, red)))]);
  await s.close();

  const records = await recordsUnder(path.join(dir, 'cache'));
  assert.deepEqual(records.map((r) => text(r, 'image/id')).sort(), [...ids].sort(), 'every input written once');
  const perShard = new Map<number, number>();
  for (const r of records) {
    const m = /part-.*-(\d{5})-(\d{6})\.tfrecord\.gz$/.exec(r.file);
    assert.ok(m !== null, r.file);
    const shard = Number(m[1]);
    assert.equal(shard, shardOf(text(r, 'image/id') as string, 3), `${text(r, 'image/id')} in its shard`);
    perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
  }
  assert.equal(perShard.size, 3, 'these ids reach every shard');
  const files = await filesUnder(path.join(dir, 'cache'));
  for (const [shard, n] of perShard) {
    const shardFiles = files.filter((f) => f.includes(`-${String(shard).padStart(5, '0')}-`));
    assert.equal(shardFiles.length, Math.ceil(n / 2), `shard ${shard}: ${n} records in files of at most 2`);
  }
  for (const f of files) assert.deepEqual((await readFile(path.join(dir, 'cache', f))).subarray(0, 2), Buffer.from([0x1f, 0x8b]), `${f} is gzip`);
});

test('shardOf: stable and spread over the shards', () => {
  assert.equal(shardOf('x', 1), 0);
  assert.equal(shardOf('horses/horse-0001.jpg', 8), shardOf('horses/horse-0001.jpg', 8));
  const counts = new Array<number>(4).fill(0);
  for (let i = 0; i < 400; i += 1) counts[shardOf(`img-${i}`, 4)] = (counts[shardOf(`img-${i}`, 4)] as number) + 1;
  assert.ok(counts.every((n) => n > 60), `400 ids over 4 shards: ${counts.join(', ')}`);
});

test('options: defaults filled, unknown fields, bad shards, prefix and payload refused; the output folder is claimed', () => {
  const filled: Record<string, unknown> = { uri: 's3://bucket/cache' };
  assert.ok(ajv.validate(tfrecordSink.options, filled));
  assert.equal(filled.payload, 'encoded');
  assert.equal(filled.shards, 1);
  assert.equal(filled.prefix, 'tfrecords');
  assert.equal(filled.compression, 'none');
  for (const bad of [{ shards: 0 }, { shards: 1000 }, { prefix: '../up' }, { payload: 'pixels' }, { compression: 'zstd' }, { maxFileRecords: 0 }, { classes: [] }, { nope: 1 }]) {
    assert.equal(ajv.validate(tfrecordSink.options, { uri: 'x', ...bad }), false, JSON.stringify(bad));
  }
  assert.deepEqual(tfrecordSink.claims?.({ ...filled, uri: 'out/' }, '/data/topologies'), ['output file:///data/topologies/out/tfrecords/']);
});

test('a uri no store serves is a validation problem at `uri`, reported before the start', () => {
  const bad = { uri: 'ftp://host/x' };
  assert.ok(ajv.validate(tfrecordSink.options, bad));
  assert.deepEqual(
    (tfrecordSink.validate?.(bad, { nodeId: 'n', baseDir: tmpdir() }) ?? []).map((p) => [p.path, p.message]),
    [[['uri'], 'cannot use ftp://host/x: unsupported scheme `ftp://`; the object stores are file://, s3:// and azure://']],
  );
});
