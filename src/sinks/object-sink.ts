/**
 * `object-sink`: the data lake. Archives each input's raw image once, content-addressed
 * (`<uri>/images/<sha256[0:2]>/<sha256>.<ext>`), and writes prediction records as JSON lines or
 * Parquet rows partitioned by date (`<uri>/predictions/dt=YYYY-MM-DD/part-<run>-<seq>.jsonl` or
 * `.parquet`), in files that roll by size, record count, age and idleness. A write resolves, and
 * its inputs are acknowledged, only once its image and the file holding its record are in the
 * store; many writes wait at once for the same file. Parquet rows have the fixed columns of
 * `predictionParquetColumns`; each is checked when written, so a bad one fails only its write.
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { checkParquetRow } from '../formats/parquet.js';
import type { ParquetColumn } from '../formats/parquet.js';
import type { ObjectStore } from '../storage/object-store.js';
import { storeFor } from '../storage/store-for.js';
import { LAKE_FOLDER_PATTERN, objectUriProblems, StoreUploadFields } from '../storage/store-options.js';
import { ImageArchive } from '../storage/image-archive.js';
import type { ArchivedImage } from '../storage/image-archive.js';
import { predictionParquetColumns, toPredictionRecord, toPredictionRow } from '../formats/prediction-record.js';
import { jsonLines, parquetRows, RollingObjectFiles } from '../storage/rolling-object-files.js';
import { Limiter } from '../core/limiter.js';
import type { ParquetRow, RecordFileFormat } from '../storage/rolling-object-files.js';
import { lakeBaseUri, probeLake } from '../storage/lake-location.js';

const options = Type.Object(
  {
    uri: Type.String({
      minLength: 1,
      description:
        'Where the lake is: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path`, or a folder relative to the topology file. The bucket or container must exist, and the credentials may list, read and write under it (checked at start).',
    }),
    images: Type.Boolean({ default: true, description: 'Archive each input’s image bytes once, content-addressed: `<uri>/<imagesPrefix>/<sha256[0:2]>/<sha256>.<ext>`.' }),
    records: Type.Union([Type.Literal('jsonl'), Type.Literal('parquet'), Type.Literal('none')], {
      default: 'jsonl',
      description:
        'Prediction records under `<uri>/<recordsPrefix>/dt=YYYY-MM-DD/`: JSON lines (`.jsonl`), Parquet (`.parquet`, fixed columns listed in the README’s data-lake section), or `none`.',
    }),
    parquetCompression: Type.Union([Type.Literal('zstd'), Type.Literal('snappy'), Type.Literal('none')], {
      default: 'zstd',
      description: 'Compression of Parquet record files.',
    }),
    imagesPrefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'images', description: 'Folder of the archived images under `uri`.' }),
    recordsPrefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'predictions', description: 'Folder of the record files under `uri`.' }),
    partitionBy: Type.Union([Type.Literal('event-time'), Type.Literal('write-time')], {
      default: 'event-time',
      description: 'The date of a record’s `dt=` partition (UTC): the input’s event time, or the time it is written.',
    }),
    maxFileBytes: Type.Integer({
      minimum: 1024,
      default: 67108864,
      description: 'Upload a record file once it reaches this size. For Parquet it counts an estimate of the rows’ uncompressed size, so the file uploaded is usually smaller.',
    }),
    maxFileRecords: Type.Integer({
      minimum: 1,
      default: 256,
      description: 'Upload a record file once it holds this many records. Inputs are acknowledged only when their file is uploaded, so keep it below the topology’s `limits.maxInFlight`.',
    }),
    maxFileAgeMs: Type.Integer({ minimum: 0, default: 60000, description: 'Upload a record file this long after its first record (0 = no age limit).' }),
    maxIdleMs: Type.Integer({ minimum: 0, default: 1000, description: 'Upload a record file once no record arrived for this long, e.g. at the end of the input (0 = never for idleness).' }),
    includeEmbedding: Type.Boolean({ default: false, description: 'Write each embedding vector into its record.' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 16, description: 'Image uploads (or existence checks) at once, across every write in flight.' }),
    ...StoreUploadFields,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Writes that may wait at once for their record file to be uploaded. */
const WAITING_WRITES = 64;

/** One input on its way into a record file. */
interface Entry {
  readonly envelope: Envelope;
  readonly image: ArchivedImage | undefined;
  readonly partition: string;
}

