/**
 * A lookup node keyed by a registry alias: it keys by the version the alias names now, so after
 * `infer` swaps versions, repeats are answered by the new version's predictions, not the old.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, firstValueFrom, Subject, toArray } from 'rxjs';
import { cacheKey, contentHash, encodeAnswer } from '../../src/cache/cache-entry.js';
import type { CacheModel } from '../../src/cache/cache-entry.js';
import { openCacheChannel, takeCacheChannel } from '../../src/cache/cache-channel.js';
import type { RedisCache } from '../../src/cache/redis-cache.js';
import { createLogger } from '../../src/core/logger.js';
import type { Envelope, Item } from '../../src/core/envelope.js';
import { CacheOptions, createCacheLookup, lookupModel } from '../../src/operators/cache.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { tinyModelVersion } from '../helpers/model-copy.js';

function envelope(id: string, bytes: string): Envelope {
  return {
    id,
    eventTime: 0,
    position: { source: 's', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes: Buffer.from(bytes) },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

test('a lookup on a registry alias keys by the version the alias names, and follows it when it moves', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-cache-alias-'));
  const sources = [await tinyModelVersion('1'), await tinyModelVersion('2')];
  try {
    const registry = new ModelRegistry(root);
    const first = await registry.register(sources[0] as string, { aliases: ['production'] });
    await registry.register(sources[1] as string);
    const o = Value.Default(CacheOptions, { mode: 'lookup', model: { registry: root, name: first.model, pollIntervalMs: 100 } }) as CacheOptions;
    const model = await lookupModel(o, { baseDir: root, nodeId: 'lookup', logger: createLogger('silent') });
    try {
      assert.deepEqual(model.current(), { name: first.model, version: '1' });
      await registry.setAlias(first.model, 'production', '2');
      const deadline = Date.now() + 10_000;
      while (model.current().version !== '2' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(model.current(), { name: first.model, version: '2' });
    } finally {
      model.stop();
    }
  } finally {
    await Promise.all([root, ...sources].map((d) => rm(d, { recursive: true, force: true })));
  }
});

test('after the version moves, repeats are answered by the new version’s predictions', async () => {
  const o = Value.Default(CacheOptions, { mode: 'lookup', namespace: 'alias', maxDelayMs: 1, model: { name: 'm', version: '1' } }) as CacheOptions;
  const v1: CacheModel = { name: 'm', version: '1' };
  const v2: CacheModel = { name: 'm', version: '2' };
  const hash = contentHash(Buffer.from('seen'));
  const store = new Map<string, Buffer>([
    [cacheKey(o.keyPrefix, 'alias', v1, hash), encodeAnswer({ prediction: { label: 'horse', classIndex: 0, confidence: 0.9, probabilities: [0.9, 0.1] }, model: v1 }, false) as Buffer],
    [cacheKey(o.keyPrefix, 'alias', v2, hash), encodeAnswer({ prediction: { label: 'human', classIndex: 1, confidence: 0.8, probabilities: [0.2, 0.8] }, model: v2 }, false) as Buffer],
  ]);
  const fake = { lookup: (keys: readonly string[]) => Promise.resolve(keys.map((k) => store.get(k) ?? null)), close: () => Promise.resolve() } as unknown as RedisCache;
  let current = v1;
  const channel = openCacheChannel('t', '/alias', 'alias');
  takeCacheChannel('t', '/alias', 'alias', 'store');
  const hits: Envelope[] = [];
  channel.hits.subscribe((e) => hits.push(e));
  const lookup = createCacheLookup(o, { current: () => current, stop: () => undefined }, fake, channel, { nodeId: 'lookup' });
  const ctx = { nodeId: 'lookup', scheduler: asyncScheduler, fail: () => assert.fail('nothing fails') };
  const input = new Subject<Item>();
  const done = firstValueFrom(lookup.apply(input, ctx).pipe(toArray()));
  input.next(envelope('a', 'seen'));
  while (hits.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  current = v2;
  input.next(envelope('b', 'seen'));
  input.complete();
  await done;
  assert.deepEqual(
    hits.map((e) => [e.id, e.model?.version, e.prediction?.label]),
    [
      ['a', '1', 'horse'],
      ['b', '2', 'human'],
    ],
  );
});
