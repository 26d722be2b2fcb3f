/**
 * `cache`: answers repeated inputs from Redis. Placed twice in a topology with one `namespace`:
 * `mode: lookup` before decoding, `mode: store` after `infer`. The lookup node keys each input by
 * the SHA-256 of its bytes and the model name and version, looks a batch of inputs up with one
 * MGET, sends misses on downstream and hands hits (prediction marked `cached`, model, image
 * features, embedding) straight to the store node, which emits them beside the inferred inputs:
 * hits skip decode, micro-batch and infer. The store node writes each new prediction with a TTL.
 * When Redis is unavailable every input is a miss counted as `bypass`, and caching resumes when
 * it returns. Every path from the lookup node to a sink must pass through the store node.
 */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { concatMap, EMPTY, map, merge, mergeMap, of, tap } from 'rxjs';
import type { Observable } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { CreateContext, Operator, OperatorContext, OptionProblem } from '../core/component.js';
import { envelopesOf, isBatch } from '../core/envelope.js';
import type { Envelope, Item } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { counterFamily, NO_METRICS } from '../core/metric-family.js';
import { loadManifest } from '../inference/manifest.js';
import { cacheKey, contentHash, decodeAnswer, encodeAnswer } from '../cache/cache-entry.js';
import type { CacheModel } from '../cache/cache-entry.js';
import { dropCacheChannel, openCacheChannel, takeCacheChannel } from '../cache/cache-channel.js';
import type { CacheChannel } from '../cache/cache-channel.js';
import { RedisCache } from '../cache/redis-cache.js';
import { openRegistry } from '../registry/open-registry.js';
import { StoreConnectionFields } from '../storage/store-options.js';
import { concurrentMap } from '../rx/concurrent-map.js';
import { microBatchBuffer } from '../rx/micro-batch-buffer.js';

/** Options of `cache`; defaults live in the schema (the runtime fills them in). */
export const CacheOptions = Type.Object(
  {
    mode: Type.Union([Type.Literal('lookup'), Type.Literal('store')], {
      description: '`lookup` (before decode-image: hits skip to the store node) or `store` (after infer: writes predictions and emits the hits).',
    }),
    namespace: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', default: 'default', description: 'Pairs a lookup node with its store node and is part of every key.' }),
    url: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379', description: 'Redis URL, e.g. `${CENTAUR_REDIS_URL}`.' }),
    keyPrefix: Type.String({ default: 'centaur:cache:', description: 'Prefix of every key: `<prefix><namespace>:<model>:<version>:<sha256 of the input bytes>`.' }),
    model: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ minLength: 1, description: 'Model folder whose `manifest.json` names the model and version, relative to the topology file.' })),
          registry: Type.Optional(
            Type.String({ minLength: 1, description: 'Model registry (a folder, `s3://` or `azure://` prefix) whose alias `infer` follows: look up the version the alias names now (with `name` and `alias`).' }),
          ),
          ...StoreConnectionFields,
          name: Type.Optional(Type.String({ minLength: 1, description: 'Model name (with `version`, or in the `registry`).' })),
          version: Type.Optional(Type.String({ minLength: 1, description: 'Model version (with `name`).' })),
          alias: Type.Optional(Type.String({ minLength: 1, description: 'With `registry`: the alias `infer` follows (default `production`).' })),
          pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, description: 'With `registry`: how often the alias is read, in milliseconds (default 5000, as `infer`).' })),
        },
        {
          additionalProperties: false,
          description:
            'Lookup only: the model version whose predictions are looked up (the one `infer` serves): a folder, a name and version, or a registry alias followed as `infer` follows it. Store nodes key by the model on each prediction.',
        },
      ),
    ),
    ttlSeconds: Type.Integer({ minimum: 0, default: 86400, description: 'Store only: time to live of an entry in seconds (0: no expiry).' }),
    includeEmbedding: Type.Boolean({ default: true, description: 'Store only: keep the embedding with the prediction, so hits carry it too.' }),
    maxBatch: Type.Integer({ minimum: 1, maximum: 1024, default: 64, description: 'Lookup only: inputs looked up in one MGET.' }),
    maxDelayMs: Type.Integer({ minimum: 0, default: 5, description: 'Lookup only: longest wait for a lookup batch to fill, in milliseconds.' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Lookup only: lookup batches in flight at once (output order is kept).' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 250, description: 'Longest wait for Redis per command; slower answers count as unavailable (bypass).' }),
    warnIntervalMs: Type.Integer({ minimum: 0, default: 30000, description: 'At most one warning about an unavailable Redis per interval, in milliseconds.' }),
  },
  { additionalProperties: false },
);
export type CacheOptions = Static<typeof CacheOptions>;

