/** Content-addressed image archiving: keys from SHA-256 and format, written once however often an image repeats. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { ImageArchive, imageKey, imageKind } from '../../src/storage/image-archive.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

/** An in-memory store counting calls. */
function memoryStore(): ObjectStore & { objects: Map<string, Buffer>; puts: number; heads: number } {
  const objects = new Map<string, Buffer>();
  const store = {
    scheme: 's3' as const,
    objects,
    puts: 0,
    heads: 0,
    get: async (uri: string) => objects.get(uri) ?? Buffer.alloc(0),
    put: async (uri: string, body: Buffer | string) => {
      store.puts += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      objects.set(uri, Buffer.from(body));
    },
    head: async (uri: string) => {
      store.heads += 1;
      const o = objects.get(uri);
      return o === undefined ? null : { uri, key: uri, size: o.length };
    },
    exists: async (uri: string) => (await store.head(uri)) !== null,
    list: async () => ({ objects: [] }),
    close: async () => undefined,
  };
  return store;
}

test('kinds from the decoded format or the magic bytes', async () => {
  const jpeg = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).png().toBuffer();
  const webp = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).webp().toBuffer();
  assert.deepEqual(imageKind(jpeg), { ext: 'jpg', contentType: 'image/jpeg' });
  assert.equal(imageKind(png).ext, 'png');
  assert.equal(imageKind(webp).ext, 'webp');
  assert.equal(imageKind(Buffer.from('GIF89a...')).ext, 'gif');
  assert.equal(imageKind(Buffer.from('not an image')).ext, 'bin');
  assert.equal(imageKind(Buffer.from('xx'), 'png').ext, 'png', 'the decoded format wins');
  assert.equal(imageKey('abcdef', 'jpg'), 'ab/abcdef.jpg');
});

test('an image is written once, by content, even when it arrives many times at once', async () => {
  const store = memoryStore();
  const archive = new ImageArchive(store, 's3://lake/images');
  const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).jpeg().toBuffer();
  const sha = createHash('sha256').update(bytes).digest('hex');
  const results = await Promise.all(Array.from({ length: 5 }, () => archive.archive(Buffer.from(bytes), 'jpeg')));
  assert.equal(store.puts, 1);
  assert.deepEqual([...store.objects.keys()], [`s3://lake/images/${sha.slice(0, 2)}/${sha}.jpg`]);
  assert.equal(results.filter((r) => r.written).length, 1);
  assert.ok(results.every((r) => r.sha256 === sha && r.bytes === bytes.length));
  await archive.archive(bytes, 'jpeg');
  assert.equal(store.heads, 1, 'a recently archived image is not looked up again');

  const again = new ImageArchive(store, 's3://lake/images');
  const second = await again.archive(bytes, 'jpeg');
  assert.equal(second.written, false, 'a later run finds it in the store');
  assert.equal(store.puts, 1);
});
