/**
 * The Parquet encoder, read back by an independent reader (pyarrow): column names, Arrow types,
 * values (nulls, unicode, an embedding list, timestamps as UTC milliseconds), compression and row
 * groups; and values of the wrong type refused with a typed error naming the column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CentaurError } from '../../src/core/errors.js';
import { checkParquetRow, encodeParquet, estimateParquetRowBytes } from '../../src/formats/parquet.js';
import type { ParquetColumn } from '../../src/formats/parquet.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

const columns: ParquetColumn[] = [
  { name: 'id', type: 'string' },
  { name: 'label', type: 'string', nullable: true },
  { name: 'class_index', type: 'int32', nullable: true },
  { name: 'offset', type: 'int64', nullable: true },
  { name: 'confidence', type: 'float32', nullable: true },
  { name: 'score', type: 'float64' },
  { name: 'cached', type: 'boolean', nullable: true },
  { name: 'event_time', type: 'timestamp-ms' },
  { name: 'embedding', type: 'float32-list', nullable: true },
  { name: 'bytes', type: 'binary', nullable: true },
];

const t1 = Date.UTC(2026, 0, 31, 23, 59, 58, 123);
const rows = [
  {
    id: 'a',
    label: 'caballo 🐎 — ñ',
    class_index: 7,
    offset: 2n ** 40n + 1n,
    confidence: 0.75,
    score: 1 / 3,
    cached: true,
    event_time: t1,
    embedding: new Float32Array([0.5, -1.25, 3]),
    bytes: Buffer.from([0, 255, 7]),
  },
  { id: '北京', label: null, class_index: undefined, offset: null, confidence: null, score: -0, cached: null, event_time: new Date(0), embedding: null, bytes: null },
  { id: '', label: '', class_index: -2147483648, offset: -9, confidence: 0, score: 1e300, cached: false, event_time: t1 + 1, embedding: [], bytes: new Uint8Array(0) },
];

/** Writes the file to a temp dir and returns what pyarrow reads of it, as JSON. */
async function readBack(file: Uint8Array): Promise<{
  schema: Record<string, string>;
  nullable: Record<string, boolean>;
  rows: Record<string, unknown>[];
  rowGroups: number;
  compression: string[];
  pandas: Record<string, string>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-parquet-'));
  const target = path.join(dir, 'file.parquet');
  await writeFile(target, file);
  const out = await runPython(
    `
import json, sys, base64
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
meta = pq.ParquetFile(sys.argv[1]).metadata
def plain(v):
    if isinstance(v, bytes): return 'b64:' + base64.b64encode(v).decode()
    if hasattr(v, 'isoformat'): return v.isoformat()
    return v
print(json.dumps({
  'schema': {f.name: str(f.type) for f in t.schema},
  'nullable': {f.name: f.nullable for f in t.schema},
  'rows': [{k: plain(v) for k, v in r.items()} for r in t.to_pylist()],
  'rowGroups': meta.num_row_groups,
  'compression': sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)}),
  'pandas': {k: str(v) for k, v in t.to_pandas().dtypes.items()},
}))
`,
    [target],
  );
  return JSON.parse(out) as Awaited<ReturnType<typeof readBack>>;
}

test('pyarrow reads back the column names, types and values written, nulls included', async (t) => {
  if (!(await requirePytools(t))) return;
  const got = await readBack(await encodeParquet(columns, rows));
  assert.deepEqual(got.schema, {
    id: 'string',
    label: 'string',
    class_index: 'int32',
    offset: 'int64',
    confidence: 'float',
    score: 'double',
    cached: 'bool',
    event_time: 'timestamp[ms, tz=UTC]',
    embedding: 'list<item: float>',
    bytes: 'binary',
  });
  assert.deepEqual(got.nullable, Object.fromEntries(columns.map((c) => [c.name, c.nullable === true])));
  assert.equal(got.pandas.event_time, 'datetime64[ms, UTC]');
  assert.deepEqual(got.compression, ['ZSTD']);
  assert.deepEqual(got.rows, [
    {
      id: 'a',
      label: 'caballo 🐎 — ñ',
      class_index: 7,
      offset: 2 ** 40 + 1,
      confidence: 0.75,
      score: 1 / 3,
      cached: true,
      event_time: '2026-01-31T23:59:58.123000+00:00',
      embedding: [0.5, -1.25, 3],
      bytes: 'b64:AP8H',
    },
    { id: '北京', label: null, class_index: null, offset: null, confidence: null, score: -0, cached: null, event_time: '1970-01-01T00:00:00+00:00', embedding: null, bytes: null },
    { id: '', label: '', class_index: -2147483648, offset: -9, confidence: 0, score: 1e300, cached: false, event_time: '2026-01-31T23:59:58.124000+00:00', embedding: [], bytes: 'b64:' },
  ]);
});