/** The record files of one format, whatever their record type. */
interface RecordFiles {
  /** Adds the entries' records to their partitions' files: the uploads to wait for, and the entries refused for their content. */
  add(entries: readonly Entry[]): { readonly uploads: Promise<void>[]; readonly rejected: SinkRejection[] };
  flush(): Promise<void>;
  /** The input ended: no file waits for more records (RollingObjectFiles.drain). */
  drain(): Promise<void>;
  /** Announces records still to come (RollingObjectFiles.expect). */
  expect(): () => void;
  readonly stats: RollingObjectFiles['stats'];
}

/**
 * Record files whose records `toRecord` builds; a record it cannot build (it throws a data error)
 * is refused alone, before the others are added, so no file ever holds half of a failed write.
 */
function recordFiles<T>(files: RollingObjectFiles<T>, toRecord: (entry: Entry) => T): RecordFiles {
  return {
    add(entries) {
      const byPartition = new Map<string, T[]>();
      const rejected: SinkRejection[] = [];
      for (const entry of entries) {
        let record: T;
        try {
          record = toRecord(entry);
        } catch (error) {
          const e = toCentaurError(error, 'OUTPUT_ENCODE_FAILED');
          if (e.category !== 'data') throw e;
          rejected.push({ envelope: entry.envelope, error: e });
          continue;
        }
        let records = byPartition.get(entry.partition);
        if (records === undefined) byPartition.set(entry.partition, (records = []));
        records.push(record);
      }
      return { uploads: [...byPartition].map(([partition, records]) => files.append(partition, records)), rejected };
    },
    flush: () => files.flush(),
    drain: () => files.drain(),
    expect: () => files.expect(),
    stats: files.stats,
  };
}

