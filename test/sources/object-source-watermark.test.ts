/**
 * `object-source` positions and watermark: offsets per emitted key, commits of the highest
 * contiguous offset turning into the key watermark (checked against the runtime's OffsetTracker
 * with random completion orders), and the watermark file: load, refusal of a foreign or malformed
 * one, debounced writes, the last write at flush, failures as CHECKPOINT_FAILED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CentaurError } from '../../src/core/errors.js';
import { OffsetTracker } from '../../src/runtime/offset-tracker.js';
import { KeyLedger, WatermarkFile } from '../../src/storage/object-watermark.js';
import type { GetOptions, ListPage, ObjectInfo, ObjectStore } from '../../src/storage/object-store.js';

/** An in-memory store holding objects by URI, counting puts, failing puts on demand. */
class MemoryStore implements ObjectStore {
  readonly scheme = 's3' as const;
  readonly objects = new Map<string, Buffer>();
  puts = 0;
  failPuts = false;

  async get(uri: string, _options?: GetOptions): Promise<Buffer> {
    const body = this.objects.get(uri);
    if (body === undefined) throw new CentaurError('OBJECT_FETCH_FAILED', `cannot read ${uri}: no such object`);
    return body;
  }

  async put(uri: string, body: Buffer | string): Promise<void> {
    if (this.failPuts) throw new CentaurError('OBJECT_STORE_UNAVAILABLE', `cannot write ${uri}: the object store is unavailable`);
    this.puts += 1;
    this.objects.set(uri, Buffer.from(body));
  }

  async head(uri: string): Promise<ObjectInfo | null> {
    const body = this.objects.get(uri);
    return body === undefined ? null : { uri, key: uri, size: body.length };
  }

  async exists(uri: string): Promise<boolean> {
    return this.objects.has(uri);
  }

  async list(): Promise<ListPage> {
    return { objects: [] };
  }

  async close(): Promise<void> {}
}

const URI = 's3://state/wm.json';
const PREFIX = 's3://lake/uploads/';

function stored(store: MemoryStore): { version: number; prefix: string; key: string; updatedAt: string } {
  return JSON.parse((store.objects.get(URI) as Buffer).toString()) as { version: number; prefix: string; key: string; updatedAt: string };
}

test('ledger: dense offsets in emission order; a commit makes the key at that offset the watermark', () => {
  const ledger = new KeyLedger('uploads/000');
  assert.equal(ledger.watermark, 'uploads/000', 'starts at the loaded watermark');
  assert.deepEqual(['uploads/a', 'uploads/b', 'uploads/c'].map((k) => ledger.assign(k)), [0, 1, 2]);
  assert.equal(ledger.pending, 3);
  assert.equal(ledger.commit(1), 'uploads/b');
  assert.equal(ledger.watermark, 'uploads/b');
  assert.equal(ledger.pending, 1);
  assert.equal(ledger.commit(1), undefined, 'the same commit again changes nothing');
  assert.equal(ledger.commit(0), undefined, 'an older commit changes nothing');
  assert.equal(ledger.commit(7), undefined, 'an offset never assigned is ignored');
  assert.equal(ledger.watermark, 'uploads/b');
  assert.equal(ledger.commit(2), 'uploads/c');
  assert.equal(ledger.pending, 0);
});

