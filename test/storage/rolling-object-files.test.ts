/**
 * Record files in an object store: rolled by size, record count, age, idleness and flush; an
 * append resolves only after its upload. JSON lines by default; any record kind with its format
 * (Parquet rows counted by their estimated size and encoded when the file rolls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CentaurError } from '../../src/core/errors.js';
import { estimateParquetRowBytes } from '../../src/formats/parquet.js';
import { parquetRows, RollingObjectFiles } from '../../src/storage/rolling-object-files.js';
import type { ParquetRow, RollingFilesOptions } from '../../src/storage/rolling-object-files.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

interface Uploaded {
  uri: string;
  lines: string[];
}

function writer(overrides: Partial<RollingFilesOptions> = {}): { files: RollingObjectFiles; uploaded: Uploaded[] } {
  const uploaded: Uploaded[] = [];
  const files = new RollingObjectFiles({
    fileUri: ({ partition, seq }) => `s3://lake/predictions/${partition}/part-${seq}.jsonl`,
    maxFileBytes: 1 << 20,
    maxFileRecords: 1000,
    maxFileAgeMs: 0,
    maxIdleMs: 0,
    upload: async (uri, body) => {
      uploaded.push({ uri, lines: body.toString().trimEnd().split('\n') });
    },
    ...overrides,
  });
  return { files, uploaded };
}

const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('an append waits for its file; maxFileRecords rolls it, one file per partition', async () => {
  const { files, uploaded } = writer({ maxFileRecords: 3 });
  const a = files.append('dt=2026-01-01', ['1', '2']);
  const b = files.append('dt=2026-01-02', ['x']);
  assert.equal(await settled(a), false, 'not acknowledged before its file is uploaded');
  assert.equal(files.waitingRecords, 3);
  const c = files.append('dt=2026-01-01', ['3']);
  await Promise.all([a, c]);
  assert.deepEqual(uploaded, [{ uri: 's3://lake/predictions/dt=2026-01-01/part-1.jsonl', lines: ['1', '2', '3'] }]);
  assert.equal(await settled(b), false);
  await files.flush();
  await b;
  assert.deepEqual(uploaded[1], { uri: 's3://lake/predictions/dt=2026-01-02/part-2.jsonl', lines: ['x'] });
  assert.deepEqual(files.stats, { files: 2, records: 4, bytes: 8 });
});

test('an append larger than maxFileRecords is split across files, and waits for all of them', async () => {
  const { files, uploaded } = writer({ maxFileRecords: 2 });
  const first = files.append('p', ['0']);
  await files.flush();
  await first;
  const big = files.append('p', ['1', '2', '3', '4', '5']);
  assert.equal(await settled(big), false, 'the last file is still open');
  assert.deepEqual(uploaded.map((u) => u.lines), [['0'], ['1', '2'], ['3', '4']]);
  await files.flush();
  await big;
  assert.deepEqual(uploaded.map((u) => u.lines), [['0'], ['1', '2'], ['3', '4'], ['5']]);
});

test('maxFileBytes starts a new file before the lines that would overflow it', async () => {
  const { files, uploaded } = writer({ maxFileBytes: 10 });
  const first = files.append('p', ['aaaa', 'bbbb']);
  const second = files.append('p', ['cccc']);
  await first;
  assert.deepEqual(uploaded.map((u) => u.lines), [['aaaa', 'bbbb']]);
  await files.flush();
  await second;
  assert.deepEqual(uploaded.map((u) => u.lines), [['aaaa', 'bbbb'], ['cccc']]);
});

test('maxIdleMs uploads a file once no line arrived for that long; maxFileAgeMs bounds a busy one', async () => {
  const idle = writer({ maxIdleMs: 30 });
  const started = Date.now();
  await idle.files.append('p', ['1']);
  assert.ok(Date.now() - started >= 25);
  assert.equal(idle.uploaded.length, 1);

  const aged = writer({ maxFileAgeMs: 80, maxIdleMs: 50 });
  const t0 = Date.now();
  const waits: Promise<void>[] = [];
  // A line every 20 ms keeps the file from idling; its age rolls it.
  for (let i = 0; i < 8; i += 1) {
    waits.push(aged.files.append('p', [String(i)]));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await waits[0];
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 75 && elapsed < 200, `rolled by age after ${elapsed} ms`);
  await aged.files.flush();
  await Promise.all(waits);
  assert.equal(aged.uploaded.flatMap((u) => u.lines).length, 8);
  assert.ok(aged.uploaded.length >= 2);
});

test('a failed upload rejects every append of that file, and the next file starts afresh', async () => {
  let fail = true;
  const { files, uploaded } = writer({
    upload: async (uri, body) => {
      if (fail) throw new CentaurError('OBJECT_STORE_UNAVAILABLE', `cannot write ${uri}: the object store is unavailable`);
      uploaded.push({ uri, lines: body.toString().trimEnd().split('\n') });
    },
  });
  const a = files.append('p', ['1']);
  const b = files.append('p', ['2']);
  await files.flush();
  await assert.rejects(a, /unavailable/);
  await assert.rejects(b, /unavailable/);
  fail = false;
  const c = files.append('p', ['3']);
  await files.flush();
  await c;
  assert.deepEqual(uploaded, [{ uri: 's3://lake/predictions/p/part-2.jsonl', lines: ['3'] }]);
});

test('records of any kind: the format counts their bytes and encodes the file when it rolls', async () => {
  const encoded: number[][][] = [];
  const bodies: string[] = [];
  const files = new RollingObjectFiles<number[]>({
    fileUri: ({ partition, seq }) => `mem://lake/${partition}/part-${seq}.csv`,
    maxFileBytes: 10,
    maxFileRecords: 100,
    maxFileAgeMs: 0,
    maxIdleMs: 0,
    format: {
      sizeOf: (row) => row.length * 2,
      encode: async (rows) => {
        encoded.push([...rows]);
        return Buffer.from(rows.map((r) => r.join(',')).join('\n'));
      },
    },
    upload: async (_uri, body) => {
      bodies.push(body.toString());
    },
  });
  const a = files.append('p', [[1, 2], [3, 4]]);
  assert.deepEqual(encoded, [], 'nothing is encoded before the file rolls');
  const b = files.append('p', [[5, 6]]);
  await a;
  assert.deepEqual(bodies, ['1,2\n3,4'], '8 counted bytes, then 4 more would pass 10: a new file');
  await files.flush();
  await b;
  assert.deepEqual(bodies, ['1,2\n3,4', '5,6']);
  assert.deepEqual(files.stats, { files: 2, records: 3, bytes: 10 });
});

test('Parquet rows: counted by their estimated size, encoded as one Parquet file per roll', async (t) => {
  const columns = [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'int64', nullable: true },
  ] as const;
  const uploaded: { uri: string; body: Buffer }[] = [];
  let firstUploaded: () => void = () => undefined;
  const firstUpload = new Promise<void>((resolve) => (firstUploaded = resolve));
  const row = { id: 'abcdef', n: 1 };
  // 1 + 4 + 6 bytes for `id`, 1 + 8 for `n`.
  assert.equal(estimateParquetRowBytes(columns, row), 20);
  const files = new RollingObjectFiles<ParquetRow>({
    fileUri: ({ partition, seq }) => `s3://lake/predictions/${partition}/part-${seq}.parquet`,
    maxFileBytes: 50,
    maxFileRecords: 1000,
    maxFileAgeMs: 0,
    maxIdleMs: 0,
    format: parquetRows(columns, { compression: 'snappy' }),
    upload: async (uri, body) => {
      uploaded.push({ uri, body });
      firstUploaded();
    },
  });
  const appended = files.append('dt=2026-01-01', [row, { id: 'ghijkl', n: null }, { id: 'mnopqr', n: 3 }]);
  await firstUpload;
  assert.deepEqual(uploaded.map((u) => u.uri), ['s3://lake/predictions/dt=2026-01-01/part-1.parquet'], 'the third row would pass 50 estimated bytes');
  await files.flush();
  await appended;
  assert.equal(uploaded.length, 2, '2 rows (40 estimated bytes) in the first file, 1 in the second');
  for (const { body } of uploaded) {
    assert.equal(body.subarray(0, 4).toString(), 'PAR1');
    assert.equal(body.subarray(-4).toString(), 'PAR1');
  }
  assert.deepEqual(files.stats, { files: 2, records: 3, bytes: uploaded.reduce((n, u) => n + u.body.length, 0) });

  if (!(await requirePytools(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-rolling-parquet-'));
  const paths = await Promise.all(uploaded.map(async (u, i) => {
    const p = path.join(dir, `${i}.parquet`);
    await writeFile(p, u.body);
    return p;
  }));
  const read = JSON.parse(await runPython('import json, sys, pyarrow.parquet as pq; print(json.dumps([pq.read_table(p).to_pylist() for p in sys.argv[1:]]))', paths)) as unknown;
  assert.deepEqual(read, [[{ id: 'abcdef', n: 1 }, { id: 'ghijkl', n: null }], [{ id: 'mnopqr', n: 3 }]]);
});

test('a file that cannot be encoded rejects every append of that file, as a failed upload does', async () => {
  const uploaded: string[] = [];
  const files = new RollingObjectFiles<ParquetRow>({
    fileUri: ({ partition, seq }) => `s3://lake/predictions/${partition}/part-${seq}.parquet`,
    maxFileBytes: 1 << 20,
    maxFileRecords: 1000,
    maxFileAgeMs: 0,
    maxIdleMs: 0,
    format: parquetRows([{ name: 'id', type: 'string' }]),
    upload: async (uri) => {
      uploaded.push(uri);
    },
  });
  const good = files.append('p', [{ id: 'a' }]);
  const bad = files.append('p', [{ id: 42 }]);
  await files.flush();
  for (const append of [good, bad]) {
    await assert.rejects(append, (e: unknown) => e instanceof CentaurError && e.code === 'OUTPUT_ENCODE_FAILED' && e.message.includes('`id`'));
  }
  assert.deepEqual(uploaded, []);
  assert.deepEqual(files.stats, { files: 0, records: 0, bytes: 0 });
});

test('drain waits for records a write announced (expect), so they share the last file', async () => {
  const uploaded: string[] = [];
  const files = new RollingObjectFiles({
    fileUri: ({ partition, seq }) => `mem://lake/${partition}/part-${seq}.jsonl`,
    maxFileBytes: 1 << 20,
    maxFileRecords: 1000,
    maxFileAgeMs: 0,
    maxIdleMs: 0,
    upload: async (uri) => void uploaded.push(uri),
  });
  const first = files.append('p', ['a']);
  const appended = files.expect();
  const drained = files.drain();
  // The announced write appends a moment later (after archiving images, say).
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = files.append('p', ['b']);
  appended();
  await Promise.all([drained, first, second]);
  assert.deepEqual(uploaded, ['mem://lake/p/part-1.jsonl']);
  assert.equal(files.stats.records, 2);
});
