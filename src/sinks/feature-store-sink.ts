/**
 * `feature-store-sink`: embeddings and predictions into a feature store, for serving now and for
 * training later. The online store keeps the latest row per image in Redis, in exactly the layout
 * of Feast's Redis online store (`src/feature-store/feast-redis-layout.ts`), so a Feast feature
 * repository over the same project, entity and feature view reads it with
 * `get_online_features`. The offline store appends every row to date-partitioned Parquet files
 * in the lake (`file://`, `s3://`, `azure://`), for point-in-time training sets.
 *
 * A write resolves, and its inputs are acknowledged, only once Redis confirmed its rows and the
 * Parquet files holding them are uploaded. Redis comes first: when it fails, nothing of the write
 * is in the lake yet, so the runtime's retry of the write adds no offline row twice (a retry
 * after a failed upload writes the Redis rows again, which changes nothing).
 *
 * Online rows are last-write-wins, like Feast's writer with `skip_dedup`: Feast's own writer
 * would skip a row whose event time is not newer than the stored one, which would keep the old
 * model's features when the same images are classified again with a new model.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { FEAST_NAME_PATTERN, feastRow } from '../feature-store/feast-redis-layout.js';
import { onlineFeatures, toFeatureRow } from '../feature-store/feature-row.js';
import type { FeatureRow } from '../feature-store/feature-row.js';
import { FeastOfflineStore } from '../feature-store/offline-store.js';
import { FeastOnlineStore } from '../feature-store/online-store.js';
import { storeFor } from '../storage/store-for.js';
import { LAKE_FOLDER_PATTERN, objectUriProblems, StoreUploadFields } from '../storage/store-options.js';
import { lakeBaseUri, probeLake } from '../storage/lake-location.js';

const KeyFromOption = Type.Union([Type.Literal('id'), Type.Literal('key')], {
  default: 'id',
  description: 'The entity value of a row: the input’s `id` (for `files-source`, the file’s path under its folder) or its `key` (e.g. the Kafka message key; an input without one goes to the dead letter).',
});

const OnlineOptions = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'Redis URL, e.g. `redis://127.0.0.1:6379` or `rediss://:${REDIS_PASSWORD}@host:6380/0` — the Redis of the Feast repository’s `online_store`.' }),
    project: Type.String({ pattern: FEAST_NAME_PATTERN, description: 'The Feast project (`project:` in `feature_store.yaml`); part of every Redis key.' }),
    featureView: Type.String({ pattern: FEAST_NAME_PATTERN, description: 'The Feast feature view holding the features `embedding`, `predicted_label`, `confidence` and `model_version`.' }),
    entity: Type.String({ pattern: FEAST_NAME_PATTERN, default: 'image_id', description: 'The join key of the feature view’s entity (a `String` value).' }),
    keyFrom: KeyFromOption,
    ttlSeconds: Type.Integer({ minimum: 0, default: 0, description: 'Expire each image’s row this long after its last write, like Feast’s `key_ttl_seconds` (0 = never).' }),
    timeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Deadline of one pipeline of writes (and of the connection at start), in milliseconds.' }),
  },
  { additionalProperties: false, description: 'The online store: the latest row per image in Redis, in Feast’s Redis online store layout.' },
);

const OfflineOptions = Type.Object(
  {
    uri: Type.String({
      minLength: 1,
      description:
        'Where the lake is: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path`, or a folder relative to the topology file. The bucket or container must exist, and the credentials may list and write under it (checked at start).',
    }),
    prefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'features', description: 'Folder of the Parquet files under `uri`: `<uri>/<prefix>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet`.' }),
    entity: Type.String({ pattern: FEAST_NAME_PATTERN, default: 'image_id', description: 'Name of the entity column (the join key of the Feast entity).' }),
    keyFrom: KeyFromOption,
    partitionBy: Type.Union([Type.Literal('event-time'), Type.Literal('write-time')], {
      default: 'event-time',
      description: 'The date of a row’s `dt=` partition (UTC): the input’s event time, or the time it is written.',
    }),
    maxFileBytes: Type.Integer({ minimum: 1024, default: 67108864, description: 'Upload a file once its rows reach about this size before compression.' }),
    maxFileRecords: Type.Integer({
      minimum: 1,
      default: 256,
      description: 'Upload a file once it holds this many rows. Inputs are acknowledged only when their file is uploaded, so keep it below the topology’s `limits.maxInFlight`.',
    }),
    maxFileAgeMs: Type.Integer({ minimum: 0, default: 60000, description: 'Upload a file this long after its first row (0 = no age limit).' }),
    maxIdleMs: Type.Integer({ minimum: 0, default: 1000, description: 'Upload a file once no row arrived for this long, e.g. at the end of the input (0 = never for idleness).' }),
    compression: Type.Union([Type.Literal('zstd'), Type.Literal('snappy'), Type.Literal('none')], { default: 'zstd', description: 'Parquet page compression.' }),
    ...StoreUploadFields,
  },
  { additionalProperties: false, description: 'The offline store: every row appended to date-partitioned Parquet files in the lake, for training sets.' },
);

const options = Type.Object(
  {
    online: Type.Optional(OnlineOptions),
    offline: Type.Optional(OfflineOptions),
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;
type OfflineOptions = Static<typeof OfflineOptions>;

/** Writes embeddings and predictions to a Feast online store (Redis) and to Parquet files in the lake. */
export const featureStoreSink = defineSink({
  kind: 'feature-store-sink',
  role: 'sink',
  description: 'Writes embeddings and predictions to a feature store: the latest per image in Redis in Feast’s online layout, every row to Parquet in the lake.',
  stability: 'experimental',
  options,
  examples: [
    { title: 'The offline store: Parquet in a lake folder', options: { offline: { uri: 'lake' } } },
    {
      title: "Online (Feast's Redis layout) and offline",
      options: { online: { url: '${CENTAUR_REDIS_URL}', project: 'centaur', featureView: 'image_embeddings' }, offline: { uri: 's3://lake/features' } },
    },
  ],
  claims: (o, baseDir) => [
    ...(o.online === undefined ? [] : [`feast online store ${o.online.project}/${o.online.featureView}`]),
    ...(o.offline === undefined ? [] : [`output ${offlineBase(o.offline, baseDir)}/`]),
  ],
  validate: (o, ctx) => [
    ...(o.online === undefined && o.offline === undefined
      ? [{ path: [], message: '`feature-store-sink` needs `online`, `offline` or both', suggestion: 'add `online: { url, project, featureView }` (Redis) and/or `offline: { uri }` (Parquet in the lake)' }]
      : []),
    ...(o.offline === undefined ? [] : objectUriProblems(['offline', 'uri'], offlineBase(o.offline, ctx.baseDir))),
  ],
  create: async (o, ctx): Promise<Sink> => {
    const offline = o.offline === undefined ? undefined : await openOffline(o.offline, ctx.baseDir, ctx.logger, ctx.nodeId);
    let online: FeastOnlineStore | undefined;
    if (o.online !== undefined) {
      online = new FeastOnlineStore({ url: o.online.url, timeoutMs: o.online.timeoutMs, ttlSeconds: o.online.ttlSeconds }, ctx.logger, ctx.nodeId);
      try {
        await online.connect();
      } catch (error) {
        await offline?.close();
        throw error;
      }
    }
    return new FeatureStoreSink(o, online, offline, ctx.logger, ctx.nodeId);
  },
});

