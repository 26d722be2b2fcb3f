/**
 * object-sink on the local file system (the same code path as S3 and Azure, without services):
 * images archived once by content, records as JSON lines under dt= partitions, a write resolving
 * only once its file is uploaded, options validated, a bad location refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import sharp from 'sharp';
import type { Sink } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { objectSink } from '../../src/sinks/object-sink.js';

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

test('claims the record folder; a malformed location is a config error at start', async () => {
  const o = { uri: 's3://lake/archive/', recordsPrefix: 'predictions' } as unknown as Parameters<NonNullable<typeof objectSink.claims>>[0];
  assert.deepEqual(objectSink.claims?.(o, '/t'), ['output s3://lake/archive/predictions/']);
  await assert.rejects(sink({ uri: 's3://Bad_Bucket/x' }, '/'), (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && /not a valid bucket name/.test(e.message));
  assert.equal(ajv.validate(objectSink.options, { uri: 'x', records: 'parquet' }), false, 'Parquet is not there yet');
  assert.equal(ajv.validate(objectSink.options, { uri: 'x', recordsPrefix: '../escape' }), false);
});
