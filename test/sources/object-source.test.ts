/**
 * `object-source` on a file:// lake, driven directly: objects in key order with dense offsets,
 * URI, event time and bytes; the image-extension and glob filters; oversized, vanished objects as
 * dead letters with their URI while the rest go on; the watermark written on commit and at close
 * and a restart listing after it; `poll` picking up new keys; the config rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import type { Source, SourceContext } from '../../src/core/component.js';
import type { EnvelopeInit } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { objectSource } from '../../src/sources/object-source.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const validate = ajv.compile(objectSource.options);

async function lake(files: Record<string, string | Buffer>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-object-source-'));
  await put(root, files);
  return root;
}

async function put(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, 'lake', name)), { recursive: true });
    await writeFile(path.join(root, 'lake', name), body);
  }
}

async function create(options: Record<string, unknown>, baseDir: string): Promise<Source> {
  const o = { ...options };
  assert.ok(validate(o), JSON.stringify(validate.errors));
  return objectSource.create(o, { nodeId: 'lake', topologyName: 't', baseDir, logger: createLogger('silent') });
}

interface Run {
  emitted: EnvelopeInit[];
  failed: { init: EnvelopeInit; error: CentaurError }[];
}

function context(run: Run, onEmit?: (init: EnvelopeInit) => void): SourceContext {
  return {
    emit: (init) => {
      run.emitted.push(init);
      onEmit?.(init);
    },
    fail: (init, error) => run.failed.push({ init, error: error as CentaurError }),
  };
}

/** Runs a source to its end, committing every offset it handed over, and closes it. */
async function runOnce(source: Source, onEmit?: (init: EnvelopeInit) => void): Promise<Run> {
  const run: Run = { emitted: [], failed: [] };
  await source.start(context(run, onEmit));
  const offsets = [...run.emitted, ...run.failed.map((f) => f.init)].map((i) => i.position.offset);
  if (offsets.length > 0) await source.commit(run.emitted[0]?.position.partition ?? run.failed[0]?.init.position.partition ?? '', Math.max(...offsets));
  await source.stop();
  await source.close?.();
  return run;
}

const names = (inits: readonly EnvelopeInit[]): string[] => inits.map((i) => i.key ?? '');

test('once: every image under the folder in key order, with dense offsets, its URI, bytes and modification time', async () => {
  const root = await lake({ 'b/2.png': 'png 2', 'a/1.jpg': 'jpg 1', 'a/0.JPEG': 'jpeg 0', 'notes.txt': 'not an image', 'c.webp': 'webp' });
  const run = await runOnce(await create({ uri: 'lake' }, root));
  assert.deepEqual(names(run.emitted), ['a/0.JPEG', 'a/1.jpg', 'b/2.png', 'c.webp']);
  assert.deepEqual(run.emitted.map((e) => e.position.offset), [0, 1, 2, 3]);
  const first = run.emitted[0] as EnvelopeInit;
  const file = path.join(root, 'lake', 'a', '0.JPEG');
  assert.equal(first.id, pathToFileURL(file).href);
  assert.equal(first.position.uri, pathToFileURL(file).href);
  assert.equal(first.metadata?.uri, pathToFileURL(file).href);
  assert.equal(first.position.partition, `${pathToFileURL(path.join(root, 'lake')).href}/`);
  assert.equal(first.eventTime, (await stat(file)).mtime.getTime());
  assert.equal(first.payload.kind === 'bytes' ? first.payload.bytes.toString() : '', 'jpeg 0');
  assert.equal(first.sizeBytes, 6);
  assert.equal(run.failed.length, 0);
});

test('glob filters keys relative to the prefix; labels come from the last folder', async () => {
  const root = await lake({ 'horses/h1.jpg': 'h', 'humans/p1.jpg': 'p', 'humans/p2.png': 'p2', 'horses/notes.txt': 'x' });
  const run = await runOnce(await create({ uri: 'lake', glob: 'h*/*.jpg', labels: 'parent-folder', labelMap: { horses: 'horse' } }, root));
  assert.deepEqual(names(run.emitted), ['horses/h1.jpg', 'humans/p1.jpg']);
  assert.deepEqual(run.emitted.map((e) => e.label), ['horse', 'humans']);
});

test('an object over maxBytes and one deleted after the listing are dead letters with their URI; the rest go on', async () => {
  const root = await lake({ '1.jpg': 'one', '2.jpg': 'two', '3.jpg': Buffer.alloc(100), '4.jpg': 'four' });
  const source = await create({ uri: 'lake', maxBytes: 50, concurrency: 1 }, root);
  // With one read at a time, 2.jpg is read only after 1.jpg was handed over.
  const run = await runOnce(source, (init) => {
    if (init.key === '1.jpg') rmSync(path.join(root, 'lake', '2.jpg'));
  });
  assert.deepEqual(names(run.emitted), ['1.jpg', '4.jpg']);
  assert.deepEqual(
    run.failed.map((f) => [f.init.key, f.init.position.offset, f.error.code]),
    [
      ['2.jpg', 1, 'OBJECT_FETCH_FAILED'],
      ['3.jpg', 2, 'OBJECT_TOO_LARGE'],
    ],
  );
  assert.deepEqual(run.emitted.map((e) => e.position.offset), [0, 3]);
  for (const { init, error } of run.failed) {
    const uri = pathToFileURL(path.join(root, 'lake', init.key ?? '')).href;
    assert.deepEqual(init.payload, { kind: 'reference', uri });
    assert.ok(error.message.includes(uri), error.message);
  }
  assert.match(run.failed[1]?.error.message ?? '', /is 100 bytes, over maxBytes 50$/);
});

