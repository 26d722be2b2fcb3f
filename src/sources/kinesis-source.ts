/**
 * `kinesis-source`: reads an Amazon Kinesis data stream, every shard with GetShardIterator and
 * GetRecords, and follows resharding (a child shard starts once its parents are finished). A
 * record becomes the same input a Kafka message does (`src/kafka/input-message.ts`): JSON with the
 * image in base64 or an object URI, the image bytes themselves, or Confluent-framed Avro. Each
 * shard is one partition; its records get dense offsets, and the runtime's highest contiguous
 * completed offset is turned back into a sequence number and checkpointed in an object
 * (`src/kinesis/checkpoint.ts`), so a restart resumes after the last completed record.
 *
 * One process reads a stream with one checkpoint: there is no lease table, so two instances on
 * the same stream would both read every shard.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { CreateContext, Source, SourceContext } from '../core/component.js';
import type { EnvelopeInit } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type { KafkaInputMessage } from '../kafka/client.js';
import { decodeInput, rawInput, ValueOptions } from '../kafka/input-message.js';
import { AvroRegistryCodec, SchemaRegistryOptions } from '../kafka/schema-registry.js';
import { CheckpointStore } from '../kinesis/checkpoint.js';
import type { ShardCheckpoint } from '../kinesis/checkpoint.js';
import { createKinesisApi } from '../kinesis/kinesis-client.js';
import type { KinesisApi, KinesisRecord } from '../kinesis/kinesis-client.js';
import { planShards } from '../kinesis/shard-plan.js';
import type { InitialPosition, ShardInfo, ShardState, StartPosition } from '../kinesis/shard-plan.js';
import { ShardProgress } from '../kinesis/shard-progress.js';
import { objectUriProblems, StoreConnectionFields } from '../storage/store-options.js';
import { locationToUri } from '../storage/object-uri.js';
import { storeFor } from '../storage/store-for.js';

/** Record formats; as Kafka values, but JSON by default (Kinesis records have no headers or framing convention). */
const KinesisValueOptions = Type.Object(
  {
    ...ValueOptions.properties,
    format: Type.Union([Type.Literal('json'), Type.Literal('bytes'), Type.Literal('avro')], {
      default: 'json',
      description: '`json`: a JSON object (image in base64, or an object URI); `bytes`: the record is the encoded image; `avro`: Confluent-framed Avro (needs `schemaRegistry`).',
    }),
    idField: Type.Optional(Type.String({ description: 'Field holding the input id. Default: `frameId`, `uploadId` or `id`, whichever exists, else `<stream>-<shard>-<sequence number>`.' })),
    timeField: Type.Optional(Type.String({ description: 'Field holding the event time, ms since the epoch or ISO 8601. Default: `captureTime`, `uploadTime` or `time`, else the record’s arrival time.' })),
    labelField: Type.String({ default: 'label', description: 'Field holding a known ground-truth label, if any.' }),
  },
  { additionalProperties: false, default: {}, description: 'How to read record data.' },
);

const CheckpointOptions = Type.Object(
  {
    uri: Type.String({
      minLength: 1,
      description: 'Where the checkpoint object lives: `s3://bucket/key.json`, `azure://container/blob.json`, `file:///path.json` or a path relative to the topology file. Ending in `/`: a folder, holding `<streamName>.checkpoint.json`.',
    }),
    intervalMs: Type.Integer({ minimum: 0, default: 5000, description: 'Most time between a commit and the checkpoint write (0 = write after every commit); always written at a clean stop.' }),
    ...StoreConnectionFields,
  },
  { additionalProperties: false, description: 'The checkpoint: per shard, the last completed sequence number. Without it, positions are kept in memory only and a restart begins at `startFrom` again.' },
);

