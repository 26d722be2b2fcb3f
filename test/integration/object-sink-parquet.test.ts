/**
 * The Parquet data lake end to end against a real S3 server (S3Proxy from
 * scripts/services/services.sh): a topology classifies labelled images and `object-sink` writes
 * their predictions as Parquet files under `dt=` partitions in S3; the files are downloaded and
 * read by pyarrow, an independent reader: one row per prediction with the documented columns,
 * the 1280-float embedding, UTC timestamps, the archived images' URIs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { allComponents } from '../../src/topology/registry.js';
import { createBuckets, deleteBuckets, getS3, listS3, requireObjectStores, s3, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

interface LakeRow {
  id: string;
  event_time: string;
  dt: string;
  source_node: string;
  source_uri: string;
  label: string;
  predicted_label: string;
  class_index: number;
  confidence: number;
  cached: boolean;
  probabilities: string;
  model_name: string;
  model_version: string;
  image_width: number;
  image_height: number;
  image_format: string;
  embedding: number[];
  archive_uri: string;
  archive_sha256: string;
  metadata: string;
}

test('topology: images → decode → micro-batch → infer → object-sink Parquet in S3, read back by pyarrow', async (t) => {
  if (!(await requireObjectStores(t))) return;
  if (!(await requirePytools(t))) return;
  const bucket = uniqueBucket('parquet');
  await createBuckets(bucket);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-parquet-lake-'));
  try {
    const images = await generateImages({ outDir: path.join(dir, 'images'), count: 3, seed: 777, width: 96, height: 72 });
    const yaml = `version: 1
name: ${uniqueBucket('parquet-lake')}
limits: { maxInFlight: 32, commitIntervalMs: 50 }
nodes:
  images: { kind: files-source, path: ${path.join(dir, 'images')}, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 4, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${path.resolve('models/demo')} } }
  lake:
    kind: object-sink
    from: [infer]
    uri: s3://${bucket}/lake
    records: parquet
    includeEmbedding: true
    maxFileRecords: 4
    maxIdleMs: 100
    s3:
      endpoint: \${CENTAUR_S3_ENDPOINT}
      forcePathStyle: true
  dead-letters: { kind: dead-letter, dir: ${path.join(dir, 'dlq')} }
`;
    const env = { ...process.env, CENTAUR_S3_ENDPOINT: S3_ENDPOINT };
    const topology = parseTopology(yaml, path.join(dir, 'lake.yaml'), { env, components: allComponents });
    const summary = await new Runtime(topology, { logger: createLogger('silent') }).run();
    assert.equal(summary.inputs, images.length);
    assert.equal(summary.predictions, images.length);
    assert.equal(summary.deadLetters, 0);
    assert.equal(summary.unfinished, 0);

    const keys = await listS3(bucket, 'lake/predictions/');
    assert.ok(keys.length >= Math.ceil(images.length / 4), `maxFileRecords 4 rolled ${keys.length} files`);
    assert.ok(keys.every((k) => /^lake\/predictions\/dt=\d{4}-\d{2}-\d{2}\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-\d{6}\.parquet$/.test(k)), keys.join('\n'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys[0] }));
    assert.equal(head.ContentType, 'application/vnd.apache.parquet');

    // Download the lake's record files as they are laid out in S3, and let pyarrow read the folder as a hive-partitioned dataset.
    const local = path.join(dir, 'download');
    for (const key of keys) {
      const target = path.join(local, ...key.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await getS3(bucket, key));
    }
    const out = await runPython(
      `
import json, sys
import pyarrow.dataset as ds
import pyarrow.parquet as pq
files = sys.argv[2:]
table = ds.dataset(sys.argv[1], format='parquet', partitioning='hive').to_table()
rows = table.to_pylist()
for r in rows:
    r['event_time'] = r['event_time'].isoformat()
print(json.dumps({
  'schema': {f.name: str(f.type) for f in table.schema},
  'rows': rows,
  'rowsPerFile': [pq.ParquetFile(f).metadata.num_rows for f in files],
  'compression': sorted({pq.ParquetFile(f).metadata.row_group(0).column(0).compression for f in files}),
}))
`,
      [path.join(local, 'lake', 'predictions'), ...keys.map((k) => path.join(local, ...k.split('/')))],
    );
    const got = JSON.parse(out) as { schema: Record<string, string>; rows: LakeRow[]; rowsPerFile: number[]; compression: string[] };
    assert.equal(got.schema.event_time, 'timestamp[ms, tz=UTC]');
    assert.equal(got.schema.embedding, 'list<item: float>');
    assert.equal(got.schema.source_offset, 'int64');
    assert.deepEqual(got.compression, ['ZSTD']);
    assert.ok(got.rowsPerFile.every((n) => n >= 1 && n <= 4), `rows per file: ${got.rowsPerFile.join()}`);
    assert.equal(got.rows.length, images.length, 'one row per prediction');

    const archived = await listS3(bucket, 'lake/images/');
    const byPath = new Map(images.map((i) => [i.path, i]));
    for (const row of got.rows) {
      assert.equal(row.event_time.slice(0, 10), row.dt, 'partitioned by event date');
      assert.equal(row.source_node, 'images');
      const image = byPath.get(new URL(row.source_uri).pathname);
      assert.ok(image !== undefined, `${row.source_uri} is one of the inputs`);
      assert.equal(row.label, image.label);
      assert.ok(['horse', 'human'].includes(row.predicted_label));
      assert.equal(row.class_index, ['horse', 'human'].indexOf(row.predicted_label));
      assert.equal(row.cached, false);
      const probabilities = JSON.parse(row.probabilities) as Record<string, number>;
      assert.deepEqual(Object.keys(probabilities).sort(), ['horse', 'human']);
      assert.ok(Math.abs((probabilities.horse ?? 0) + (probabilities.human ?? 0) - 1) < 1e-4);
      assert.equal(probabilities[row.predicted_label], row.confidence);
      assert.equal(row.model_name, 'horse-or-human');
      assert.equal(row.model_version, '1');
      assert.deepEqual([row.image_width, row.image_height, row.image_format], [96, 72, 'jpeg']);
      assert.equal(row.embedding.length, 1280);
      assert.ok(row.embedding.every(Number.isFinite) && row.embedding.some((v) => v !== 0));
      assert.equal(row.archive_uri, `s3://${bucket}/lake/images/${row.archive_sha256.slice(0, 2)}/${row.archive_sha256}.jpg`);
      assert.ok(archived.includes(row.archive_uri.slice(`s3://${bucket}/`.length)), `${row.archive_uri} is archived`);
      assert.equal(typeof JSON.parse(row.metadata), 'object');
    }
  } finally {
    await deleteBuckets(bucket);
  }
});