/** Hashes computed by a lookup node, reused by the store node when the envelope reaches it. */
const hashes = new WeakMap<Envelope, string>();

/** The content hash of an envelope's bytes (null for a reference payload: not cacheable). */
function hashOf(envelope: Envelope): string | null {
  const known = hashes.get(envelope);
  if (known !== undefined) return known;
  if (envelope.payload.kind !== 'bytes') return null;
  const hash = contentHash(envelope.payload.bytes);
  hashes.set(envelope, hash);
  return hash;
}

/** Which model version a lookup node keys by, now; a registry alias may move while it runs. */
export interface LookupModel {
  current(): CacheModel;
  /** Stops following a registry alias. */
  stop(): void;
}

/**
 * The model a lookup node keys by: from `model.path`'s manifest, from `model.name` and
 * `model.version`, or the version a registry alias names, read again every `pollIntervalMs` so
 * the lookup keys by the version `infer` swapped to (until both saw the move, a few inputs miss, or
 * hit on the previous version's answers, which say so).
 */
export async function lookupModel(options: CacheOptions, ctx: Pick<CreateContext, 'baseDir' | 'nodeId' | 'logger'>): Promise<LookupModel> {
  const m: NonNullable<CacheOptions['model']> = options.model ?? {};
  const fixed = (model: CacheModel): LookupModel => ({ current: () => model, stop: () => undefined });
  const named = lookupModelOf(m);
  if (named === undefined) {
    // Unreachable for validated options: `validate` refuses a lookup node without one model.
    throw new CentaurError('INTERNAL', `node \`${ctx.nodeId}\`: ${LOOKUP_MODEL_MESSAGE}`);
  }
  if (named.kind === 'registry') {
    const registry = await openRegistry(named.registry, ctx.baseDir, { ...(m.s3 === undefined ? {} : { s3: m.s3 }), ...(m.azure === undefined ? {} : { azure: m.azure }) });
    const name = named.name;
    const alias = m.alias ?? 'production';
    let model: CacheModel = { name, version: await registry.resolveVersion(name, alias) };
    let reading = false;
    const timer = setInterval(() => {
      if (reading) return;
      reading = true;
      registry
        .resolveVersion(name, alias)
        .then((version) => {
          if (version === model.version) return;
          ctx.logger.info({ node: ctx.nodeId, model: name, alias, from: model.version, to: version }, 'Cache lookups follow the alias to a new model version.');
          model = { name, version };
        })
        .catch((error: unknown) => ctx.logger.warn({ node: ctx.nodeId, model: name, alias, error: (error as Error).message }, 'Cannot read the model alias; lookups keep the current version.'))
        .finally(() => (reading = false));
    }, m.pollIntervalMs ?? 5000);
    timer.unref();
    return { current: () => model, stop: () => clearInterval(timer) };
  }
  if (named.kind === 'path') {
    const { manifest } = await loadManifest(path.resolve(ctx.baseDir, named.path));
    return fixed({ name: manifest.name, version: manifest.version });
  }
  return fixed({ name: named.name, version: named.version });
}

const LOOKUP_MODEL_MESSAGE = 'a lookup cache needs `model.path`, `model.name` with `model.version`, or `model.registry` with `model.name` (and `alias`): the model `infer` serves';

/** The one way a lookup node's `model` names its model, or undefined when it names none or mixes them. */
function lookupModelOf(
  m: CacheOptions['model'],
): { kind: 'registry'; registry: string; name: string } | { kind: 'path'; path: string } | { kind: 'fixed'; name: string; version: string } | undefined {
  if (m?.registry !== undefined && m.name !== undefined && m.path === undefined && m.version === undefined) return { kind: 'registry', registry: m.registry, name: m.name };
  if (m?.path !== undefined && m.name === undefined && m.version === undefined && m.registry === undefined) return { kind: 'path', path: m.path };
  if (m?.path === undefined && m?.registry === undefined && m?.name !== undefined && m.version !== undefined) return { kind: 'fixed', name: m.name, version: m.version };
  return undefined;
}