test('ledger with the runtime’s offset tracker: whatever the completion order, the watermark is the greatest key with every key before it done', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: 0, maxLength: n }))),
      ([n, completionOrder]) => {
        const keys = [...Array(n).keys()].map((i) => `k/${String(i).padStart(3, '0')}`);
        const ledger = new KeyLedger();
        const tracker = new OffsetTracker();
        for (const key of keys) tracker.track(ledger.assign(key));
        const done = new Set<number>();
        for (const offset of completionOrder) {
          done.add(offset);
          const advanced = tracker.complete(offset);
          if (advanced !== undefined) ledger.commit(advanced);
          let contiguous = -1;
          while (done.has(contiguous + 1)) contiguous += 1;
          assert.equal(ledger.watermark, contiguous < 0 ? undefined : keys[contiguous]);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('watermark file: none yet; the first update is written at once, later ones at most once per interval; flush writes the last', async () => {
  let now = 1_000_000;
  const store = new MemoryStore();
  const file = new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 60_000, now: () => now });
  assert.equal(await file.load(), undefined);
  await file.update('uploads/a.jpg');
  assert.equal(store.puts, 1);
  assert.deepEqual({ ...stored(store), updatedAt: undefined }, { version: 1, prefix: PREFIX, key: 'uploads/a.jpg', updatedAt: undefined });
  now += 10;
  await file.update('uploads/b.jpg');
  await file.update('uploads/c.jpg');
  assert.equal(store.puts, 1, 'not written again within the interval');
  await file.flush();
  assert.equal(store.puts, 2);
  assert.equal(stored(store).key, 'uploads/c.jpg', 'the latest key is written at flush');
  await file.flush();
  assert.equal(store.puts, 2, 'an unchanged watermark is not written again');
  now += 60_000;
  await file.update('uploads/d.jpg');
  assert.equal(store.puts, 3, 'written at once when the interval has passed');
  const again = new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 0 });
  assert.equal(await again.load(), 'uploads/d.jpg', 'a restart reads it back');
});

test('watermark file: a pending write happens once the interval has passed, without another commit', async () => {
  const store = new MemoryStore();
  const file = new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 20 });
  await file.update('uploads/a.jpg');
  await file.update('uploads/b.jpg');
  while (store.puts < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(stored(store).key, 'uploads/b.jpg');
  await file.flush();
  assert.equal(store.puts, 2);
});

test('watermark file: one of another prefix, or not a watermark, is refused with a config error naming the fix', async () => {
  const store = new MemoryStore();
  store.objects.set(URI, Buffer.from(JSON.stringify({ version: 1, prefix: 's3://lake/other/', key: 'other/x.jpg', updatedAt: '' })));
  const isConfig = (pattern: RegExp) => (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && pattern.test(e.message);
  await assert.rejects(new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 0 }).load(), isConfig(/belongs to s3:\/\/lake\/other\/, not s3:\/\/lake\/uploads\/; give this source its own watermark/));
  store.objects.set(URI, Buffer.from('{"version":1'));
  await assert.rejects(new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 0 }).load(), isConfig(/is not JSON .*delete it to list s3:\/\/lake\/uploads\/ from the start/));
  store.objects.set(URI, Buffer.from('{"key":3}'));
  await assert.rejects(new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 0 }).load(), isConfig(/is not a version 1 watermark/));
});

test('watermark file: a failed write is CHECKPOINT_FAILED (retriable) and the key is written by the next attempt', async () => {
  const store = new MemoryStore();
  const file = new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 0 });
  store.failPuts = true;
  await assert.rejects(file.update('uploads/a.jpg'), (e: unknown) => e instanceof CentaurError && e.code === 'CHECKPOINT_FAILED' && e.retriable && e.message.startsWith(`cannot write the watermark ${URI}`));
  store.failPuts = false;
  await file.flush();
  assert.equal(stored(store).key, 'uploads/a.jpg');
});

test('watermark file: a timed write that fails is reported until a later write succeeds', async () => {
  const store = new MemoryStore();
  const file = new WatermarkFile(store, { uri: URI, prefix: PREFIX, intervalMs: 20 });
  await file.update('uploads/a.jpg');
  store.failPuts = true;
  await file.update('uploads/b.jpg');
  while (file.lastFailure === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(file.lastFailure.code, 'CHECKPOINT_FAILED');
  store.failPuts = false;
  await file.flush();
  assert.equal(file.lastFailure, undefined);
  assert.equal(stored(store).key, 'uploads/b.jpg');
});