/** `<uri>/<prefix>` of the offline files, without a trailing slash. */
function offlineBase(o: OfflineOptions, baseDir: string): string {
  return `${lakeBaseUri(o.uri, baseDir)}/${o.prefix}`;
}

/** Opens the offline lake, probed before any input is read (`probeLake`). */
async function openOffline(o: OfflineOptions, baseDir: string, logger: Logger, nodeId: string): Promise<FeastOfflineStore> {
  const base = offlineBase(o, baseDir);
  const store = await storeFor(base, { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
  await probeLake(store, base, o.retries, nodeId, 'offline.uri');
  return new FeastOfflineStore(
    {
      base,
      entity: o.entity,
      partitionBy: o.partitionBy,
      maxFileBytes: o.maxFileBytes,
      maxFileRecords: o.maxFileRecords,
      maxFileAgeMs: o.maxFileAgeMs,
      maxIdleMs: o.maxIdleMs,
      compression: o.compression,
      retries: o.retries,
    },
    store,
    logger,
    nodeId,
  );
}

/** Writes that may wait at once for their Parquet file to be uploaded. */
const WAITING_WRITES = 64;

class FeatureStoreSink implements Sink {
  /** With an offline store, many writes wait for the same file; online only, a few pipelines at once. */
  readonly concurrency: number;
  readonly batching = { maxSize: 128, maxDelayMs: 10 };
  private failure: string | null = null;
  private waiting = 0;
  private rowsOnline = 0;

  constructor(
    private readonly o: Options,
    private readonly online: FeastOnlineStore | undefined,
    private readonly offline: FeastOfflineStore | undefined,
    private readonly logger: Logger,
    private readonly node: string,
  ) {
    this.concurrency = offline === undefined ? 4 : WAITING_WRITES;
  }

  /**
   * Writes the rows of the envelopes that make one, to Redis first and then to the lake;
   * resolves once both hold them, naming the envelopes that make no row (dead letters).
   */
  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    const online: FeatureRow[] = [];
    const offline: FeatureRow[] = [];
    for (const envelope of envelopes) {
      // An envelope either store cannot take is a dead letter: neither store gets its row.
      const onlineRow = this.o.online === undefined ? undefined : toFeatureRow(envelope, this.o.online.keyFrom);
      const offlineRow = this.o.offline === undefined ? undefined : toFeatureRow(envelope, this.o.offline.keyFrom);
      const error = onlineRow instanceof CentaurError ? onlineRow : offlineRow instanceof CentaurError ? offlineRow : undefined;
      if (error !== undefined) {
        rejections.push({ envelope, error });
        continue;
      }
      if (onlineRow !== undefined) online.push(onlineRow as FeatureRow);
      if (offlineRow !== undefined) offline.push(offlineRow as FeatureRow);
    }
    // The lake's rows follow the Redis write: the end-of-input flush waits for them.
    const appended = offline.length === 0 ? undefined : this.offline?.expect();
    try {
      try {
        await this.writeOnline(online);
      } catch (error) {
        appended?.();
        throw error;
      }
      const offlineWritten = this.writeOffline(offline); // appends at once, then waits for the upload
      appended?.();
      await offlineWritten;
      this.failure = null;
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    }
    return rejections;
  }

  /** Uploads every open Parquet file and waits for it. */
  async flush(endOfInput = false): Promise<void> {
    await this.offline?.flush(endOfInput);
  }

  /** Flushes, then closes the Redis connection and the lake's. */
  async close(): Promise<void> {
    await this.flush();
    await this.online?.close();
    await this.offline?.close();
    const s = this.offline?.stats;
    this.logger.info({ node: this.node, rowsOnline: this.rowsOnline, rowsOffline: s?.records ?? 0, offlineFiles: s?.files ?? 0 }, 'Feature store sink closed.');
  }

  /** Redis not connected, or the last write's failure until a write succeeds. */
  health(): string | null {
    if (this.online !== undefined && !this.online.ready) return 'feature store Redis not connected';
    return this.failure;
  }

  private async writeOnline(rows: readonly FeatureRow[]): Promise<void> {
    const o = this.o.online;
    if (this.online === undefined || o === undefined || rows.length === 0) return;
    const target = { project: o.project, featureView: o.featureView, joinKey: o.entity };
    await this.online.write(rows.map((row) => feastRow(target, row.entity, onlineFeatures(row), row.eventTime)));
    this.rowsOnline += rows.length;
  }

  private async writeOffline(rows: readonly FeatureRow[]): Promise<void> {
    if (this.offline === undefined || rows.length === 0) return;
    this.waiting += 1;
    try {
      await this.offline.append(rows, this.waiting, WAITING_WRITES);
    } finally {
      this.waiting -= 1;
    }
  }
}
