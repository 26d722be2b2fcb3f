/**
 * `tfrecord-sink`: the training-data cache. Writes one `tf.train.Example` per input into TFRecord
 * files in an object store or a folder (`<uri>/<prefix>/part-<run>-<shard>-<seq>.tfrecord`,
 * optionally gzipped), which TensorFlow's `TFRecordDataset` reads as they are. Each record holds
 * the input's encoded image bytes, or the preprocessed float tensor `decode-image` produced with
 * its shape, plus its id, format, size, label (true when the input carries one, else predicted)
 * and model version.
 *
 * Records are spread over `shards` files written side by side: an input goes to shard
 * FNV-1a(id) mod `shards`, so where it lands depends on the input alone (a repeated input lands in
 * the same shard) and not on arrival order. Objects cannot be appended to, so each shard's file is
 * built in memory and uploaded whole when it rolls (records, bytes, age, idleness); a write
 * resolves, and its inputs are acknowledged, only once every file holding its records is in the
 * store. An input without the part to write (no tensor, or a reference instead of bytes) is
 * refused as a dead letter (PAYLOAD_MISSING).
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type * as TfrecordModule from '../formats/tfrecord.js';
import type { Features } from '../formats/tfrecord.js';
import { scaleTable } from '../tensors/pack-batch.js';
import type { ObjectStore } from '../storage/object-store.js';
import { storeFor } from '../storage/store-for.js';
import { LAKE_FOLDER_PATTERN, objectUriProblems, StoreUploadFields } from '../storage/store-options.js';
import { RollingObjectFiles } from '../storage/rolling-object-files.js';
import { lakeBaseUri, probeLake } from '../storage/lake-location.js';

const options = Type.Object(
  {
    uri: Type.String({
      minLength: 1,
      description:
        'Where the files go: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path`, or a folder relative to the topology file. The bucket or container must exist, and the credentials may list and write under it (checked at start).',
    }),
    payload: Type.Union([Type.Literal('encoded'), Type.Literal('tensor')], {
      default: 'encoded',
      description:
        'What each record holds: `encoded`, the input’s image bytes as read (`image/encoded`); `tensor`, the float32 HWC tensor `decode-image` produced, scaled as the model sees it (`image/tensor` and `image/shape`). `infer` drops the tensor, so a `tensor` sink takes its input `from` the `decode-image` node.',
    }),
    prefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'tfrecords', description: 'Folder of the TFRecord files under `uri`.' }),
    shards: Type.Integer({
      minimum: 1,
      maximum: 256,
      default: 1,
      description: 'Files written side by side; an input goes to shard FNV-1a(id) mod `shards`. Each shard rolls its own files.',
    }),
    compression: Type.Union([Type.Literal('none'), Type.Literal('gzip')], {
      default: 'none',
      description: 'Gzip each file (`.tfrecord.gz`; read with `TFRecordDataset(files, compression_type="GZIP")`).',
    }),
    classes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Class names by index, for `label/index` of true labels; default: the classes of the model that predicted the input (when it went through `infer`).',
      }),
    ),
    maxFileBytes: Type.Integer({ minimum: 1024, default: 134217728, description: 'Upload a shard’s file once it reaches this size (before compression).' }),
    maxFileRecords: Type.Integer({
      minimum: 1,
      default: 256,
      description: 'Upload a shard’s file once it holds this many records. Inputs are acknowledged only when their file is uploaded, so keep `shards` × `maxFileRecords` below the topology’s `limits.maxInFlight`.',
    }),
    maxFileAgeMs: Type.Integer({ minimum: 0, default: 60000, description: 'Upload a shard’s file this long after its first record (0 = no age limit).' }),
    maxIdleMs: Type.Integer({ minimum: 0, default: 1000, description: 'Upload a shard’s file once no record arrived for it for this long, e.g. at the end of the input (0 = never for idleness).' }),
    ...StoreUploadFields,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Writes that may wait at once for their files to be uploaded. */
const WAITING_WRITES = 64;

