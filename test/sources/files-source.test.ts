import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesSource } from '../../src/sources/files-source.js';
import type { Source } from '../../src/core/component.js';
import type { EnvelopeInit } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { Ajv } from 'ajv';

const ajv = new Ajv({ useDefaults: true, strict: false });
const validate = ajv.compile(filesSource.options);

async function makeTree(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-files-'));
  for (const [dir, names] of [['horses', ['b.jpg', 'a.jpg']], ['humans', ['c.png']], ['humans/nested', ['d.JPG']], ['other', ['notes.txt']]] as const) {
    await mkdir(path.join(root, dir), { recursive: true });
    for (const name of names) await writeFile(path.join(root, dir, name), `bytes of ${dir}/${name}`);
  }
  return root;
}

async function create(options: Record<string, unknown>, baseDir: string): Promise<Source> {
  const o = { ...options };
  assert.ok(validate(o), JSON.stringify(validate.errors));
  return filesSource.create(o, { nodeId: 'files', topologyName: 't', baseDir, logger: createLogger('silent') });
}

async function collect(source: Source, onEmit?: (init: EnvelopeInit) => void): Promise<{ emitted: EnvelopeInit[]; failed: EnvelopeInit[] }> {
  const emitted: EnvelopeInit[] = [];
  const failed: EnvelopeInit[] = [];
  await source.start({
    emit: (init) => {
      emitted.push(init);
      onEmit?.(init);
    },
    fail: (init) => failed.push(init),
  });
  return { emitted, failed };
}

test('reads image files recursively in sorted order, with labels from folder names mapped by labelMap', async () => {
  const root = await makeTree();
  const source = await create({ path: '.', labels: 'parent-folder', labelMap: { horses: 'horse', humans: 'human' } }, root);
  const { emitted } = await collect(source);
  assert.deepEqual(emitted.map((e) => e.id), ['horses/a.jpg', 'horses/b.jpg', 'humans/c.png', 'humans/nested/d.JPG']);
  assert.deepEqual(emitted.map((e) => e.label), ['horse', 'horse', 'human', 'nested']);
  assert.deepEqual(emitted.map((e) => e.position.offset), [0, 1, 2, 3]);
  const first = emitted[0] as EnvelopeInit;
  assert.equal(first.payload.kind, 'bytes');
  assert.equal(first.payload.kind === 'bytes' ? first.payload.bytes.toString() : '', 'bytes of horses/a.jpg');
  assert.match(first.position.uri ?? '', /^file:\/\/.*horses\/a\.jpg$/);
});

test('reads a glob relative to the topology folder', async () => {
  const root = await makeTree();
  const { emitted } = await collect(await create({ path: 'humans/**/*.{png,JPG}' }, root));
  assert.deepEqual(emitted.map((e) => e.id), ['humans/c.png', 'humans/nested/d.JPG']);
});

test('a checkpoint makes a restarted run skip the files already committed', async () => {
  const root = await makeTree();
  const first = await create({ path: '.', checkpoint: 'state/files.checkpoint' }, root);
  const run1 = await collect(first);
  await first.commit('files', 1);
  assert.deepEqual((await readFile(path.join(root, 'state/files.checkpoint'), 'utf8')).trim().split('\n').map((f) => path.relative(root, f)), ['horses/a.jpg', 'horses/b.jpg']);
  assert.equal(run1.emitted.length, 4);
  const second = await create({ path: '.', checkpoint: 'state/files.checkpoint' }, root);
  const run2 = await collect(second);
  assert.deepEqual(run2.emitted.map((e) => e.id), ['humans/c.png', 'humans/nested/d.JPG']);
});

test('pause holds reading until resume', async () => {
  const root = await makeTree();
  const source = await create({ path: '.' }, root);
  let count = 0;
  const done = collect(source, () => {
    count += 1;
    if (count === 1) source.pause();
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(count, 1, 'no file read while paused');
  source.resume();
  const { emitted } = await done;
  assert.equal(emitted.length, 4);
});

test('watch mode picks up new files until stopped', async () => {
  const root = await makeTree();
  const source = await create({ path: '.', watch: true, pollIntervalMs: 20 }, root);
  const seen: string[] = [];
  const done = collect(source, (e) => seen.push(e.id));
  while (seen.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
  await writeFile(path.join(root, 'horses', 'z.jpg'), 'new');
  while (seen.length < 5) await new Promise((resolve) => setTimeout(resolve, 10));
  await source.stop();
  await done;
  assert.equal(seen[4], 'horses/z.jpg');
});

test('files over maxFileBytes are failed by reference without being read', async () => {
  const root = await makeTree();
  await writeFile(path.join(root, 'horses', 'big.jpg'), Buffer.alloc(2048));
  const { emitted, failed } = await collect(await create({ path: '.', maxFileBytes: 1024 }, root));
  assert.equal(emitted.length, 4);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.payload.kind, 'reference');
});

test('readAhead: files read at once are still emitted in sorted order, each with its own bytes; an oversized one fails in its place', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-files-'));
  // Sizes vary a hundredfold so reads finish out of order.
  const names = Array.from({ length: 40 }, (_, i) => `f-${String(i).padStart(2, '0')}.jpg`);
  for (const [i, name] of names.entries()) await writeFile(path.join(root, name), Buffer.alloc(i % 7 === 0 ? 200_000 : 2_000, i));
  for (const readAhead of [1, 8, 64]) {
    const { emitted, failed } = await collect(await create({ path: '.', readAhead, maxFileBytes: 100_000 }, root));
    const big = names.filter((_, i) => i % 7 === 0);
    assert.deepEqual(emitted.map((e) => e.id), names.filter((n) => !big.includes(n)), `readAhead ${readAhead}`);
    assert.deepEqual(failed.map((e) => e.id), big);
    for (const e of emitted) assert.equal(e.payload.kind === 'bytes' ? e.payload.bytes[0] : -1, names.indexOf(e.id));
    const offsets = [...emitted, ...failed].map((e) => e.position.offset).sort((a, b) => a - b);
    assert.deepEqual(offsets, names.map((_, i) => i), 'offsets follow the sorted file order');
    assert.equal(failed[1]?.position.offset, 7);
  }
});
