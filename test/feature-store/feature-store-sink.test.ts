/**
 * feature-store-sink without services: options validated (one store at least), the offline store
 * on the local file system (the same code path as S3 and Azure) writing one row per input into
 * `dt=` partitions of Parquet files, a write resolving only once its file is in the store, and
 * inputs that make no row refused as data errors while the rest are written. The rows are read
 * back with parquet-wasm and apache-arrow; the integration suite reads them with pyarrow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { Sink } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { featureStoreSink } from '../../src/sinks/feature-store-sink.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const logger = createLogger('silent');

function valid(options: Record<string, unknown>): boolean {
  return ajv.validate(featureStoreSink.options, structuredClone(options));
}

/** What the spec's `validate` says of the options (after the schema's defaults), as `path: message`. */
function problems(options: Record<string, unknown>, baseDir = tmpdir()): string[] {
  const filled = structuredClone(options);
  assert.ok(ajv.validate(featureStoreSink.options, filled), JSON.stringify(ajv.errors));
  return (featureStoreSink.validate?.(filled, { nodeId: 'n', baseDir }) ?? []).map((p) => `${p.path.join('.')}: ${p.message}`);
}

async function sink(options: Record<string, unknown>, baseDir: string): Promise<Sink> {
  const filled = structuredClone(options);
  assert.ok(ajv.validate(featureStoreSink.options, filled), JSON.stringify(ajv.errors));
  return featureStoreSink.create(filled, { nodeId: 'features', topologyName: 't', baseDir, logger });
}

function predicted(id: string, eventTime: number, extra: Partial<Envelope> = {}): Envelope {
  return {
    id,
    eventTime,
    position: { source: 'in', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    label: 'horse',
    prediction: { label: 'human', classIndex: 1, confidence: 0.625, probabilities: [0.375, 0.625] },
    model: { name: 'demo', version: '7' },
    embedding: new Float32Array([0.5, -0.25, 1e-3]),
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    ...extra,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

async function readRows(file: string): Promise<Record<string, unknown>[]> {
  const table = tableFromIPC(readParquet(await readFile(file)).intoIPCStream());
  return table.toArray().map((row: { toJSON(): Record<string, unknown> }) => row.toJSON());
}

test('options: Feast names checked, one store at least', async () => {
  assert.ok(valid({ online: { url: 'redis://127.0.0.1:6379', project: 'p1', featureView: 'image_features' } }));
  assert.ok(valid({ offline: { uri: 'lake' } }));
  assert.ok(!valid({ online: { url: 'redis://x', project: 'has-dash', featureView: 'v' } }), 'a Feast project has no dashes');
  assert.ok(!valid({ online: { url: 'redis://x', project: 'p', featureView: 'v', keyFrom: 'offset' } }));
  assert.ok(!valid({ offline: { uri: 'lake', prefix: '../up' } }));
  assert.ok(!valid({ online: { url: 'redis://x', project: 'p', featureView: 'v', extra: 1 } }));
  assert.deepEqual(problems({}), [': `feature-store-sink` needs `online`, `offline` or both']);
  assert.deepEqual(problems({ offline: { uri: 'lake' } }), []);
});

test('offline: one row per input in dt= partitions of Parquet files, a write resolving once its file is stored', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-feature-sink-'));
  const s = await sink({ offline: { uri: 'lake', maxFileRecords: 2, maxIdleMs: 0, maxFileAgeMs: 0 } }, dir);
  const day1 = Date.UTC(2026, 0, 31, 23, 59, 0, 250);
  const day2 = Date.UTC(2026, 1, 1, 0, 0, 1);
  try {
    // Two rows of day 1 fill a file: the write resolves with the file stored.
    assert.deepEqual(await s.write([predicted('a.png', day1), predicted('b.png', day1, { label: undefined })]), []);
    const first = await filesUnder(path.join(dir, 'lake'));
    assert.equal(first.length, 1);
    assert.match(first[0] as string, /^features\/dt=2026-01-31\/part-[0-9TZ]+-[0-9a-f]{6}-000001\.parquet$/);

    // One row of day 2 waits in its open file until the flush.
    let done = false;
    const pending = s.write([predicted('c.png', day2)]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'not acknowledged before its file is stored');
    await s.flush(false);
    await pending;
    const files = await filesUnder(path.join(dir, 'lake'));
    assert.equal(files.length, 2);
    assert.match(files[1] as string, /^features\/dt=2026-02-01\//);

    const rows = await readRows(path.join(dir, 'lake', files[0] as string));
    assert.deepEqual(
      rows.map((r) => [r.image_id, r.event_timestamp, r.model_name, r.model_version, r.predicted_label, r.confidence, r.true_label]),
      [
        ['a.png', day1, 'demo', '7', 'human', 0.625, 'horse'],
        ['b.png', day1, 'demo', '7', 'human', 0.625, null],
      ],
    );
    assert.deepEqual(Array.from(rows[0]?.embedding as Iterable<number>), Array.from(new Float32Array([0.5, -0.25, 1e-3])));
    assert.equal(typeof rows[0]?.created_timestamp, 'number');
  } finally {
    await s.close();
  }
});

test('offline: the entity column and value follow `entity` and `keyFrom`; inputs that make no row are refused', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-feature-sink-'));
  const s = await sink({ offline: { uri: 'lake', entity: 'photo_id', keyFrom: 'key', maxIdleMs: 20 } }, dir);
  try {
    const t = Date.UTC(2026, 2, 3);
    // The file rolls once idle for 20 ms.
    const rejections = (await s.write([predicted('no-key.png', t), predicted('x.png', t, { key: 'k-x' }), predicted('no-prediction.png', t, { key: 'k-p', prediction: undefined })])) ?? [];
    assert.deepEqual(
      rejections.map((r) => [r.envelope.id, r.error.code, r.error.retriable]),
      [
        ['no-key.png', 'FEATURE_ROW_INVALID', false],
        ['no-prediction.png', 'FEATURE_ROW_INVALID', false],
      ],
    );
    const files = await filesUnder(path.join(dir, 'lake'));
    assert.equal(files.length, 1);
    const rows = await readRows(path.join(dir, 'lake', files[0] as string));
    assert.deepEqual(rows.map((r) => r.photo_id), ['k-x']);
    assert.equal('image_id' in (rows[0] ?? {}), false);
  } finally {
    await s.close();
  }
});

test('offline: a lake URI no store serves is refused by validation, before the start', () => {
  assert.deepEqual(problems({ offline: { uri: 'ftp://example.com/lake' } }), [
    'offline.uri: cannot use ftp://example.com/lake/features: unsupported scheme `ftp://`; the object stores are file://, s3:// and azure://',
  ]);
  assert.match(problems({ offline: { uri: 's3://Bad_Bucket/lake' } })[0] ?? '', /^offline\.uri: .*`Bad_Bucket` is not a valid bucket name/);
});
