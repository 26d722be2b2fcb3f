/**
 * The offline side of `feature-store-sink`: every feature row appended to Parquet files in the
 * lake (`<uri>/<prefix>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet`), one open file per date, rolled
 * by records, bytes, age and idleness by `RollingObjectFiles` and encoded by `encodeParquet` when
 * the file rolls. `append` resolves once the file holding the rows is uploaded. The columns are
 * those a Feast `FileSource` reads (the entity's join key, `event_timestamp`,
 * `created_timestamp`) plus the model, the features and the ground truth.
 */
import { randomBytes } from 'node:crypto';
import type { ParquetColumn } from '../formats/parquet.js';
import { retry } from '../core/retry.js';
import type { Logger } from '../core/logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { parquetRows, RollingObjectFiles } from '../storage/rolling-object-files.js';
import type { ParquetRow, RollingFilesStats } from '../storage/rolling-object-files.js';
import type { FeatureRow } from './feature-row.js';

/** The columns of the offline files; `entity` names the first (the join key, e.g. `image_id`). */
export function offlineColumns(entity: string): ParquetColumn[] {
  return [
    { name: entity, type: 'string' },
    { name: 'event_timestamp', type: 'timestamp-ms' },
    { name: 'created_timestamp', type: 'timestamp-ms' },
    { name: 'model_name', type: 'string' },
    { name: 'model_version', type: 'string' },
    { name: 'embedding', type: 'float32-list' },
    { name: 'predicted_label', type: 'string' },
    { name: 'confidence', type: 'float32' },
    { name: 'true_label', type: 'string', nullable: true },
  ];
}

/** Where and how the files are written. */
export interface OfflineStoreOptions {
  /** Base URI of the files, without a trailing slash: `<uri>/<prefix>`. */
  readonly base: string;
  readonly entity: string;
  readonly partitionBy: 'event-time' | 'write-time';
  readonly maxFileBytes: number;
  readonly maxFileRecords: number;
  readonly maxFileAgeMs: number;
  readonly maxIdleMs: number;
  readonly compression: 'zstd' | 'snappy' | 'none';
  /** Retries of an upload the store could not take, before the append fails. */
  readonly retries: number;
}

/** Appends feature rows to date-partitioned Parquet files in an object store. */
export class FeastOfflineStore {
  private readonly files: RollingObjectFiles<ParquetRow>;

  constructor(
    private readonly options: OfflineStoreOptions,
    private readonly store: ObjectStore,
    private readonly logger: Logger,
    private readonly node: string,
  ) {
    const run = `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
    this.files = new RollingObjectFiles<ParquetRow>({
      fileUri: ({ partition, seq }) => `${options.base}/${partition}/part-${run}-${String(seq).padStart(6, '0')}.parquet`,
      maxFileBytes: options.maxFileBytes,
      maxFileRecords: options.maxFileRecords,
      maxFileAgeMs: options.maxFileAgeMs,
      maxIdleMs: options.maxIdleMs,
      format: parquetRows(offlineColumns(options.entity), { compression: options.compression }),
      upload: (uri, body) => this.withRetries(() => store.put(uri, body, { contentType: 'application/vnd.apache.parquet' })),
    });
  }

  /** Adds the rows to their dates' files; resolves once every file holding them is uploaded. */
  async append(rows: readonly FeatureRow[], waitingWrites: number, maxWaitingWrites: number): Promise<void> {
    const now = Date.now();
    const byPartition = new Map<string, ParquetRow[]>();
    for (const row of rows) {
      const partition = `dt=${dateOf(this.options.partitionBy === 'event-time' ? row.eventTime : now)}`;
      let list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, (list = []));
      list.push({
        [this.options.entity]: row.entity,
        event_timestamp: Math.round(row.eventTime),
        created_timestamp: now,
        model_name: row.modelName,
        model_version: row.modelVersion,
        embedding: row.embedding,
        predicted_label: row.predictedLabel,
        confidence: row.confidence,
        true_label: row.trueLabel ?? null,
      });
    }
    const uploads = [...byPartition].map(([partition, list]) => this.files.append(partition, list));
    // Every write the runtime may start is waiting on a file: upload now rather than wait for a timer.
    if (waitingWrites >= maxWaitingWrites) void this.files.flush();
    await Promise.all(uploads);
  }

  /** Uploads every open file now and waits for the uploads; at the end of the input, later files do not wait for more rows either. */
  flush(endOfInput = false): Promise<void> {
    return endOfInput ? this.files.drain() : this.files.flush();
  }

  /** Announces rows still to come (after the Redis write); the end-of-input flush waits for them. */
  expect(): () => void {
    return this.files.expect();
  }

  /** Files, rows and bytes uploaded so far. */
  get stats(): RollingFilesStats {
    return this.files.stats;
  }

  /** Releases the store's connections. */
  close(): Promise<void> {
    return this.store.close();
  }

  private withRetries<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      attempts: this.options.retries + 1,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      onRetry: (error, attempt, delayMs) =>
        this.logger.warn({ node: this.node, code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Feature store upload failed; retrying.'),
    });
  }
}

/** The UTC date of a time, or of now when the time is not valid. */
function dateOf(time: number): string {
  const date = new Date(time);
  return (Number.isNaN(date.getTime()) ? new Date() : date).toISOString().slice(0, 10);
}
