/**
 * The `cache` operator's two nodes with an in-memory stand-in for Redis: the lookup node sends
 * misses on and hands hits to its store node, which writes only new predictions and emits the
 * hits beside its input; an unavailable Redis turns every lookup into a counted bypass; a lookup
 * node without a store node is a configuration error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, firstValueFrom, from, merge, Subject, toArray } from 'rxjs';
import { cacheKey, contentHash, encodeAnswer } from '../../src/cache/cache-entry.js';
import { dropCacheChannel, openCacheChannel, takeCacheChannel } from '../../src/cache/cache-channel.js';
import type { RedisCache } from '../../src/cache/redis-cache.js';
import type { OperatorContext } from '../../src/core/component.js';
import { envelopesOf } from '../../src/core/envelope.js';
import type { Envelope, Item } from '../../src/core/envelope.js';
import type { NodeMetrics } from '../../src/core/metric-family.js';
import { recordingMetrics } from '../helpers/recording-metrics.js';
import { CacheOptions, createCacheLookup, createCacheStore } from '../../src/operators/cache.js';
import { loadTopologyFile } from '../../src/topology/load.js';

const MODEL = { name: 'm', version: '1' };
const PREDICTION = { label: 'horse', classIndex: 0, confidence: 0.75, probabilities: [0.75, 0.25] };

let offset = 0;
function envelope(bytes: string): Envelope {
  offset += 1;
  return {
    id: `e${offset}`,
    eventTime: 0,
    position: { source: 's', partition: '0', offset },
    payload: { kind: 'bytes', bytes: Buffer.from(bytes) },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

function options(overrides: Partial<CacheOptions>): CacheOptions {
  const filled = Value.Default(CacheOptions, { ...overrides }) as CacheOptions;
  assert.ok(Value.Check(CacheOptions, filled));
  return filled;
}

/** A Redis stand-in: a map, or unavailable (`down`). */
function fakeCache(store: Map<string, Buffer>, state: { down: boolean; lookups: number }): RedisCache {
  const fake = {
    ready: true,
    waitReady: () => Promise.resolve(true),
    lookup: (keys: readonly string[]) => {
      state.lookups += 1;
      return Promise.resolve(state.down ? null : keys.map((k) => store.get(k) ?? null));
    },
    store: (entries: readonly { key: string; value: Buffer }[]) => {
      if (state.down) return Promise.resolve(0);
      for (const e of entries) store.set(e.key, e.value);
      return Promise.resolve(entries.length);
    },
    close: () => Promise.resolve(),
  };
  return fake as unknown as RedisCache;
}

function counting(): { metrics: NodeMetrics; readonly lookups: Record<string, number>; readonly stores: Record<string, number> } {
  const recorded = recordingMetrics();
  const byOutcome = (family: string): Record<string, number> =>
    Object.fromEntries([...recorded.counters].filter(([k]) => k.startsWith(`${family}{`)).map(([k, v]) => [k.slice(`${family}{outcome=`.length, -1), v]));
  return {
    metrics: recorded.metrics,
    get lookups() {
      return byOutcome('centaur_cache_lookups_total');
    },
    get stores() {
      return byOutcome('centaur_cache_stores_total');
    },
  };
}

const ctx = (nodeId: string): OperatorContext => ({ nodeId, scheduler: asyncScheduler, fail: () => assert.fail('nothing fails') });

