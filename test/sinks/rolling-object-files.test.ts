/** Record files in an object store: rolled by size, record count, age, idleness and flush; an append resolves only after its upload. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentaurError } from '../../src/core/errors.js';
import { RollingObjectFiles } from '../../src/sinks/rolling-object-files.js';
import type { RollingFilesOptions } from '../../src/sinks/rolling-object-files.js';

interface Uploaded {
  uri: string;
  lines: string[];
}

function writer(overrides: Partial<RollingFilesOptions> = {}): { files: RollingObjectFiles; uploaded: Uploaded[] } {
  const uploaded: Uploaded[] = [];
  const files = new RollingObjectFiles({
    base: 's3://lake/predictions',
    fileName: (seq) => `part-${seq}.jsonl`,
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