const options = Type.Object(
  {
    streamName: Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9_.-]+$', description: 'The Kinesis data stream to read.' }),
    region: Type.Optional(Type.String({ minLength: 1, description: 'AWS region; default: `AWS_REGION` or the AWS config file, else `us-east-1` with a custom endpoint.' })),
    endpoint: Type.Optional(Type.String({ minLength: 1, description: 'Base URL of a Kinesis-compatible server (e.g. `${CENTAUR_KINESIS_ENDPOINT}`); default: AWS for the region.' })),
    profile: Type.Optional(Type.String({ minLength: 1, description: 'Profile of the AWS config files to take credentials from; default: the standard chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, roles).' })),
    startFrom: Type.Union([Type.Literal('TRIM_HORIZON'), Type.Literal('LATEST'), Type.Literal('AT_TIMESTAMP')], {
      default: 'TRIM_HORIZON',
      description: 'Where shards without a checkpoint start: the oldest record kept, new records only (closed shards are skipped), or `startTimestampMs`. Children of shards that were read always start at their beginning.',
    }),
    startTimestampMs: Type.Optional(Type.Integer({ minimum: 0, description: 'With `startFrom: AT_TIMESTAMP`: the first record at or after this arrival time (ms since the epoch).' })),
    value: KinesisValueOptions,
    schemaRegistry: Type.Optional(SchemaRegistryOptions),
    checkpoint: Type.Optional(CheckpointOptions),
    maxRecordsPerRequest: Type.Integer({ minimum: 1, maximum: 10000, default: 1000, description: 'Most records one GetRecords call returns (Kinesis also stops at 10 MiB).' }),
    pollIntervalMs: Type.Integer({ minimum: 0, default: 1000, description: 'Wait before reading a shard again once it is caught up (no records, or none behind).' }),
    minRequestIntervalMs: Type.Integer({
      minimum: 0,
      default: 200,
      description: 'Least time between two GetRecords calls on one shard while it is behind: Kinesis allows 5 per shard per second, shared by every consumer of the stream.',
    }),
    shardSyncIntervalMs: Type.Integer({ minimum: 100, default: 30000, description: 'How often the shard list is read again to find new shards (a finished shard also triggers it).' }),
    requestTimeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Deadline of one Kinesis request.' }),
  },
  { additionalProperties: false },
);
/** The options, with their defaults applied. */
export type KinesisSourceOptions = Static<typeof options>;
type Options = KinesisSourceOptions;

/** Reads images or upload events from a Kinesis data stream, checkpointing only completed records. */
export const kinesisSource = defineSource({
  kind: 'kinesis-source',
  role: 'source',
  description: 'Reads an Amazon Kinesis data stream (JSON, raw bytes or Avro), following resharding and checkpointing only completed records.',
  stability: 'experimental',
  options,
  examples: [
    { title: 'Raw image bytes per record, from a local Kinesis-compatible server', options: { streamName: 'camera-frames', endpoint: '${CENTAUR_KINESIS_ENDPOINT}', value: { format: 'bytes' } } },
    { title: 'Upload events (JSON with an object URI) on AWS, from the oldest record', options: { streamName: 'uploads', region: 'eu-west-1', startFrom: 'TRIM_HORIZON' } },
  ],
  claims: (o, baseDir) => (o.checkpoint === undefined ? [] : [`checkpoint ${checkpointUri(o.checkpoint.uri, o.streamName, baseDir)}`]),
  validate: (o, ctx) => [
    ...(o.value.format === 'avro' && o.schemaRegistry === undefined
      ? [{ path: ['value', 'format'], message: '`value.format: avro` needs `schemaRegistry`', suggestion: 'add `schemaRegistry: { url: … }`, or set `value.format` to `json` or `bytes`' }]
      : []),
    ...(o.startFrom === 'AT_TIMESTAMP' && o.startTimestampMs === undefined
      ? [{ path: ['startFrom'], message: '`startFrom: AT_TIMESTAMP` needs `startTimestampMs`', suggestion: 'add `startTimestampMs: <ms since the epoch>`, or set `startFrom` to `TRIM_HORIZON` or `LATEST`' }]
      : []),
    ...(o.checkpoint === undefined ? [] : objectUriProblems(['checkpoint', 'uri'], checkpointUri(o.checkpoint.uri, o.streamName, ctx.baseDir))),
  ],
  create: async (o, ctx): Promise<Source> => {
    const api = await createKinesisApi({
      streamName: o.streamName,
      ...(o.region === undefined ? {} : { region: o.region }),
      ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
      ...(o.profile === undefined ? {} : { profile: o.profile }),
      timeoutMs: o.requestTimeoutMs,
    });
    let checkpoint: CheckpointStore | undefined;
    if (o.checkpoint !== undefined) {
      const uri = checkpointUri(o.checkpoint.uri, o.streamName, ctx.baseDir);
      const store = await storeFor(uri, { ...(o.checkpoint.s3 === undefined ? {} : { s3: o.checkpoint.s3 }), ...(o.checkpoint.azure === undefined ? {} : { azure: o.checkpoint.azure }) });
      checkpoint = new CheckpointStore(store, uri, o.streamName, o.checkpoint.intervalMs, ctx.logger);
    }
    const codec = o.schemaRegistry === undefined ? undefined : await AvroRegistryCodec.create(o.schemaRegistry);
    return new KinesisSource(api, checkpoint, codec, o, ctx);
  },
});

