/**
 * The training set as a table in the lake: one row per labelled input, spread over a fixed number
 * of Parquet files by a hash of the input id (`<base>/bucket-NN.parquet`), with the bucket count
 * in `<base>/_table.json`. An object cannot be updated in place, so a change rewrites the whole
 * bucket holding the row: a repeated label replaces its row rather than adding one, and a reader
 * (pyarrow, pandas, the trainer) reading the folder sees every input once. Each upload replaces
 * one object whole, so a reader sees each bucket before or after a change, never half of it.
 *
 * The table is held in memory (about 4 bytes per embedding value per row: 5 KiB for a 1,280-d
 * model) and loaded from the lake when opened, so a restarted sink goes on from what is stored.
 * One writer per table: rows are read once and rewritten from memory.
 */
import { createHash } from 'node:crypto';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { decodeParquet, encodeParquet } from '../formats/parquet.js';
import type { ObjectStore } from '../storage/object-store.js';
import { fromParquetRow, toParquetRow, TRAINING_COLUMNS } from './training-row.js';
import type { LabelPolicy, TrainingRow } from './training-row.js';

/** Where the table is and how it is written. */
export interface TrainingSetTableOptions {
  /** The table's folder URI, without a trailing slash. */
  readonly base: string;
  /** Files the rows are spread over, for a new table (an existing one keeps its count). */
  readonly buckets: number;
  readonly policy: LabelPolicy;
  /** The model's classes: a label outside them is a new class. */
  readonly classes: ReadonlySet<string>;
  readonly compression: 'zstd' | 'snappy' | 'none';
  /** Retries of an upload the store could not take, before the write fails. */
  readonly retries: number;
}

interface TableInfo {
  readonly version: 1;
  readonly buckets: number;
}

/** A training set as read: its rows, and a SHA-256 over its files' names and bytes (lineage: which data a head was trained on). */
export interface TrainingSetSnapshot {
  readonly rows: readonly TrainingRow[];
  readonly contentHash: string;
  readonly files: number;
}

/** Reads the table at `base` without writing anything; an absent table is CONFIG_INVALID. */
export async function readTrainingSet(store: ObjectStore, base: string): Promise<TrainingSetSnapshot> {
  const buckets = await readTableInfo(store, base);
  if (buckets === undefined) throw new CentaurError('CONFIG_INVALID', `${base}/_table.json does not exist: no training set at ${base}`);
  const snapshot = await readBuckets(store, base, buckets);
  return { ...snapshot, rows: [...snapshot.rows].sort((x, y) => (x.inputId < y.inputId ? -1 : x.inputId > y.inputId ? 1 : 0)) };
}

