/**
 * tfrecord-sink in whole topologies (files-source → decode-image → infer → tfrecord-sink), read
 * back by an independent reader: the Python `tfrecord` package (which does not check CRCs, so the
 * script also checks both masked CRC-32Cs of every record with the `crc32c` package). The encoded
 * records hold exactly the input files' bytes; the tensor records hold [224, 224, 3] float32
 * values equal to what Centaur's decode-image produces; a tensor sink placed after `infer`
 * dead-letters its inputs with PAYLOAD_MISSING. One run writes gzipped shards to S3 (S3Proxy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import type { Envelope, Item } from '../../src/core/envelope.js';
import { isBatch } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { GeneratedImage } from '../../src/demo/generate-images.js';
import { decodeImage, DecodeImageOptions } from '../../src/operators/decode-image.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { shardOf } from '../../src/sinks/tfrecord-sink.js';
import { parseTopology } from '../../src/topology/load.js';
import { createBuckets, deleteBuckets, getS3, listS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

const MODEL = path.resolve('models/demo');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** Flat indices of the tensor values compared one by one (the hash compares all of them). */
const SAMPLES = [0, 1, 2, 1000, 75_263, 100_000, 150_527];

/** What the Python reader reports for each record. */
interface ReadRecord {
  file: string;
  id: string;
  format: string;
  height: number;
  width: number;
  label: string | null;
  labelSource: string | null;
  labelIndex: number | null;
  modelVersion: string | null;
  encodedSha256: string | null;
  shape: number[] | null;
  tensorSha256: string | null;
  samples: number[] | null;
}

/**
 * Reads every TFRecord file under a folder: first the raw framing, checking both masked CRC-32Cs of
 * every record with the `crc32c` package and each feature's kind against `description` (with the
 * package's own `tf.train.Example` classes), then the records through `tfrecord`'s example_loader.
 */
const READER = String.raw`
import gzip, hashlib, json, os, struct, sys
import numpy as np
import crc32c
from tfrecord import example_pb2
from tfrecord.reader import example_loader

root, description, samples = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])

def masked(data):
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

KINDS = {'byte': 'bytes_list', 'float': 'float_list', 'int': 'int64_list'}

def text(r, key):
    return r[key].decode('utf-8') if key in r else None

out = []
for folder, _, names in sorted(os.walk(root)):
    for name in sorted(names):
        path = os.path.join(folder, name)
        gz = name.endswith('.gz')
        raw = gzip.open(path, 'rb').read() if gz else open(path, 'rb').read()
        offset, count = 0, 0
        while offset < len(raw):
            (length,) = struct.unpack('<Q', raw[offset:offset + 8])
            assert struct.unpack('<I', raw[offset + 8:offset + 12])[0] == masked(raw[offset:offset + 8]), f'{path}: record {count}: length CRC'
            data = raw[offset + 12:offset + 12 + length]
            assert len(data) == length, f'{path}: record {count}: truncated'
            assert struct.unpack('<I', raw[offset + 12 + length:offset + 16 + length])[0] == masked(data), f'{path}: record {count}: data CRC'
            example = example_pb2.Example.FromString(bytes(data))
            for key, value in example.features.feature.items():
                assert key in description, f'{path}: record {count}: unexpected feature {key}'
                assert value.WhichOneof('kind') == KINDS[description[key]], f'{path}: record {count}: {key} is a {value.WhichOneof("kind")}'
            offset += 16 + length
            count += 1
        records = list(example_loader(path, None, None, compression_type='gzip' if gz else None))
        assert len(records) == count, f'{path}: {len(records)} examples, {count} framed records'
        for r in records:
            record = {
                'file': os.path.relpath(path, root),
                'id': text(r, 'image/id'),
                'format': text(r, 'image/format'),
                'height': int(r['image/height'][0]),
                'width': int(r['image/width'][0]),
                'label': text(r, 'label'),
                'labelSource': text(r, 'label/source'),
                'labelIndex': int(r['label/index'][0]) if 'label/index' in r else None,
                'modelVersion': text(r, 'model/version'),
                'encodedSha256': hashlib.sha256(r['image/encoded']).hexdigest() if 'image/encoded' in r else None,
                'shape': [int(v) for v in r['image/shape']] if 'image/shape' in r else None,
                'tensorSha256': None,
                'samples': None,
            }
            if 'image/tensor' in r:
                values = r['image/tensor']
                assert values.dtype == np.float32
                record['tensorSha256'] = hashlib.sha256(values.astype('<f4').tobytes()).hexdigest()
                record['samples'] = [float(values[i]) for i in samples]
            out.append(record)
print(json.dumps(out))
`;

const ENCODED_TYPES = {
  'image/encoded': 'byte',
  'image/format': 'byte',
  'image/height': 'int',
  'image/width': 'int',
  'image/id': 'byte',
  label: 'byte',
  'label/source': 'byte',
  'label/index': 'int',
  'model/version': 'byte',
};
const TENSOR_TYPES = { ...ENCODED_TYPES, 'image/tensor': 'float', 'image/shape': 'int' };