/** The TFRecord format module, loaded in `create()` (it loads protobufjs and a native CRC32C). */
type TfrecordFormat = typeof TfrecordModule;

/** Writes inputs as `tf.train.Example` records into sharded TFRecord files. */
export const tfrecordSink = defineSink({
  kind: 'tfrecord-sink',
  role: 'sink',
  description: 'Writes inputs (encoded images or decoded tensors, with labels) as tf.train.Example records in sharded TFRecord files to S3, Azure Blob or a folder.',
  stability: 'experimental',
  options,
  examples: [
    { title: 'Training examples as TFRecord files in a folder', options: { uri: 'training' } },
    { title: 'Four gzipped shards in S3', options: { uri: 's3://lake/training', shards: 4, compression: 'gzip' } },
  ],
  claims: (o, baseDir) => [`output ${lakeBaseUri(o.uri, baseDir)}/${o.prefix}/`],
  validate: (o, ctx) => objectUriProblems(['uri'], lakeBaseUri(o.uri, ctx.baseDir)),
  create: async (o, ctx): Promise<Sink> => {
    const base = lakeBaseUri(o.uri, ctx.baseDir);
    const format = await import('../formats/tfrecord.js');
    const store = await storeFor(base, { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
    await probeLake(store, base, o.retries, ctx.nodeId);
    return new TfrecordSink(o, `${base}/${o.prefix}`, store, format, ctx.logger);
  },
});

/** FNV-1a (32-bit) of a string's UTF-16 code units: a fast, stable spread of ids over shards. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** The image format from the first bytes (JPEG, PNG, WebP, GIF), when decode-image did not record it. */
function sniffFormat(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return 'png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'GIF8') return 'gif';
  return undefined;
}

/** The record's label: the input's true one when it has one, else the predicted one; undefined with neither. */
function labelOf(envelope: Envelope, classes: readonly string[] | undefined): { label: string; source: 'true' | 'predicted'; index?: number } | undefined {
  if (envelope.label !== undefined) {
    const index = (classes ?? envelope.model?.classes)?.indexOf(envelope.label) ?? -1;
    return { label: envelope.label, source: 'true', ...(index >= 0 ? { index } : {}) };
  }
  const p = envelope.prediction;
  return p === undefined ? undefined : { label: p.label, source: 'predicted', index: p.classIndex };
}

const gzip = promisify(gzipCallback);

class TfrecordSink implements Sink {
  readonly concurrency = WAITING_WRITES;
  readonly batching = { maxSize: 128, maxDelayMs: 10 };
  /** One open file per shard (the partition is the shard number). */
  private readonly files: RollingObjectFiles<Buffer>;
  private waiting = 0;
  private failure: string | null = null;
  private refused = 0;

  constructor(
    private readonly o: Options,
    base: string,
    private readonly store: ObjectStore,
    private readonly format: TfrecordFormat,
    private readonly logger: Logger,
  ) {
    const run = `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
    const ext = o.compression === 'gzip' ? '.tfrecord.gz' : '.tfrecord';
    const contentType = o.compression === 'gzip' ? 'application/gzip' : 'application/octet-stream';
    this.files = new RollingObjectFiles<Buffer>({
      fileUri: ({ partition, partitionSeq }) => `${base}/part-${run}-${partition.padStart(5, '0')}-${String(partitionSeq).padStart(6, '0')}${ext}`,
      maxFileBytes: o.maxFileBytes,
      maxFileRecords: o.maxFileRecords,
      maxFileAgeMs: o.maxFileAgeMs,
      maxIdleMs: o.maxIdleMs,
      format: {
        sizeOf: (record) => record.length,
        encode: (records) => (o.compression === 'gzip' ? gzip(Buffer.concat(records)) : Buffer.concat(records)),
      },
      upload: (uri, body) => this.withRetries(() => store.put(uri, body, { contentType })),
    });
  }

  /** Adds a record per envelope to its shard's file; resolves when every file holding them is in the store. */
  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    const uploads = new Set<Promise<void>>();
    for (const envelope of envelopes) {
      const features = this.featuresOf(envelope);
      if (features instanceof CentaurError) {
        rejections.push({ envelope, error: features });
        continue;
      }
      const record = this.format.frameRecord(this.format.encodeExample(features));
      uploads.add(this.files.append(String(shardOf(envelope.id, this.o.shards)), [record]));
    }
    this.refused += rejections.length;
    if (uploads.size === 0) return rejections;
    this.waiting += 1;
    try {
      // Every write the runtime may start is waiting on a file: upload now rather than wait for a timer.
      if (this.waiting >= WAITING_WRITES) void this.files.flush();
      await Promise.all(uploads);
      this.failure = null;
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    } finally {
      this.waiting -= 1;
    }
    return rejections;
  }

  /** Uploads every open file and waits for it. */
  async flush(endOfInput = false): Promise<void> {
    await (endOfInput ? this.files.drain() : this.files.flush());
  }

  /** Flushes, then releases the store's connections. */
  async close(): Promise<void> {
    await this.flush();
    await this.store.close();
    const s = this.files.stats;
    this.logger.info({ files: s.files, records: s.records, bytes: s.bytes, refused: this.refused }, 'TFRecord sink closed.');
  }

  /** The last write's failure, until a write succeeds. */
  health(): string | null {
    return this.failure;
  }

  /** The envelope's `tf.train.Example` features, or the PAYLOAD_MISSING error that refuses it. */
  private featuresOf(envelope: Envelope): Features | CentaurError {
    const f = this.format;
    const features: Record<string, Features[string]> = {};
    const bytes = envelope.payload.kind === 'bytes' ? envelope.payload.bytes : undefined;
    if (this.o.payload === 'encoded') {
      if (bytes === undefined) {
        const where = envelope.payload.kind === 'reference' ? ` (${envelope.payload.uri})` : '';
        return new CentaurError('PAYLOAD_MISSING', `tfrecord-sink with \`payload: encoded\` needs the image bytes, but the input holds a reference${where}; add fetch-object upstream`);
      }
      features['image/encoded'] = f.bytesFeature(bytes);
      if (envelope.image !== undefined) {
        features['image/height'] = f.int64Feature(envelope.image.height);
        features['image/width'] = f.int64Feature(envelope.image.width);
      }
    } else {
      const tensor = envelope.tensor;
      if (tensor === undefined) {
        return new CentaurError(
          'PAYLOAD_MISSING',
          'tfrecord-sink with `payload: tensor` needs the decoded tensor, but the input has none; take the sink `from` the decode-image node (infer drops the tensor once it ran)',
        );
      }
      const table = scaleTable(tensor.scale);
      const values = new Float32Array(tensor.data.length);
      for (let i = 0; i < values.length; i += 1) values[i] = table[tensor.data[i] as number] as number;
      features['image/tensor'] = f.floatFeature(values);
      features['image/shape'] = f.int64Feature(tensor.height, tensor.width, tensor.channels);
      features['image/height'] = f.int64Feature(tensor.height);
      features['image/width'] = f.int64Feature(tensor.width);
    }
    const format = envelope.image?.format ?? (bytes === undefined ? undefined : sniffFormat(bytes));
    if (format !== undefined) features['image/format'] = f.bytesFeature(format);
    features['image/id'] = f.bytesFeature(envelope.id);
    const label = labelOf(envelope, this.o.classes);
    if (label !== undefined) {
      features.label = f.bytesFeature(label.label);
      features['label/source'] = f.bytesFeature(label.source);
      if (label.index !== undefined) features['label/index'] = f.int64Feature(label.index);
    }
    if (envelope.model !== undefined) features['model/version'] = f.bytesFeature(envelope.model.version);
    return features;
  }

  private withRetries<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      attempts: this.o.retries + 1,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      onRetry: (error, attempt, delayMs) => this.logger.warn({ code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'TFRecord upload failed; retrying.'),
    });
  }
}