test('compression and row group size are honoured; an empty file still has its schema', async (t) => {
  if (!(await requirePytools(t))) return;
  const many = Array.from({ length: 25 }, (_, i) => ({ id: `r${i}`, score: i, event_time: t1 + i }));
  const cols = columns.filter((c) => ['id', 'score', 'event_time'].includes(c.name));
  const snappy = await readBack(await encodeParquet(cols, many, { compression: 'snappy', rowGroupSize: 10 }));
  assert.equal(snappy.rowGroups, 3);
  assert.deepEqual(snappy.compression, ['SNAPPY']);
  assert.deepEqual(snappy.rows.map((r) => r.id), many.map((r) => r.id));
  const none = await readBack(await encodeParquet(cols, many, { compression: 'none' }));
  assert.equal(none.rowGroups, 1);
  assert.deepEqual(none.compression, ['UNCOMPRESSED']);
  const empty = await readBack(await encodeParquet(cols, []));
  assert.deepEqual(empty.rows, []);
  assert.deepEqual(Object.keys(empty.schema), ['id', 'score', 'event_time']);
});

test('a value of the wrong type, or a missing value of a required column, is a typed error naming the column', async () => {
  const bad: [ParquetColumn, unknown][] = [
    [{ name: 'id', type: 'string' }, 42],
    [{ name: 'id', type: 'string' }, null],
    [{ name: 'n', type: 'int32' }, 1.5],
    [{ name: 'n', type: 'int32' }, 2 ** 31],
    [{ name: 'big', type: 'int64' }, 2n ** 63n],
    [{ name: 'big', type: 'int64' }, '12'],
    [{ name: 'x', type: 'float64' }, '1.0'],
    [{ name: 'ok', type: 'boolean' }, 1],
    [{ name: 'at', type: 'timestamp-ms' }, '2026-01-01'],
    [{ name: 'at', type: 'timestamp-ms' }, new Date('not a date')],
    [{ name: 'vec', type: 'float32-list' }, [1, '2']],
    [{ name: 'vec', type: 'float32-list' }, new Float64Array(2)],
    [{ name: 'raw', type: 'binary' }, 'abc'],
  ];
  for (const [column, value] of bad) {
    assert.throws(
      () => checkParquetRow([column], { [column.name]: value }),
      (error: unknown) => error instanceof CentaurError && error.code === 'OUTPUT_ENCODE_FAILED' && error.message.includes(`\`${column.name}\``),
      `checkParquetRow: ${column.type} ← ${String(value)}`,
    );
    await assert.rejects(
      encodeParquet([column], [{ [column.name]: value }]),
      (error: unknown) => error instanceof CentaurError && error.code === 'OUTPUT_ENCODE_FAILED' && error.message.includes(`\`${column.name}\``),
      `${column.type} ← ${String(value)}`,
    );
  }
});

test('every row written here passes checkParquetRow; the size estimate counts each value', () => {
  for (const row of rows) checkParquetRow(columns, row);
  // 1 a column (its definition level), then: id 4+1, label 4+19 (UTF-8 bytes), class_index 4, offset 8, confidence 4, score 8, cached 1, event_time 8, embedding 4+3×4, bytes 4+3
  assert.equal(estimateParquetRowBytes(columns, rows[0] as Record<string, unknown>), 10 + 5 + 23 + 4 + 8 + 4 + 8 + 1 + 8 + 16 + 7);
  // A null counts its definition level only: id 4+6, score 8, event_time 8.
  assert.equal(estimateParquetRowBytes(columns, rows[1] as Record<string, unknown>), 10 + 10 + 8 + 8);
});