/** The shard number in a file name `part-<run>-<shard>-<seq>.tfrecord[.gz]`. */
function shardFile(file: string): number {
  return Number(/-(\d{5})-\d{6}\.tfrecord(\.gz)?$/.exec(file)?.[1]);
}

async function readBack(folder: string, types: Record<string, string>): Promise<ReadRecord[]> {
  return JSON.parse(await runPython(READER, [folder, JSON.stringify(types), JSON.stringify(SAMPLES)])) as ReadRecord[];
}

/** The float32 tensor Centaur's decode-image produces for `bytes` with the topology's options (scale `unit`: v / 255). */
async function centaurTensor(bytes: Buffer): Promise<Float32Array> {
  const o = Value.Default(DecodeImageOptions, { size: [224, 224], fit: 'fill', scale: 'unit' }) as DecodeImageOptions;
  const operator = await decodeImage.create(o, { nodeId: 'decode', topologyName: 't', baseDir: '.', logger: createLogger('silent') });
  const input: Envelope = {
    id: 'x',
    eventTime: 0,
    position: { source: 'files', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
  const items: Item[] = await lastValueFrom(operator.apply(from([input]), { nodeId: 'decode', fail: (_, e) => assert.fail(String(e)), scheduler: asyncScheduler }).pipe(toArray()));
  const [out] = items;
  assert.ok(out !== undefined && !isBatch(out) && out.tensor !== undefined);
  return Float32Array.from(out.tensor.data, (v) => Math.fround(v / 255));
}

/** Generated demo images in `<dir>/images/<class>s/`, with their bytes and ids (paths relative to the images folder). */
async function images(dir: string, count: number, seed: number): Promise<{ image: GeneratedImage; id: string; bytes: Buffer }[]> {
  const made = await generateImages({ outDir: path.join(dir, 'images'), count, seed, width: 160, height: 120 });
  return Promise.all(made.map(async (image) => ({ image, id: path.relative(path.join(dir, 'images'), image.path), bytes: await readFile(image.path) })));
}

test('topology: files → decode → infer → tfrecord-sink (encoded) and decode → tfrecord-sink (tensor), read back by Python', async (t) => {
  if (!(await requirePytools(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-'));
  const inputs = await images(dir, 6, 5151);
  const yaml = `version: 1
name: tfrecord-local
limits: { maxInFlight: 64, commitIntervalMs: 50 }
nodes:
  images: { kind: files-source, path: images, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }
  encoded: { kind: tfrecord-sink, from: [infer], uri: cache, prefix: encoded, shards: 2, maxIdleMs: 100 }
  tensors: { kind: tfrecord-sink, from: [decode], uri: cache, prefix: tensors, payload: tensor, classes: [horse, human], maxFileRecords: 4, maxIdleMs: 100 }
  dead-letters: { kind: dead-letter, dir: dlq }
`;
  const topology = parseTopology(yaml, path.join(dir, 'tfrecord.yaml'), { env: process.env });
  const summary = await new Runtime(topology, { logger: createLogger('silent') }).run();
  assert.equal(summary.inputs, inputs.length);
  assert.equal(summary.predictions, inputs.length);
  assert.equal(summary.deadLetters, 0);
  assert.equal(summary.unfinished, 0);

  const byId = new Map(inputs.map((i) => [i.id, i]));
  const encoded = await readBack(path.join(dir, 'cache', 'encoded'), ENCODED_TYPES);
  assert.deepEqual(encoded.map((r) => r.id).sort(), [...byId.keys()].sort(), 'one encoded record per input');
  assert.ok(encoded.every((r) => /^part-\d{8}T\d{6}Z-[0-9a-f]{6}-0000[01]-\d{6}\.tfrecord$/.test(r.file)), encoded.map((r) => r.file).join());
  for (const r of encoded) {
    const input = byId.get(r.id)!;
    assert.equal(r.encodedSha256, sha256(input.bytes), `${r.id}: the input file's bytes`);
    assert.equal(shardFile(r.file), shardOf(r.id, 2), `${r.id} in its shard`);
    assert.deepEqual([r.format, r.height, r.width], ['jpeg', 120, 160]);
    assert.deepEqual([r.label, r.labelSource, r.labelIndex], [input.image.label, 'true', ['horse', 'human'].indexOf(input.image.label)]);
    assert.equal(r.modelVersion, '1');
    assert.equal(r.tensorSha256, null);
  }

  const tensors = await readBack(path.join(dir, 'cache', 'tensors'), TENSOR_TYPES);
  assert.deepEqual(tensors.map((r) => r.id).sort(), [...byId.keys()].sort(), 'one tensor record per input');
  const perFile = new Map<string, number>();
  for (const r of tensors) perFile.set(r.file, (perFile.get(r.file) ?? 0) + 1);
  assert.ok(perFile.size >= 2 && [...perFile.values()].every((n) => n <= 4), `6 records in files of at most 4: ${[...perFile.values()].join(', ')}`);
  for (const r of tensors) {
    const input = byId.get(r.id)!;
    const expected = await centaurTensor(input.bytes);
    assert.deepEqual(r.shape, [224, 224, 3]);
    assert.deepEqual([r.height, r.width, r.format], [224, 224, 'jpeg']);
    assert.deepEqual(r.samples, SAMPLES.map((i) => expected[i]), `${r.id}: sampled values`);
    assert.equal(r.tensorSha256, sha256(new Uint8Array(expected.buffer)), `${r.id}: every value equals Centaur's decode`);
    assert.deepEqual([r.label, r.labelSource, r.labelIndex], [input.image.label, 'true', ['horse', 'human'].indexOf(input.image.label)]);
    assert.equal(r.modelVersion, null, 'decoded, not yet predicted');
    assert.equal(r.encodedSha256, null);
  }
});

test('topology: a tensor sink after infer (which drops the tensor) dead-letters its inputs with PAYLOAD_MISSING', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-late-'));
  const inputs = await images(dir, 2, 7373);
  const yaml = `version: 1
name: tfrecord-late
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images] }
  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }
  late: { kind: tfrecord-sink, from: [infer], uri: cache, payload: tensor, maxIdleMs: 100 }
  dead-letters: { kind: dead-letter, dir: dlq }
`;
  const summary = await new Runtime(parseTopology(yaml, path.join(dir, 'late.yaml'), { env: process.env }), { logger: createLogger('silent') }).run();
  assert.equal(summary.deadLetters, inputs.length);
  assert.equal(summary.unfinished, 0);
  const letters = (await Promise.all((await readdir(path.join(dir, 'dlq'))).map((f) => readFile(path.join(dir, 'dlq', f), 'utf8'))))
    .flatMap((s) => s.trimEnd().split('\n'))
    .map((line) => JSON.parse(line) as { id: string; node: string; error: { code: string; message: string } });
  assert.deepEqual(letters.map((l) => l.id).sort(), inputs.map((i) => i.id).sort());
  for (const letter of letters) {
    assert.equal(letter.node, 'late');
    assert.equal(letter.error.code, 'PAYLOAD_MISSING');
    assert.match(letter.error.message, /decode-image/);
  }
});

test('topology: gzipped shards to S3, predicted labels, read back by Python', async (t) => {
  if (!(await requirePytools(t))) return;
  if (!(await requireObjectStores(t))) return;
  const bucket = uniqueBucket('tfrecord');
  await createBuckets(bucket);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tfrecord-s3-'));
  try {
    const inputs = await images(dir, 5, 6262);
    const yaml = `version: 1
name: tfrecord-s3
limits: { maxInFlight: 64, commitIntervalMs: 50 }
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  infer: { kind: infer, from: [decode], model: { path: ${MODEL} } }
  cache:
    kind: tfrecord-sink
    from: [infer]
    uri: s3://${bucket}/training
    shards: 3
    compression: gzip
    maxIdleMs: 100
    s3:
      endpoint: \${CENTAUR_S3_ENDPOINT}
      forcePathStyle: true
  dead-letters: { kind: dead-letter, dir: dlq }
`;
    const topology = parseTopology(yaml, path.join(dir, 'tfrecord.yaml'), { env: { ...process.env, CENTAUR_S3_ENDPOINT: S3_ENDPOINT } });
    const summary = await new Runtime(topology, { logger: createLogger('silent') }).run();
    assert.equal(summary.predictions, inputs.length);
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.unfinished, 0);

    const keys = await listS3(bucket, 'training/tfrecords/');
    assert.ok(keys.length >= 1, 'files uploaded');
    assert.ok(keys.every((k) => /^training\/tfrecords\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-0000[0-2]-\d{6}\.tfrecord\.gz$/.test(k)), keys.join());
    const local = path.join(dir, 'downloaded');
    await mkdir(local);
    for (const key of keys) await writeFile(path.join(local, path.posix.basename(key)), await getS3(bucket, key));
    const records = await readBack(local, ENCODED_TYPES);
    const byId = new Map(inputs.map((i) => [i.id, i]));
    assert.deepEqual(records.map((r) => r.id).sort(), [...byId.keys()].sort());
    for (const r of records) {
      assert.equal(r.encodedSha256, sha256(byId.get(r.id)!.bytes), `${r.id}: the input file's bytes`);
      assert.equal(shardFile(r.file), shardOf(r.id, 3), `${r.id} in its shard`);
      assert.equal(r.labelSource, 'predicted', 'no true label: the prediction');
      assert.ok(r.label === 'horse' || r.label === 'human');
      assert.equal(r.labelIndex, ['horse', 'human'].indexOf(r.label));
      assert.equal(r.modelVersion, '1');
    }
  } finally {
    await deleteBuckets(bucket);
  }
});