test('hits skip to the store node; misses go on, are predicted and stored; the store node emits both', async () => {
  const o = options({ mode: 'lookup', namespace: 'unit', maxDelayMs: 1 });
  const redis = new Map<string, Buffer>();
  redis.set(cacheKey(o.keyPrefix, 'unit', MODEL, contentHash(Buffer.from('seen'))), encodeAnswer({ prediction: PREDICTION, model: MODEL, embedding: new Float32Array([1, 2]) }, true) as Buffer);
  const state = { down: false, lookups: 0 };
  const channel = openCacheChannel('t', '/unit', 'unit');
  assert.equal(takeCacheChannel('t', '/unit', 'unit', 'store'), channel);
  const m = counting();
  const lookup = createCacheLookup(o, MODEL, fakeCache(redis, state), channel, { nodeId: 'lookup', metrics: m.metrics });
  const store = createCacheStore(options({ mode: 'store', namespace: 'unit' }), fakeCache(redis, state), channel, { metrics: m.metrics });

  const inputs = [envelope('seen'), envelope('new'), envelope('seen'), envelope('other')];
  const missesOut = lookup.apply(from(inputs), ctx('lookup'));
  // Stand-in for decode → infer: predict every miss.
  const inferred = new Subject<Item>();
  const outputs = firstValueFrom(store.apply(inferred, ctx('store')).pipe(toArray()));
  const misses = (await firstValueFrom(missesOut.pipe(toArray()))).flatMap(envelopesOf);
  assert.deepEqual(misses.map((e) => e.id), [inputs[1]?.id, inputs[3]?.id]);
  for (const e of misses) {
    e.prediction = { ...PREDICTION, label: 'human' };
    e.model = MODEL;
  }
  inferred.next({ kind: 'batch', envelopes: misses, tensor: null });
  inferred.complete();
  const out = (await outputs).flatMap(envelopesOf);
  await store.close?.();
  assert.equal(state.lookups, 1, 'one MGET for the batch');
  assert.deepEqual(out.map((e) => e.id).sort(), inputs.map((e) => e.id).sort());
  const hits = out.filter((e) => e.prediction?.cached === true);
  assert.deepEqual(hits.map((e) => e.id).sort(), [inputs[0]?.id, inputs[2]?.id].sort());
  assert.deepEqual(hits[0]?.embedding, new Float32Array([1, 2]));
  assert.equal(typeof hits[0]?.timings.lookup, 'number');
  assert.deepEqual(m.lookups, { hit: 2, miss: 2 });
  assert.deepEqual(m.stores, { ok: 2 }, 'only new predictions are stored');
  assert.equal(redis.size, 3);
});

test('an unavailable Redis: every input goes on as a bypass, stores count as errors', async () => {
  const o = options({ mode: 'lookup', namespace: 'down', maxDelayMs: 1 });
  const state = { down: true, lookups: 0 };
  const channel = openCacheChannel('t', '/down', 'down');
  takeCacheChannel('t', '/down', 'down', 'store');
  const m = counting();
  const lookup = createCacheLookup(o, MODEL, fakeCache(new Map(), state), channel, { nodeId: 'lookup', metrics: m.metrics });
  const store = createCacheStore(options({ mode: 'store', namespace: 'down' }), fakeCache(new Map(), state), channel, { metrics: m.metrics });
  const inputs = [envelope('a'), envelope('b'), envelope('c')];
  const misses = (await firstValueFrom(lookup.apply(from(inputs), ctx('lookup')).pipe(toArray()))).flatMap(envelopesOf);
  assert.equal(misses.length, 3);
  for (const e of misses) {
    e.prediction = PREDICTION;
    e.model = MODEL;
  }
  const out = await firstValueFrom(merge(store.apply(from(misses), ctx('store'))).pipe(toArray()));
  await store.close?.();
  assert.equal(out.length, 3);
  assert.deepEqual(m.lookups, { bypass: 3 });
  assert.deepEqual(m.stores, { error: 3 });
});

test('a lookup node without a store node of its namespace is refused at validation', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cache-unpaired-'));
  try {
    await writeFile(
      path.join(dir, 't.yaml'),
      `version: 1
name: unpaired
nodes:
  images: { kind: files-source, path: . }
  lookup: { kind: cache, mode: lookup, from: [images], url: "redis://127.0.0.1:1", model: { name: m, version: "1" } }
  out: { kind: stdout-sink, from: [lookup] }
`,
    );
    await assert.rejects(loadTopologyFile(path.join(dir, 't.yaml')), (error: Error & { code?: string }) => error.code === 'CONFIG_INVALID' && /mode: store/.test(error.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two lookup nodes of one namespace are refused at validation', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cache-twice-'));
  try {
    await writeFile(
      path.join(dir, 't.yaml'),
      `version: 1
name: twice
nodes:
  images: { kind: files-source, path: . }
  a: { kind: cache, mode: lookup, from: [images], model: { name: m, version: "1" } }
  b: { kind: cache, mode: lookup, from: [a], model: { name: m, version: "1" } }
  out: { kind: stdout-sink, from: [b] }
`,
    );
    await assert.rejects(loadTopologyFile(path.join(dir, 't.yaml')), /cache lookup node of namespace default/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lookup node closed before any store node took its channel leaves nothing for the next run', () => {
  const channel = openCacheChannel('t', '/stale', 'stale');
  const lookup = createCacheLookup(options({ mode: 'lookup', namespace: 'stale' }), MODEL, fakeCache(new Map(), { down: false, lookups: 0 }), channel, { nodeId: 'lookup' }, () => dropCacheChannel('t', '/stale', 'stale', channel));
  void lookup.close?.();
  assert.equal(takeCacheChannel('t', '/stale', 'stale', 'store'), null);
});