/** The rules between options the schema cannot say; see the spec's `validate`. */
function optionProblems(o: CacheOptions): OptionProblem[] {
  if (o.mode !== 'lookup' || lookupModelOf(o.model) !== undefined) return [];
  return [{ path: o.model === undefined ? [] : ['model'], message: LOOKUP_MODEL_MESSAGE, suggestion: 'name the model of the `infer` node, e.g. `model: { path: <its model folder> }`, and nothing else in `model`' }];
}

const lookups = counterFamily('centaur_cache_lookups_total', 'Cache lookups, by outcome (hit, miss, bypass: Redis unavailable).', ['outcome']);
const stores = counterFamily('centaur_cache_stores_total', 'Predictions written to the cache, by outcome (ok, error: Redis failed or unavailable).', ['outcome']);

/** Builds a lookup node: misses go downstream, hits to the store node through the channel. */
export function createCacheLookup(options: CacheOptions, model: CacheModel | LookupModel, cache: RedisCache, channel: CacheChannel, ctx: Pick<CreateContext, 'nodeId' | 'metrics'>, release: () => void = () => undefined): Operator {
  const counted = (ctx.metrics ?? NO_METRICS).counter(lookups);
  const following = 'current' in model ? model : { current: () => model, stop: () => undefined };
  const lookupBatch = async (envelopes: Envelope[], nodeId: string): Promise<{ hits: Envelope[]; misses: Envelope[] }> => {
    const started = performance.now();
    const model = following.current();
    const keyed: { envelope: Envelope; key: string }[] = [];
    const misses: Envelope[] = [];
    for (const envelope of envelopes) {
      const hash = hashOf(envelope);
      if (hash === null) misses.push(envelope);
      else keyed.push({ envelope, key: cacheKey(options.keyPrefix, options.namespace, model, hash) });
    }
    if (misses.length > 0) counted.inc({ outcome: 'miss' }, misses.length);
    const values = await cache.lookup(keyed.map((k) => k.key));
    const hits: Envelope[] = [];
    if (values === null) {
      counted.inc({ outcome: 'bypass' }, keyed.length);
      misses.push(...keyed.map((k) => k.envelope));
    } else {
      keyed.forEach(({ envelope }, i) => {
        const value = values[i];
        const answer = value === null || value === undefined ? null : decodeAnswer(value);
        if (answer === null) {
          misses.push(envelope);
          return;
        }
        envelope.prediction = answer.prediction;
        envelope.model = answer.model;
        if (answer.image !== undefined) envelope.image = answer.image;
        if (answer.embedding !== undefined) envelope.embedding = answer.embedding;
        hits.push(envelope);
      });
      counted.inc({ outcome: 'hit' }, hits.length);
      counted.inc({ outcome: 'miss' }, keyed.length - hits.length);
    }
    const elapsed = performance.now() - started;
    for (const envelope of envelopes) envelope.timings[nodeId] = elapsed;
    return { hits, misses };
  };
  return {
    accepts: 'any',
    apply: (input: Observable<Item>, opCtx: OperatorContext): Observable<Item> => {
      if (channel.storeNode === undefined) {
        following.stop();
        release();
        void cache.close();
        throw new CentaurError('CONFIG_INVALID', `node \`${opCtx.nodeId}\`: no \`cache\` node with \`mode: store\` and namespace \`${options.namespace}\` follows this lookup node`);
      }
      return input.pipe(
        concatMap((item) => {
          if (isBatch(item)) item.tensor?.release();
          return envelopesOf(item);
        }),
        microBatchBuffer<Envelope>(options.maxBatch, options.maxDelayMs, opCtx.scheduler),
        concurrentMap((batch: Envelope[]) => lookupBatch(batch, opCtx.nodeId), options.concurrency),
        // Hits are handed over from the subscriber, in order, never after unsubscription.
        mergeMap(({ hits, misses }): Observable<Item> => {
          for (const hit of hits) channel.hits.next(hit);
          return misses.length === 0 ? EMPTY : of<Item>({ kind: 'batch', envelopes: misses, tensor: null });
        }),
        tap({ complete: () => channel.hits.complete(), error: (error: unknown) => channel.hits.error(error) }),
      );
    },
    close: () => {
      following.stop();
      release();
      return cache.close();
    },
  };
}