/** Archives images and writes prediction records to an object store. */
export const objectSink = defineSink({
  kind: 'object-sink',
  role: 'sink',
  description: 'Archives raw images content-addressed and writes predictions as date-partitioned JSON lines or Parquet to S3, Azure Blob or a folder.',
  stability: 'experimental',
  options,
  examples: [
    { title: 'Images and prediction records in a lake folder', options: { uri: 'lake' } },
    { title: 'Parquet records in S3, images archived once', options: { uri: 's3://lake/centaur', records: 'parquet' } },
  ],
  claims: (o, baseDir) => (o.records === 'none' ? [] : [`output ${lakeBaseUri(o.uri, baseDir)}/${o.recordsPrefix}/`]),
  validate: (o, ctx) => objectUriProblems(['uri'], lakeBaseUri(o.uri, ctx.baseDir)),
  create: async (o, ctx): Promise<Sink> => {
    const base = lakeBaseUri(o.uri, ctx.baseDir);
    const store = await storeFor(base, { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
    await probeLake(store, base, o.retries, ctx.nodeId);
    return new ObjectSink(o, base, store, ctx.logger);
  },
});

class ObjectSink implements Sink {
  readonly concurrency = WAITING_WRITES;
  readonly batching = { maxSize: 128, maxDelayMs: 10 };
  private readonly archive: ImageArchive | undefined;
  /** Image uploads (and existence checks) of every write in flight, `concurrency` at once. */
  private readonly uploads: Limiter;
  private readonly files: RecordFiles | undefined;
  private waiting = 0;
  private failure: string | null = null;
  private imagesWritten = 0;
  private imagesSeen = 0;

  constructor(
    private readonly o: Options,
    base: string,
    private readonly store: ObjectStore,
    private readonly logger: Logger,
  ) {
    this.archive = o.images ? new ImageArchive(store, `${base}/${o.imagesPrefix}`) : undefined;
    this.uploads = new Limiter(o.concurrency);
    const run = `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
    const rolling = <T>(format: RecordFileFormat<T>, extension: string, contentType: string): RollingObjectFiles<T> =>
      new RollingObjectFiles<T>({
        fileUri: ({ partition, seq }) => `${base}/${o.recordsPrefix}/${partition}/part-${run}-${String(seq).padStart(6, '0')}.${extension}`,
        maxFileBytes: o.maxFileBytes,
        maxFileRecords: o.maxFileRecords,
        maxFileAgeMs: o.maxFileAgeMs,
        maxIdleMs: o.maxIdleMs,
        format,
        upload: (uri, body) => this.withRetries(() => store.put(uri, body, { contentType })),
      });
    const record = (entry: Entry) => toPredictionRecord(entry.envelope, { includeEmbedding: o.includeEmbedding });
    if (o.records === 'jsonl') {
      this.files = recordFiles(rolling(jsonLines, 'jsonl', 'application/x-ndjson'), (entry) =>
        JSON.stringify({ ...record(entry), ...(entry.image === undefined ? {} : { archive: { uri: entry.image.uri, sha256: entry.image.sha256 } }) }),
      );
    } else if (o.records === 'parquet') {
      const columns: ParquetColumn[] = predictionParquetColumns({ includeEmbedding: o.includeEmbedding });
      this.files = recordFiles(rolling<ParquetRow>(parquetRows(columns, { compression: o.parquetCompression }), 'parquet', 'application/vnd.apache.parquet'), (entry) => {
        const row = toPredictionRow(record(entry), entry.envelope, entry.image);
        checkParquetRow(columns, row);
        return row;
      });
    }
  }

  /** Archives the images, then adds the records to their files; resolves when both are in the store, naming the inputs whose record could not be written. */
  async write(envelopes: readonly Envelope[]): Promise<void | readonly SinkRejection[]> {
    try {
      // The records follow once the images are archived: the end-of-input flush waits for them.
      const appended = this.files?.expect();
      let archived: (ArchivedImage | undefined)[];
      try {
        archived = await this.archiveAll(envelopes);
      } catch (error) {
        appended?.();
        throw error;
      }
      if (this.files === undefined) return;
      const entries = envelopes.map((envelope, i) => ({ envelope, image: archived[i], partition: `dt=${this.dateOf(envelope)}` }));
      const files = this.files;
      this.waiting += 1;
      let rejected: SinkRejection[];
      try {
        const added = files.add(entries);
        appended?.();
        rejected = added.rejected;
        // Every write the runtime may start is waiting on a file: upload now rather than wait for a timer.
        if (this.waiting >= WAITING_WRITES) void files.flush();
        await Promise.all(added.uploads);
      } finally {
        appended?.();
        this.waiting -= 1;
      }
      this.failure = null;
      return rejected.length === 0 ? undefined : rejected;
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    }
  }

  /** Uploads every open record file and waits for it. */
  async flush(endOfInput = false): Promise<void> {
    await (endOfInput ? this.files?.drain() : this.files?.flush());
  }

  /** Flushes, then releases the store's connections. */
  async close(): Promise<void> {
    await this.flush();
    await this.store.close();
    const s = this.files?.stats;
    this.logger.info(
      { imagesArchived: this.imagesWritten, imagesAlreadyStored: this.imagesSeen - this.imagesWritten, recordFiles: s?.files ?? 0, records: s?.records ?? 0 },
      'Object sink closed.',
    );
  }

  /** The last write's failure, until a write succeeds. */
  health(): string | null {
    return this.failure;
  }

  /** Archives the images of the envelopes that carry bytes (`concurrency` at a time across all writes); undefined for the others. */
  private async archiveAll(envelopes: readonly Envelope[]): Promise<(ArchivedImage | undefined)[]> {
    const archive = this.archive;
    const results: (ArchivedImage | undefined)[] = new Array<ArchivedImage | undefined>(envelopes.length);
    if (archive === undefined) return results;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < envelopes.length) {
        const i = next;
        next += 1;
        const envelope = envelopes[i] as Envelope;
        if (envelope.payload.kind !== 'bytes') continue;
        const bytes = envelope.payload.bytes;
        // One limit across every write in flight: `concurrency` uploads at once in all, never 64 × `concurrency`.
        const image = await this.withRetries(() => this.uploads.run(() => archive.archive(bytes, envelope.image?.format)));
        this.imagesSeen += 1;
        if (image.written) this.imagesWritten += 1;
        results[i] = image;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, envelopes.length) }, worker));
    return results;
  }

  private dateOf(envelope: Envelope): string {
    const time = this.o.partitionBy === 'event-time' && Number.isFinite(envelope.eventTime) ? envelope.eventTime : Date.now();
    const date = new Date(time);
    return Number.isNaN(date.getTime()) ? new Date().toISOString().slice(0, 10) : date.toISOString().slice(0, 10);
  }

  private withRetries<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      attempts: this.o.retries + 1,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      onRetry: (error, attempt, delayMs) => this.logger.warn({ code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Object store write failed; retrying.'),
    });
  }
}