/** The checkpoint's URI: object URIs as written, paths against the topology's folder; a trailing `/` names a folder. */
export function checkpointUri(location: string, streamName: string, baseDir: string): string {
  const uri = locationToUri(location, baseDir);
  return location.endsWith('/') ? `${uri.replace(/\/+$/, '')}/${streamName}.checkpoint.json` : uri;
}

/** Retries of a registry lookup that fails for infrastructure reasons, before the run fails. */
const REGISTRY_ATTEMPTS = 8;
/** Backoff of a shard's reads while Kinesis fails or throttles. */
const READ_BACKOFF_BASE_MS = 500;
const READ_BACKOFF_MAX_MS = 10000;

/** One shard being read. */
interface ShardReader {
  readonly progress: ShardProgress;
}

/** Builds a source around a Kinesis API (the SDK's, or a fake in tests). */
export function createKinesisSource(api: KinesisApi, checkpoint: CheckpointStore | undefined, codec: AvroRegistryCodec | undefined, o: Options, ctx: CreateContext): Source {
  return new KinesisSource(api, checkpoint, codec, o, ctx);
}

class KinesisSource implements Source {
  private readonly logger: Logger;
  private readonly readers = new Map<string, ShardReader>();
  /** What this process did with each shard it met. */
  private readonly states = new Map<string, ShardState>();
  /** The checkpoint as loaded and updated (kept here too when no checkpoint is configured). */
  private readonly entries = new Map<string, ShardCheckpoint>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly initial: InitialPosition;
  private paused = false;
  private stopped = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  private sourceCtx: SourceContext | undefined;
  private finish: ((error?: Error) => void) | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private reading = false;
  /** Why reads are failing right now, for /readyz. */
  private problem: string | undefined;

  constructor(
    private readonly api: KinesisApi,
    private readonly checkpoint: CheckpointStore | undefined,
    private readonly codec: AvroRegistryCodec | undefined,
    private readonly options: Options,
    private readonly ctx: CreateContext,
  ) {
    this.logger = ctx.logger;
    this.initial =
      options.startFrom === 'AT_TIMESTAMP' ? { kind: 'AT_TIMESTAMP', timestampMs: options.startTimestampMs ?? 0 } : { kind: options.startFrom };
  }

