/** The file-system store: atomic puts, byte limits, head/exists, listing in key order with pages, errors as codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CentaurError } from '../../src/core/errors.js';
import { storeFor } from '../../src/storage/store-for.js';

async function lake(): Promise<string> {
  return pathToFileURL(await mkdtemp(path.join(tmpdir(), 'centaur-file-store-'))).href;
}

test('put, get, head and exists; folders are created; no partial file is left', async () => {
  const base = await lake();
  const store = await storeFor(base);
  assert.equal(store.scheme, 'file');
  await store.put(`${base}/a/b/one.txt`, 'hello');
  assert.equal((await store.get(`${base}/a/b/one.txt`)).toString(), 'hello');
  const info = await store.head(`${base}/a/b/one.txt`);
  assert.equal(info?.size, 5);
  assert.equal(info?.uri, `${base}/a/b/one.txt`);
  assert.equal(await store.exists(`${base}/a/b/none.txt`), false);
  assert.equal(await store.head(`${base}/a`), null, 'a folder is not an object');
  assert.deepEqual(await readdir(new URL(`${base}/a/b`)), ['one.txt']);
});

test('get refuses an object over maxBytes before reading it, and a missing one names the URI', async () => {
  const base = await lake();
  const store = await storeFor(base);
  await store.put(`${base}/big.bin`, Buffer.alloc(2048));
  await assert.rejects(store.get(`${base}/big.bin`, { maxBytes: 1024 }), (e: unknown) => e instanceof CentaurError && e.code === 'OBJECT_TOO_LARGE' && e.message === `${base}/big.bin is 2048 bytes, over maxBytes 1024`);
  await assert.rejects(store.get(`${base}/nope.jpg`), (e: unknown) => e instanceof CentaurError && e.code === 'OBJECT_FETCH_FAILED' && e.message.startsWith(`cannot read ${base}/nope.jpg: no such object`));
});

test('an unreadable file is OBJECT_ACCESS_DENIED', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
  const base = await lake();
  const store = await storeFor(base);
  await store.put(`${base}/secret.jpg`, 'x');
  await chmod(new URL(`${base}/secret.jpg`), 0o000);
  await assert.rejects(store.get(`${base}/secret.jpg`), (e: unknown) => e instanceof CentaurError && e.code === 'OBJECT_ACCESS_DENIED');
});

test('list: objects under a prefix in key order, a page at a time', async () => {
  const base = await lake();
  const store = await storeFor(base);
  for (const key of ['p/b.txt', 'p/a.txt', 'p/sub/c.txt', 'p-other/d.txt', 'q/e.txt', 'p/a-b.txt']) await store.put(`${base}/${key}`, key);
  const all: string[] = [];
  let continuation: string | undefined;
  let pages = 0;
  do {
    const page = await store.list(`${base}/p/`, { limit: 2, ...(continuation === undefined ? {} : { continuation }) });
    all.push(...page.objects.map((o) => o.uri.slice(base.length + 1)));
    continuation = page.continuation;
    pages += 1;
  } while (continuation !== undefined);
  assert.deepEqual(all, ['p/a-b.txt', 'p/a.txt', 'p/b.txt', 'p/sub/c.txt']);
  assert.equal(pages, 2);
  const named = await store.list(`${base}/p`);
  assert.deepEqual(named.objects.map((o) => o.uri.slice(base.length + 1)), ['p-other/d.txt', 'p/a-b.txt', 'p/a.txt', 'p/b.txt', 'p/sub/c.txt'], 'a prefix that is not a folder matches names');
  assert.deepEqual((await store.list(`${base}/none/`)).objects, []);
});

test('list with startAfter: only paths after it, a page at a time', async () => {
  const base = await lake();
  const store = await storeFor(base);
  for (const key of ['p/a/1.txt', 'p/a/2.txt', 'p/b/1.txt', 'p/b/2.txt', 'p/c.txt', 'p/d/1.txt']) await store.put(`${base}/${key}`, key);
  const root = new URL(base).pathname;
  const startAfter = path.join(root, 'p', 'b', '1.txt');
  const seen: string[] = [];
  let continuation: string | undefined;
  do {
    const page = await store.list(`${base}/p/`, { limit: 2, startAfter, ...(continuation === undefined ? {} : { continuation }) });
    seen.push(...page.objects.map((o) => o.uri.slice(base.length + 1)));
    continuation = page.continuation;
  } while (continuation !== undefined);
  assert.deepEqual(seen, ['p/b/2.txt', 'p/c.txt', 'p/d/1.txt']);
  assert.deepEqual((await store.list(`${base}/p/`, { startAfter: path.join(root, 'p', 'd', '1.txt') })).objects, [], 'nothing after the last path');
  assert.deepEqual((await store.list(`${base}/p/`, { startAfter: path.join(root, 'p', 'a') })).objects.map((o) => o.uri.slice(base.length + 1))[0], 'p/a/1.txt', 'a folder’s own path sorts before its files');
});