/** Builds a store node: writes new predictions, and emits its lookup node's hits beside them. */
export function createCacheStore(options: CacheOptions, cache: RedisCache, channel: CacheChannel | null, ctx: Pick<CreateContext, 'metrics'>): Operator {
  const stored = (ctx.metrics ?? NO_METRICS).counter(stores);
  const pending = new Set<Promise<void>>();
  const storeItem = (item: Item): void => {
    const entries: { key: string; value: Buffer }[] = [];
    for (const envelope of envelopesOf(item)) {
      const p = envelope.prediction;
      const m = envelope.model;
      if (p === undefined || m === undefined || p.cached === true) continue;
      const hash = hashOf(envelope);
      const value = encodeAnswer(envelope, options.includeEmbedding);
      if (hash === null || value === null) continue;
      entries.push({ key: cacheKey(options.keyPrefix, options.namespace, m, hash), value });
    }
    if (entries.length === 0) return;
    const write = cache.store(entries).then((written) => {
      if (written > 0) stored.inc({ outcome: 'ok' }, written);
      if (written < entries.length) stored.inc({ outcome: 'error' }, entries.length - written);
    });
    pending.add(write);
    void write.finally(() => pending.delete(write));
  };
  return {
    accepts: 'any',
    apply: (input: Observable<Item>): Observable<Item> => {
      const stored = input.pipe(tap(storeItem));
      if (channel === null) return stored;
      return merge(stored, channel.hits.pipe(map((hit): Item => hit)));
    },
    close: async () => {
      await Promise.all(pending);
      await cache.close();
    },
  };
}

/** Creates either node from its options. */
async function createCache(options: CacheOptions, ctx: CreateContext): Promise<Operator> {
  const cache = async (): Promise<RedisCache> => {
    const redis = new RedisCache({ url: options.url, timeoutMs: options.timeoutMs, ttlSeconds: options.ttlSeconds, warnIntervalMs: options.warnIntervalMs }, ctx.logger, ctx.nodeId);
    await redis.waitReady(Math.max(options.timeoutMs, 1000));
    return redis;
  };
  if (options.mode === 'lookup') {
    const model = await lookupModel(options, ctx);
    let redis: RedisCache;
    try {
      redis = await cache();
    } catch (error) {
      model.stop();
      throw error;
    }
    const channel = openCacheChannel(ctx.topologyName, ctx.baseDir, options.namespace);
    // A run that stops before its store node is created must not leave the channel for the next run.
    return createCacheLookup(options, model, redis, channel, ctx, () => dropCacheChannel(ctx.topologyName, ctx.baseDir, options.namespace, channel));
  }
  return createCacheStore(options, await cache(), takeCacheChannel(ctx.topologyName, ctx.baseDir, options.namespace, ctx.nodeId), ctx);
}

/** The `cache` operator spec. */
export const cache = defineOperator({
  kind: 'cache',
  role: 'operator',
  description: 'Answers repeated images from Redis: `lookup` before decoding sends hits straight to its `store` node after infer, which caches new predictions with a TTL.',
  stability: 'experimental',
  options: CacheOptions,
  examples: [
    { title: 'The store node, after infer', options: { mode: 'store', namespace: 'demo', url: '${CENTAUR_REDIS_URL}' } },
    { title: 'The lookup node, before decode-image', options: { mode: 'lookup', namespace: 'demo', url: '${CENTAUR_REDIS_URL}', model: { path: 'models/demo' } } },
  ],
  metrics: [lookups, stores],
  claims: (o) => [`cache ${o.mode} node of namespace ${o.namespace}`],
  shortcut: (o) => ({ name: `cache namespace \`${o.namespace}\``, end: o.mode === 'lookup' ? 'from' : 'to' }),
  validate: (o) => optionProblems(o),
  create: (options, ctx) => createCache(options, ctx),
});