  async start(ctx: SourceContext): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.sourceCtx = ctx;
    if (this.checkpoint !== undefined) for (const [id, entry] of await this.checkpoint.load()) this.entries.set(id, entry);
    let shards: ShardInfo[];
    try {
      shards = await retry(() => this.api.listShards(this.abort.signal), { attempts: 4, baseDelayMs: 500, maxDelayMs: 4000, signal: this.abort.signal });
    } catch (error) {
      throw toCentaurError(error, 'KINESIS_UNAVAILABLE');
    }
    this.logger.info({ stream: this.options.streamName, shards: shards.length, checkpointed: this.entries.size }, 'Reading the Kinesis stream.');
    this.reading = true;
    this.plan(shards, ctx);
    this.scheduleSync(ctx);
    if (this.stopped) this.finish?.();
    try {
      await done;
    } finally {
      this.stopped = true;
      this.wakeAll();
      await Promise.allSettled([...this.running]);
    }
  }

  health(): string | null {
    if (!this.reading) return `not reading yet from Kinesis stream ${this.options.streamName}`;
    return this.problem ?? null;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeAll();
  }

  async commit(partition: string, offset: number): Promise<void> {
    const reader = this.readers.get(partition);
    if (reader === undefined) return;
    const sequenceNumber = reader.progress.completed(offset);
    if (sequenceNumber === undefined) return;
    if (reader.progress.finished) this.finished(partition);
    else this.record(partition, { sequenceNumber });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.syncTimer);
    this.abort.abort();
    this.wakeAll();
    this.finish?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    try {
      await this.checkpoint?.close();
    } finally {
      this.api.close();
    }
  }

  /** Starts the shards the plan allows and marks the skipped ones. */
  private plan(shards: readonly ShardInfo[], ctx: SourceContext): void {
    if (this.stopped) return;
    const { start, skip } = planShards(shards, this.entries, this.states, this.initial);
    for (const id of skip) this.states.set(id, 'skipped');
    for (const { shardId, position } of start) {
      const checkpointed = position.kind === 'after' ? position.sequenceNumber : undefined;
      const reader: ShardReader = { progress: new ShardProgress(shardId, checkpointed) };
      this.readers.set(shardId, reader);
      this.states.set(shardId, 'reading');
      this.logger.info({ shard: shardId, from: position.kind === 'after' ? `after ${position.sequenceNumber}` : position.kind }, 'Reading a Kinesis shard.');
      const run = this.readShard(shardId, reader, position, ctx).catch((error: unknown) => this.fail(error));
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  /** Reads the shard list again (one at a time; a request during a sync runs once more after it). */
  private sync(ctx: SourceContext): void {
    if (this.stopped) return;
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.api
      .listShards(this.abort.signal)
      .then((shards) => this.plan(shards, ctx))
      .catch((error: unknown) => {
        if (this.stopped) return;
        const err = toCentaurError(error, 'KINESIS_UNAVAILABLE');
        if (!err.retriable) this.fail(err);
        else this.logger.warn({ error: err.message }, 'Listing the Kinesis shards failed; it is tried again later.');
      })
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.sync(ctx);
        }
      });
  }

  private scheduleSync(ctx: SourceContext): void {
    if (this.stopped) return;
    this.syncTimer = setTimeout(() => {
      this.sync(ctx);
      this.scheduleSync(ctx);
    }, this.options.shardSyncIntervalMs);
    this.syncTimer.unref();
  }

  /**
   * Reads one shard until it ends or the source stops: fetch, decode, emit in order (waiting
   * while paused), then wait — briefly while the shard is behind, `pollIntervalMs` once caught up.
   */
  private async readShard(shardId: string, reader: ShardReader, position: StartPosition, ctx: SourceContext): Promise<void> {
    const progress = reader.progress;
    let iterator: string | undefined;
    let failures = 0;
    while (!this.stopped) {
      await this.whilePaused();
      if (this.stopped) return;
      let result;
      try {
        if (iterator === undefined) {
          // Resume after the last record read, or where the shard was to start.
          const last = progress.lastReadSequence;
          iterator = await this.api.shardIterator(shardId, last === undefined ? position : { kind: 'after', sequenceNumber: last }, this.abort.signal);
        }
        result = await this.api.getRecords(iterator, this.options.maxRecordsPerRequest, this.abort.signal);
      } catch (error) {
        if (this.stopped) return;
        const err = toCentaurError(error, 'KINESIS_UNAVAILABLE');
        if (!err.retriable) throw err;
        failures += 1;
        if (failures === 1) this.logger.warn({ shard: shardId, error: err.message }, 'Reading a Kinesis shard failed; retrying with backoff.');
        this.problem = `reading shard ${shardId} fails: ${err.message}`;
        await this.sleep(Math.random() * Math.min(READ_BACKOFF_MAX_MS, READ_BACKOFF_BASE_MS * 2 ** (failures - 1)));
        continue;
      }
      if (failures > 0) {
        this.logger.info({ shard: shardId, failures }, 'Reading the Kinesis shard works again.');
        failures = 0;
        this.problem = undefined;
      }
      if (result.kind === 'expired') {
        iterator = undefined;
        continue;
      }
      await this.emitAll(shardId, result.records, progress, ctx);
      if (this.stopped) return;
      if (result.nextIterator === undefined) {
        progress.endReached();
        this.logger.info({ shard: shardId }, 'The Kinesis shard was read to its end.');
        if (progress.finished) this.finished(shardId);
        return;
      }
      iterator = result.nextIterator;
      const behind = result.records.length > 0 && (result.millisBehindLatest ?? 1) > 0;
      await this.sleep(behind ? this.options.minRequestIntervalMs : this.options.pollIntervalMs);
    }
  }

  /** Decodes the records (registry lookups together) and emits them in order, waiting while paused. */
  private async emitAll(shardId: string, records: readonly KinesisRecord[], progress: ShardProgress, ctx: SourceContext): Promise<void> {
    if (records.length === 0) return;
    const messages = records.map((r) => toMessage(this.options.streamName, shardId, r));
    const place = { sourceId: this.ctx.nodeId, partition: shardId, epoch: 0 };
    const decoded = await Promise.all(messages.map((m) => this.decode(m, place)));
    for (const [i, record] of records.entries()) {
      if (this.paused) await this.whilePaused();
      if (this.stopped) return;
      const offset = progress.read(record.sequenceNumber);
      const result = decoded[i] as EnvelopeInit | CentaurError;
      const message = { ...(messages[i] as KafkaInputMessage), offset };
      if (result instanceof CentaurError) {
        const raw = rawInput(message, place);
        ctx.fail({ ...raw, id: recordId(this.options.streamName, shardId, record), position: { ...raw.position, offset } }, result);
      } else {
        ctx.emit(withPlace(result, message, shardId, record, offset));
      }
    }
  }

  private async decode(message: KafkaInputMessage, place: { sourceId: string; partition: string; epoch: number }): Promise<EnvelopeInit | CentaurError> {
    try {
      if (this.options.value.format !== 'avro') return await decodeInput(message, place, this.options.value, undefined);
      return await retry(() => decodeInput(message, place, this.options.value, this.codec), {
        attempts: REGISTRY_ATTEMPTS,
        baseDelayMs: 200,
        maxDelayMs: 5000,
        signal: this.abort.signal,
        onRetry: (error, attempt) => this.logger.warn({ error: error.message, attempt }, 'Schema registry lookup failed; retrying.'),
      });
    } catch (error) {
      const err = toCentaurError(error, 'KINESIS_RECORD_INVALID');
      if (err.category !== 'data') throw err;
      // The shared decoder names Kafka; a Kinesis record gets the Kinesis code.
      return err.code === 'KAFKA_VALUE_INVALID' ? new CentaurError('KINESIS_RECORD_INVALID', err.message, { cause: err }) : err;
    }
  }

  /** A shard read to its end with every record completed: checkpoint it and look for its children. */
  private finished(shardId: string): void {
    if (this.states.get(shardId) === 'finished') return;
    this.states.set(shardId, 'finished');
    const last = this.readers.get(shardId)?.progress.lastCompletedSequence;
    this.record(shardId, { ...(last === undefined ? {} : { sequenceNumber: last }), finished: true });
    this.logger.info({ shard: shardId }, 'The Kinesis shard is finished; its children may start.');
    this.readers.delete(shardId);
    if (this.sourceCtx !== undefined) this.sync(this.sourceCtx);
  }

  private record(shardId: string, entry: ShardCheckpoint): void {
    this.entries.set(shardId, entry);
    this.checkpoint?.update(shardId, entry);
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    const err = toCentaurError(error, 'KINESIS_UNAVAILABLE');
    this.logger.error({ error: err.message }, 'Reading the Kinesis stream failed.');
    this.finish?.(err);
    void this.stop();
  }

  /** Resolves once the source is neither paused nor (then at once) stopped. */
  private async whilePaused(): Promise<void> {
    while (this.paused && !this.stopped) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Waits `ms`, ending early when the source stops. */
  private async sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    if (ms <= 0 || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A record in the shape the shared decoder reads (no headers: Kinesis records have none). */
function toMessage(stream: string, shardId: string, record: KinesisRecord): KafkaInputMessage {
  return {
    topic: stream,
    partition: shardNumber(shardId),
    offset: 0,
    key: Buffer.from(record.partitionKey, 'utf8'),
    value: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength),
    headers: {},
    timestamp: record.arrivalMs,
  };
}

/** The input's position is the shard and its counter; a default id names the shard and sequence number, stable across restarts. */
function withPlace(init: EnvelopeInit, message: KafkaInputMessage, shardId: string, record: KinesisRecord, offset: number): EnvelopeInit {
  const defaultId = `${message.topic}-${message.partition}-0`;
  return {
    ...init,
    ...(init.id === defaultId ? { id: recordId(message.topic, shardId, record) } : {}),
    position: { ...init.position, partition: shardId, offset },
  };
}

function recordId(stream: string, shardId: string, record: KinesisRecord): string {
  return `${stream}-${shardId}-${record.sequenceNumber}`;
}

/** `shardId-000000000003` → 3 (the decoder wants a number; only the default id uses it). */
function shardNumber(shardId: string): number {
  const match = /(\d+)$/.exec(shardId);
  return match === null ? 0 : Number(match[1]);
}
