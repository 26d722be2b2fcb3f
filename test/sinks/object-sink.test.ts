/**
 * object-sink on the local file system (the same code path as S3 and Azure, without services):
 * images archived once by content, records as JSON lines or Parquet (read back with pyarrow) under
 * dt= partitions, a write resolving only once its file is uploaded, a record that cannot be
 * written refused alone, options validated, a bad location refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import sharp from 'sharp';
import type { Sink, SinkRejection } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { objectSink } from '../../src/sinks/object-sink.js';
import { parseTopology } from '../../src/topology/load.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const logger = createLogger('silent');

async function sink(options: Record<string, unknown>, baseDir: string): Promise<Sink> {
  const filled = structuredClone(options);
  assert.ok(ajv.validate(objectSink.options, filled), JSON.stringify(ajv.errors));
  return objectSink.create(filled, { nodeId: 'lake', topologyName: 't', baseDir, logger });
}

async function jpeg(colour: string): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 12, channels: 3, background: colour } }).jpeg().toBuffer();
}

function predicted(id: string, bytes: Buffer, eventTime: number): Envelope {
  return {
    id,
    eventTime,
    position: { source: 'in', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: { infer: 1.5 },
    image: { width: 16, height: 12, format: 'jpeg', brightness: 0.5, contrast: 0.1, sharpness: 0.01 },
    prediction: { label: 'horse', classIndex: 0, confidence: 0.9, probabilities: [0.9, 0.1] },
    model: { name: 'demo', version: '1', classes: ['horse', 'human'] },
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

test('images archived once by content; records in dt= partitions; a write waits for its file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-sink-'));
  const s = await sink({ uri: 'lake', maxIdleMs: 50 }, dir);
  const red = await jpeg('#c02020');
  const blue = await jpeg('#2020c0');
  const day1 = Date.UTC(2026, 0, 31, 23, 59);
  const day2 = Date.UTC(2026, 1, 1, 0, 1);
  let resolved = false;
  const first = s.write([predicted('a', red, day1), predicted('b', blue, day2), predicted('c', Buffer.from(red), day2)]).then(() => (resolved = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(resolved, false, 'not acknowledged before the record file is uploaded');
  await first;
  await s.write([predicted('d', Buffer.from(blue), day2)]);
  await s.flush(true);
  await s.close();

  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const files = await filesUnder(path.join(dir, 'lake'));
  const images = files.filter((f) => f.startsWith('images/'));
  assert.deepEqual(images, [`images/${sha(red).slice(0, 2)}/${sha(red)}.jpg`, `images/${sha(blue).slice(0, 2)}/${sha(blue)}.jpg`].sort());
  assert.deepEqual(await readFile(path.join(dir, 'lake', `images/${sha(red).slice(0, 2)}/${sha(red)}.jpg`)), red);
  const records = files.filter((f) => f.startsWith('predictions/'));
  assert.deepEqual([...new Set(records.map((f) => path.dirname(f)))], ['predictions/dt=2026-01-31', 'predictions/dt=2026-02-01']);
  assert.ok(records.every((f) => /\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-\d{6}\.jsonl$/.test(f)), records.join());
  const lines = (await Promise.all(records.map((f) => readFile(path.join(dir, 'lake', f), 'utf8')))).flatMap((t) => t.trimEnd().split('\n'));
  const parsed = lines.map((l) => JSON.parse(l) as { id: string; prediction: { label: string }; archive: { uri: string; sha256: string } });
  assert.deepEqual(parsed.map((r) => r.id).sort(), ['a', 'b', 'c', 'd']);
  const c = parsed.find((r) => r.id === 'c');
  assert.equal(c?.archive.sha256, sha(red));
  assert.equal(c?.archive.uri, `${new URL(`file://${path.join(dir, 'lake')}`).href}/images/${sha(red).slice(0, 2)}/${sha(red)}.jpg`);
  assert.equal(c?.prediction.label, 'horse');
});

test('records only, or images only; write-time partitions; maxFileRecords rolls files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-sink-'));
  const recordsOnly = await sink({ uri: path.join(dir, 'r'), images: false, maxFileRecords: 2, partitionBy: 'write-time' }, '/');
  const img = await jpeg('#10a010');
  await recordsOnly.write([predicted('1', img, 0), predicted('2', img, 0)]);
  await recordsOnly.close();
  const today = new Date().toISOString().slice(0, 10);
  assert.deepEqual((await filesUnder(path.join(dir, 'r'))).map((f) => path.dirname(f)), [`predictions/dt=${today}`]);

  const imagesOnly = await sink({ uri: `file://${path.join(dir, 'i')}`, records: 'none', imagesPrefix: 'raw/images' }, '/');
  await imagesOnly.write([predicted('1', img, 0)]);
  await imagesOnly.close();
  const files = await filesUnder(path.join(dir, 'i'));
  assert.equal(files.length, 1);
  assert.match(files[0] ?? '', /^raw\/images\/[0-9a-f]{2}\/[0-9a-f]{64}\.jpg$/);
});

test('claims the record folder; a malformed location is a validation problem at `uri`', () => {
  const o = { uri: 's3://lake/archive/', recordsPrefix: 'predictions' } as unknown as Parameters<NonNullable<typeof objectSink.claims>>[0];
  assert.deepEqual(objectSink.claims?.(o, '/t'), ['output s3://lake/archive/predictions/']);
  const bad = { uri: 's3://Bad_Bucket/x' };
  assert.ok(ajv.validate(objectSink.options, bad));
  const problems = objectSink.validate?.(bad, { nodeId: 'n', baseDir: '/' }) ?? [];
  assert.deepEqual(problems.map((p) => p.path), [['uri']]);
  assert.match(problems[0]?.message ?? '', /^cannot use s3:\/\/Bad_Bucket\/x: `Bad_Bucket` is not a valid bucket name/);
  const good = { uri: 'lake' };
  assert.ok(ajv.validate(objectSink.options, good));
  assert.deepEqual(objectSink.validate?.(good, { nodeId: 'n', baseDir: '/' }), []);
  assert.equal(ajv.validate(objectSink.options, { uri: 'x', records: 'avro' }), false);
  assert.equal(ajv.validate(objectSink.options, { uri: 'x', records: 'parquet', parquetCompression: 'lz4' }), false);
  assert.equal(ajv.validate(objectSink.options, { uri: 'x', recordsPrefix: '../escape' }), false);
});

test('Parquet records: the documented columns under dt= partitions, read back by pyarrow', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-sink-'));
  const s = await sink({ uri: 'lake', records: 'parquet', includeEmbedding: true, maxIdleMs: 50 }, dir);
  const red = await jpeg('#c02020');
  const day1 = Date.UTC(2026, 0, 31, 23, 59, 1, 250);
  const day2 = Date.UTC(2026, 1, 1, 0, 1);
  const a = { ...predicted('a', red, day1), key: 'k-ü', label: 'horse', embedding: new Float32Array([0.125, -2, 3.5]), metadata: { uri: 's3://in/a.jpg', note: '日本' } };
  const b: Envelope = { ...predicted('b', red, day2), position: { source: 'in', partition: '3', offset: 2 ** 40, uri: 'file:///b.jpg' } };
  delete b.prediction;
  delete b.image;
  await s.write([a, b]);
  await s.close();

  const files = (await filesUnder(path.join(dir, 'lake'))).filter((f) => f.startsWith('predictions/'));
  assert.equal(files.length, 2);
  assert.ok(files.every((f) => /^predictions\/dt=2026-0(1-31|2-01)\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-\d{6}\.parquet$/.test(f)), files.join());
  if (!(await requirePytools(t))) return;
  const out = await runPython(
    `
import json, sys
import pyarrow.dataset as ds
table = ds.dataset(sys.argv[1], format='parquet', partitioning='hive').to_table()
rows = sorted(table.to_pylist(), key=lambda r: r['id'])
for r in rows:
    r['event_time'] = r['event_time'].isoformat()
    r['dt'] = str(r['dt'])
print(json.dumps({'schema': {f.name: str(f.type) for f in table.schema}, 'rows': rows, 'pandas': str(table.to_pandas()['event_time'].dtype)}))
`,
    [path.join(dir, 'lake', 'predictions')],
  );
  const got = JSON.parse(out) as { schema: Record<string, string>; rows: Record<string, unknown>[]; pandas: string };
  assert.deepEqual(got.schema, {
    id: 'string',
    key: 'string',
    event_time: 'timestamp[ms, tz=UTC]',
    source_node: 'string',
    source_partition: 'string',
    source_offset: 'int64',
    source_uri: 'string',
    label: 'string',
    predicted_label: 'string',
    class_index: 'int32',
    confidence: 'double',
    cached: 'bool',
    probabilities: 'string',
    model_name: 'string',
    model_version: 'string',
    image_width: 'int32',
    image_height: 'int32',
    image_format: 'string',
    embedding: 'list<item: float>',
    archive_uri: 'string',
    archive_sha256: 'string',
    metadata: 'string',
    dt: 'string',
  });
  assert.equal(got.pandas, 'datetime64[ms, UTC]');
  const sha = createHash('sha256').update(red).digest('hex');
  const archiveUri = `${new URL(`file://${path.join(dir, 'lake')}`).href}/images/${sha.slice(0, 2)}/${sha}.jpg`;
  assert.deepEqual(got.rows, [
    {
      id: 'a',
      key: 'k-ü',
      event_time: '2026-01-31T23:59:01.250000+00:00',
      source_node: 'in',
      source_partition: '0',
      source_offset: 0,
      source_uri: null,
      label: 'horse',
      predicted_label: 'horse',
      class_index: 0,
      confidence: 0.9,
      cached: false,
      probabilities: '{"horse":0.9,"human":0.1}',
      model_name: 'demo',
      model_version: '1',
      image_width: 16,
      image_height: 12,
      image_format: 'jpeg',
      embedding: [0.125, -2, 3.5],
      archive_uri: archiveUri,
      archive_sha256: sha,
      metadata: '{"uri":"s3://in/a.jpg","note":"日本"}',
      dt: '2026-01-31',
    },
    {
      id: 'b',
      key: null,
      event_time: '2026-02-01T00:01:00+00:00',
      source_node: 'in',
      source_partition: '3',
      source_offset: 2 ** 40,
      source_uri: 'file:///b.jpg',
      label: null,
      predicted_label: null,
      class_index: null,
      confidence: null,
      cached: null,
      probabilities: null,
      model_name: 'demo',
      model_version: '1',
      image_width: null,
      image_height: null,
      image_format: null,
      embedding: null,
      archive_uri: archiveUri,
      archive_sha256: sha,
      metadata: '{}',
      dt: '2026-02-01',
    },
  ]);
});

test('a record that cannot be written is refused alone; the others of its write are stored', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-sink-'));
  const s = await sink({ uri: 'lake', records: 'parquet', images: false, maxIdleMs: 20 }, dir);
  const img = await jpeg('#808080');
  const bad = predicted('bad', img, 0);
  bad.prediction = { label: 'horse', classIndex: 0.5, confidence: 0.9, probabilities: [0.9, 0.1] };
  const rejected: readonly SinkRejection[] = (await s.write([predicted('good', img, 0), bad])) ?? [];
  await s.close();
  assert.deepEqual(rejected.map((r) => r.envelope.id), ['bad']);
  assert.equal(rejected[0]?.error.code, 'OUTPUT_ENCODE_FAILED');
  assert.match(rejected[0]?.error.message ?? '', /`class_index`/);
  assert.equal((await filesUnder(path.join(dir, 'lake'))).length, 1);
});

test('at the end of a finite input the run uploads open files at once, even with no idle or age limit', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-sink-end-'));
  const images = path.join(dir, 'images');
  await mkdir(images);
  for (const [i, colour] of ['#c02020', '#20c020', '#2020c0'].entries()) await writeFile(path.join(images, `img-${i}.jpg`), await jpeg(colour));
  // Files roll only at 1000 records: without the flush at the end of the input, the run would wait for ever.
  const yaml = `version: 1
name: end
nodes:
  images: { kind: files-source, path: images }
  lake: { kind: object-sink, from: [images], uri: lake, maxFileRecords: 1000, maxIdleMs: 0, maxFileAgeMs: 0 }
`;
  const summary = await new Runtime(parseTopology(yaml, path.join(dir, 'topology.yaml'), { env: {} }), { logger }).run();
  assert.equal(summary.inputs, 3);
  assert.equal(summary.completed, 3);
  const records = (await filesUnder(path.join(dir, 'lake'))).filter((f) => f.endsWith('.jsonl'));
  assert.equal(records.length, 1, 'one record file');
  assert.equal((await readFile(path.join(dir, 'lake', records[0] as string), 'utf8')).trim().split('\n').length, 3);
});