/** The bucket count `<base>/_table.json` records, or undefined when there is none; a malformed one is CONFIG_INVALID. */
async function readTableInfo(store: ObjectStore, base: string): Promise<number | undefined> {
  const infoUri = `${base}/_table.json`;
  const stored = await readIfExists(store, infoUri);
  if (stored === undefined) return undefined;
  let info: Partial<TableInfo>;
  try {
    info = JSON.parse(stored.toString('utf8')) as Partial<TableInfo>;
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `${infoUri} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (info.version !== 1 || !Number.isInteger(info.buckets) || (info.buckets as number) < 1) throw new CentaurError('CONFIG_INVALID', `${infoUri} is not a version 1 training-set table ({ version, buckets })`);
  return info.buckets;
}

/** The URI of a bucket's file. */
function bucketUri(base: string, bucket: number): string {
  return `${base}/bucket-${String(bucket).padStart(3, '0')}.parquet`;
}

/**
 * Every bucket's rows, with the content hash over the files' names and bytes. A row this version
 * cannot read (a newer layout) is CONFIG_INVALID: a writer rewriting its bucket would drop it.
 */
async function readBuckets(store: ObjectStore, base: string, buckets: number): Promise<TrainingSetSnapshot> {
  const hash = createHash('sha256');
  const rows: TrainingRow[] = [];
  let files = 0;
  for (let b = 0; b < buckets; b++) {
    const uri = bucketUri(base, b);
    const bytes = await readIfExists(store, uri);
    if (bytes === undefined) continue;
    files += 1;
    hash.update(`${uri.slice(base.length)}\n`).update(bytes);
    for (const raw of await decodeParquet(bytes)) {
      const row = fromParquetRow(raw);
      if (row === undefined) throw new CentaurError('CONFIG_INVALID', `${uri} holds a training-set row this version cannot read (schema_version ${String(raw.schema_version)}); use the version that wrote it, or another prefix`);
      rows.push(row);
    }
  }
  return { rows, contentHash: hash.digest('hex'), files };
}

/** The training set's rows, by input id, kept in the lake. */
export class TrainingSetTable {
  private readonly rowsById = new Map<string, TrainingRow>();
  /** Uploads in progress per bucket: a bucket's writes are made one after the other. */
  private readonly writing = new Map<number, Promise<void>>();

  private constructor(
    private readonly options: TrainingSetTableOptions,
    private readonly store: ObjectStore,
    private readonly buckets: number,
    private readonly logger: Logger,
    private readonly node: string,
  ) {}

  /** Opens the table at `options.base`, creating its `_table.json` when new and reading every bucket's rows. */
  static async open(options: TrainingSetTableOptions, store: ObjectStore, logger: Logger, node: string): Promise<TrainingSetTable> {
    let buckets = await readTableInfo(store, options.base);
    if (buckets === undefined) {
      buckets = options.buckets;
      await store.put(`${options.base}/_table.json`, JSON.stringify({ version: 1, buckets } satisfies TableInfo), { contentType: 'application/json' });
    } else if (buckets !== options.buckets) {
      logger.warn({ node, stored: buckets, configured: options.buckets }, 'The training set keeps the bucket count it was created with.');
    }
    const table = new TrainingSetTable(options, store, buckets, logger, node);
    for (const row of (await readBuckets(store, options.base, buckets)).rows) table.rowsById.set(row.inputId, row);
    return table;
  }

  /** The row of an input, if labelled. */
  get(inputId: string): TrainingRow | undefined {
    return this.rowsById.get(inputId);
  }

  /** Every row (a live view: read, do not keep). */
  rows(): IterableIterator<TrainingRow> {
    return this.rowsById.values();
  }

  get size(): number {
    return this.rowsById.size;
  }

  /**
   * Puts the rows in the table and rewrites the buckets holding them; resolves once every one is
   * uploaded. When an upload fails the rows are taken back out (the earlier ones restored), so a
   * retry of the same labels writes them again rather than finding them already there.
   */
  async put(rows: readonly TrainingRow[]): Promise<void> {
    const touched = new Set<number>();
    const previous = new Map<string, TrainingRow | undefined>();
    for (const row of rows) {
      if (!previous.has(row.inputId)) previous.set(row.inputId, this.rowsById.get(row.inputId));
      this.rowsById.set(row.inputId, row);
      touched.add(this.bucketOf(row.inputId));
    }
    try {
      await Promise.all([...touched].map((b) => this.rewrite(b)));
    } catch (error) {
      for (const [id, row] of previous) {
        if (row === undefined) this.rowsById.delete(id);
        else this.rowsById.set(id, row);
      }
      throw error;
    }
  }

  /** The bucket of an input id: the first 32 bits of SHA-1(id) modulo the bucket count. */
  bucketOf(inputId: string): number {
    return createHash('sha1').update(inputId, 'utf8').digest().readUInt32BE(0) % this.buckets;
  }

  /** Rewrites a bucket from memory, after any write of it still in progress (which may then carry the newer rows already). */
  private rewrite(bucket: number): Promise<void> {
    const previous = this.writing.get(bucket) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.upload(bucket));
    this.writing.set(bucket, next);
    void next.finally(() => {
      if (this.writing.get(bucket) === next) this.writing.delete(bucket);
    }).catch(() => undefined);
    return next;
  }

  private async upload(bucket: number): Promise<void> {
    const rows = [...this.rowsById.values()].filter((row) => this.bucketOf(row.inputId) === bucket).sort((a, b) => (a.inputId < b.inputId ? -1 : a.inputId > b.inputId ? 1 : 0));
    const body = await encodeParquet(TRAINING_COLUMNS, rows.map((row) => toParquetRow(row, this.options.policy, this.options.classes)), { compression: this.options.compression });
    await retry(() => this.store.put(bucketUri(this.options.base, bucket), Buffer.from(body.buffer, body.byteOffset, body.byteLength), { contentType: 'application/vnd.apache.parquet' }), {
      attempts: this.options.retries + 1,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      onRetry: (error, attempt, delayMs) => this.logger.warn({ node: this.node, code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Training-set upload failed; retrying.'),
    });
  }

  /** Waits for uploads in progress, then releases the store's connections. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.writing.values()]);
    await this.store.close();
  }
}

/** An object's bytes, or undefined when it does not exist. */
async function readIfExists(store: ObjectStore, uri: string): Promise<Buffer | undefined> {
  if ((await store.head(uri)) === null) return undefined;
  return store.get(uri);
}