test('the watermark is written on commit and at close; a restart lists only keys after it', async () => {
  const root = await lake({ '1.jpg': '1', '2.jpg': '2', '3.jpg': '3' });
  const options = { uri: 'lake', watermark: { uri: 'state/lake.json', intervalMs: 0 } };
  const first = await create(options, root);
  const run: Run = { emitted: [], failed: [] };
  await first.start(context(run));
  assert.equal(run.emitted.length, 3);
  const partition = run.emitted[0]?.position.partition ?? '';
  await first.commit(partition, 0);
  const watermark = async (): Promise<{ key: string; prefix: string }> => JSON.parse(await readFile(path.join(root, 'state/lake.json'), 'utf8')) as { key: string; prefix: string };
  assert.equal((await watermark()).key, path.join(root, 'lake', '1.jpg'), 'written on commit');
  assert.equal((await watermark()).prefix, partition);
  await first.stop();
  await first.close?.();

  // Offsets 1 and 2 were never committed: a restart reads them again (at-least-once).
  const second = await runOnce(await create(options, root));
  assert.deepEqual(names(second.emitted), ['2.jpg', '3.jpg']);
  assert.equal((await watermark()).key, path.join(root, 'lake', '3.jpg'), 'written at close');
  await put(root, { '0.jpg': 'written later, before the watermark', '4.jpg': '4' });
  const third = await runOnce(await create(options, root));
  assert.deepEqual(names(third.emitted), ['4.jpg'], 'only keys after the watermark (0.jpg sorts before it: not read)');
  const fourth = await runOnce(await create(options, root));
  assert.deepEqual(fourth.emitted, [], 'nothing read again');
});

test('poll: lists again for keys after the last one listed, until stopped; pause holds reading', async () => {
  const root = await lake({ 'a.jpg': 'a', 'b.jpg': 'b' });
  const source = await create({ uri: 'lake', mode: 'poll', pollIntervalMs: 100, watermark: { uri: 'state/poll.json' } }, root);
  const run: Run = { emitted: [], failed: [] };
  const started = source.start(context(run));
  const until = async (n: number): Promise<void> => {
    while (run.emitted.length < n) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await until(2);
  source.pause();
  await put(root, { 'c.jpg': 'c', 'd.png': 'd' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(run.emitted.length, 2, 'nothing read while paused');
  source.resume();
  await until(4);
  await put(root, { 'e.jpg': 'e' });
  await until(5);
  await source.commit(run.emitted[0]?.position.partition ?? '', 4);
  await source.stop();
  await started;
  await source.close?.();
  assert.deepEqual(names(run.emitted), ['a.jpg', 'b.jpg', 'c.jpg', 'd.png', 'e.jpg']);
  assert.deepEqual(run.emitted.map((e) => e.position.offset), [0, 1, 2, 3, 4]);
  const stored = JSON.parse(await readFile(path.join(root, 'state/poll.json'), 'utf8')) as { key: string };
  assert.equal(stored.key, path.join(root, 'lake', 'e.jpg'));
});

test('config: poll without a watermark and a bad URI are validation problems; a watermark of another prefix stops the start — each saying what to do', async () => {
  const root = await lake({ 'a.jpg': 'a' });
  const problems = (options: Record<string, unknown>): { path: string; message: string; suggestion?: string }[] => {
    const o = { ...options };
    assert.ok(validate(o), JSON.stringify(validate.errors));
    return (objectSource.validate?.(o, { nodeId: 'n', baseDir: root }) ?? []).map((p) => ({ path: p.path.join('.'), message: p.message, ...(p.suggestion === undefined ? {} : { suggestion: p.suggestion }) }));
  };
  const poll = problems({ uri: 'lake', mode: 'poll' });
  assert.deepEqual(poll.map((p) => p.path), ['mode']);
  assert.match(poll[0]?.message ?? '', /^`mode: poll` needs `watermark: \{ uri \}`, so that a restart goes on after the last object done rather than reading file:\/\/.*\/lake\/ again$/);
  assert.match(poll[0]?.suggestion ?? '', /add e\.g\. `watermark: \{ uri: state\/.*\.watermark\.json \}`/);
  const bucket = problems({ uri: 's3://No_Bucket/x' });
  assert.deepEqual(bucket.map((p) => p.path), ['uri']);
  assert.match(bucket[0]?.message ?? '', /not a valid bucket name/);
  assert.deepEqual(problems({ uri: 'lake', watermark: { uri: 'ftp://host/wm.json' } }).map((p) => [p.path, p.message]), [['watermark.uri', 'cannot use ftp://host/wm.json: unsupported scheme `ftp://`; the object stores are file://, s3:// and azure://']]);
  assert.deepEqual(problems({ uri: 'lake', mode: 'poll', watermark: { uri: 'state/wm.json' } }), []);
  const isConfig = (pattern: RegExp) => (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && pattern.test(e.message);
  await mkdir(path.join(root, 'state'));
  await writeFile(path.join(root, 'state', 'wm.json'), JSON.stringify({ version: 1, prefix: 's3://other/', key: 'k', updatedAt: '' }));
  await assert.rejects(create({ uri: 'lake', watermark: { uri: 'state/wm.json' } }, root), isConfig(/belongs to s3:\/\/other\//));
  assert.deepEqual(objectSource.claims?.({ uri: 'lake', watermark: { uri: 'state/wm.json', intervalMs: 1000 } }, root), [`watermark ${pathToFileURL(path.join(root, 'state/wm.json')).href}`]);
});
