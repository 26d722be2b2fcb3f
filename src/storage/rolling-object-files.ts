/**
 * Records gathered into files in an object store, one open file per partition (a `dt=YYYY-MM-DD`
 * folder, a TFRecord shard).
 * An object cannot be appended to, so a file's records are held in memory and the file is encoded
 * and uploaded whole when it rolls: at `maxFileBytes`, at `maxFileRecords`, `maxFileAgeMs` after
 * it opened, once no record arrived for `maxIdleMs`, or on `flush`. `append` resolves only when
 * the file holding its records is in the store, which is when a sink may acknowledge them.
 *
 * A record may be of any kind: the file format says how many bytes one counts towards
 * `maxFileBytes` and how a file of them is encoded. JSON lines (strings) are the default; for
 * Parquet the records are rows, counted by an estimate of their size and encoded by
 * `encodeParquet` when the file rolls (see `parquetRows`).
 */
import type { ParquetColumn, ParquetWriteOptions } from '../formats/parquet.js';
import { encodeParquet, estimateParquetRowBytes } from '../formats/parquet.js';

/** How records of one kind become a file. */
export interface RecordFileFormat<T> {
  /** The bytes a record counts towards `maxFileBytes` (exact or estimated). */
  readonly sizeOf: (record: T) => number;
  /** The file's bytes; a rejection fails every append waiting for the file, as a failed upload does. */
  readonly encode: (records: readonly T[]) => Buffer | Promise<Buffer>;
}

/** JSON lines: each record is one line (without its newline); a file is the lines, each ended by `\n`. Sizes are exact. */
export const jsonLines: RecordFileFormat<string> = {
  sizeOf: (line) => Buffer.byteLength(line) + 1,
  encode: (lines) => Buffer.from(lines.join('\n') + '\n'),
};

/** A Parquet row: column name to value, as `encodeParquet` takes it. */
export type ParquetRow = Readonly<Record<string, unknown>>;

/**
 * Parquet files of rows with the given columns, encoded when the file rolls. A row counts its
 * estimated uncompressed size (`estimateParquetRowBytes`) towards `maxFileBytes`, so the file
 * uploaded is usually smaller than the limit.
 */
export function parquetRows(columns: readonly ParquetColumn[], options: ParquetWriteOptions = {}): RecordFileFormat<ParquetRow> {
  return {
    sizeOf: (row) => estimateParquetRowBytes(columns, row),
    encode: async (rows) => {
      const bytes = await encodeParquet(columns, rows, options);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}

/** Which file is being named: its partition, its number among this writer's files and among its partition's. */
export interface FileSlot {
  readonly partition: string;
  /** 1 for the writer's first file, counting every partition. */
  readonly seq: number;
  /** 1 for the partition's first file. */
  readonly partitionSeq: number;
}

/** How files are named, rolled, encoded and uploaded. */
interface RollingFilesBase {
  /** The URI of a file, e.g. `s3://lake/predictions/dt=2026-12-07/part-<run>-000001.jsonl`. */
  readonly fileUri: (slot: FileSlot) => string;
  readonly maxFileBytes: number;
  readonly maxFileRecords: number;
  readonly maxFileAgeMs: number;
  readonly maxIdleMs: number;
  /** Stores one finished file; rejects when it could not (after its own retries). */
  readonly upload: (uri: string, body: Buffer) => Promise<void>;
}

/** The options of a writer of `T` records: the format may be left out for JSON lines (strings). */
export type RollingFilesOptions<T = string> = RollingFilesBase & ([T] extends [string] ? { readonly format?: RecordFileFormat<T> } : { readonly format: RecordFileFormat<T> });

/** A file being filled. */
interface OpenFile<T> {
  readonly partition: string;
  readonly records: T[];
  bytes: number;
  readonly openedAt: number;
  lastAppendAt: number;
  timer: NodeJS.Timeout | undefined;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/** What was written so far. */
export interface RollingFilesStats {
  files: number;
  records: number;
  bytes: number;
}

/** Gathers records per partition into files and encodes and uploads each file whole. */
export class RollingObjectFiles<T = string> {
  private readonly open = new Map<string, OpenFile<T>>();
  private readonly uploading = new Set<Promise<void>>();
  private readonly format: RecordFileFormat<T>;
  private seq = 0;
  private readonly partitionSeqs = new Map<string, number>();
  /** Set by `drain`: no more records are expected, so no file waits for more. */
  private draining = false;
  /** Writes that announced records still to come (`expect`), which `drain` waits for. */
  private readonly expected = new Set<Promise<void>>();
  /** Files uploaded, their records, and their bytes as uploaded (encoded). */
  readonly stats: RollingFilesStats = { files: 0, records: 0, bytes: 0 };

  constructor(private readonly options: RollingFilesOptions<T>) {
    this.format = options.format ?? (jsonLines as unknown as RecordFileFormat<T>);
  }

  /**
   * Adds records to the partition's open file, starting new files as the limits are reached (a
   * file never holds more than `maxFileRecords` records, nor passes `maxFileBytes` unless one
   * record does); resolves when every file holding them has been uploaded.
   */
  append(partition: string, records: readonly T[]): Promise<void> {
    const o = this.options;
    const now = Date.now();
    const waits: Promise<void>[] = [];
    let file = this.open.get(partition);
    for (const record of records) {
      const size = this.format.sizeOf(record);
      if (file !== undefined && file.records.length > 0 && file.bytes + size > o.maxFileBytes) {
        this.roll(file);
        file = undefined;
      }
      if (file === undefined) {
        file = this.openFile(partition);
        waits.push(file.done);
      } else if (waits.at(-1) !== file.done) {
        waits.push(file.done);
      }
      file.records.push(record);
      file.bytes += size;
      file.lastAppendAt = now;
      if (file.records.length >= o.maxFileRecords || file.bytes >= o.maxFileBytes) {
        this.roll(file);
        file = undefined;
      }
    }
    if (file !== undefined && this.draining) this.rollSoon(file);
    if (waits.length === 0) return Promise.resolve();
    return waits.length === 1 ? (waits[0] as Promise<void>) : Promise.all(waits).then(() => undefined);
  }

  /** Records waiting in open files. */
  get waitingRecords(): number {
    let n = 0;
    for (const file of this.open.values()) n += file.records.length;
    return n;
  }

  /** Uploads every open file now and waits for every upload in progress (failures are the appenders' to see). */
  async flush(): Promise<void> {
    for (const file of [...this.open.values()]) this.roll(file);
    await Promise.allSettled([...this.uploading]);
  }

  /**
   * The input ended: flushes, and from now on uploads each file as soon as the appends of the
   * moment are in, instead of waiting for more records or for `maxIdleMs` (records of writes
   * still under way when the input ended arrive later and must not wait for a timer).
   */
  async drain(): Promise<void> {
    // Records a write announced (it is still archiving images, or writing Redis first) join the
    // files before they roll, so the last records of the input share a file with the others.
    await Promise.allSettled([...this.expected]);
    this.draining = true;
    await this.flush();
  }

  /**
   * Announces that a write will append records after some work of its own; call the returned
   * function once it appended them (or gave up). `drain` waits for it.
   */
  expect(): () => void {
    let settle!: () => void;
    const pending = new Promise<void>((resolve) => (settle = resolve));
    this.expected.add(pending);
    return () => {
      this.expected.delete(pending);
      settle();
    };
  }

  /** Rolls the file once the current turn of the event loop is over, so appends made in it share the file. */
  private rollSoon(file: OpenFile<T>): void {
    if (file.timer !== undefined) clearTimeout(file.timer);
    file.timer = setTimeout(() => {
      file.timer = undefined;
      if (this.open.get(file.partition) === file) this.roll(file);
    }, 0);
  }

  private openFile(partition: string): OpenFile<T> {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The appenders see a failure; this keeps one no appender waits for any more from going unobserved.
    done.catch(() => undefined);
    const now = Date.now();
    const file: OpenFile<T> = { partition, records: [], bytes: 0, openedAt: now, lastAppendAt: now, timer: undefined, done, resolve, reject };
    this.open.set(partition, file);
    this.schedule(file);
    return file;
  }

  /** One timer per file: it rolls the file when it is old enough or idle long enough, else re-arms for the nearer of the two. */
  private schedule(file: OpenFile<T>): void {
    const o = this.options;
    const now = Date.now();
    const ageLeft = o.maxFileAgeMs > 0 ? file.openedAt + o.maxFileAgeMs - now : Infinity;
    const idleLeft = o.maxIdleMs > 0 ? file.lastAppendAt + o.maxIdleMs - now : Infinity;
    const wait = Math.min(ageLeft, idleLeft);
    if (wait === Infinity) return;
    file.timer = setTimeout(() => {
      file.timer = undefined;
      if (this.open.get(file.partition) !== file) return;
      const t = Date.now();
      const old = o.maxFileAgeMs > 0 && t - file.openedAt >= o.maxFileAgeMs;
      const idle = o.maxIdleMs > 0 && t - file.lastAppendAt >= o.maxIdleMs;
      if (old || idle) this.roll(file);
      else this.schedule(file);
    }, Math.max(1, wait));
  }

  /** Closes the file: encodes and uploads it, then settles every append waiting for it. */
  private roll(file: OpenFile<T>): void {
    if (this.open.get(file.partition) === file) this.open.delete(file.partition);
    if (file.timer !== undefined) clearTimeout(file.timer);
    file.timer = undefined;
    if (file.records.length === 0) {
      file.resolve();
      return;
    }
    this.seq += 1;
    const partitionSeq = (this.partitionSeqs.get(file.partition) ?? 0) + 1;
    this.partitionSeqs.set(file.partition, partitionSeq);
    const uri = this.options.fileUri({ partition: file.partition, seq: this.seq, partitionSeq });
    const records = file.records.length;
    const upload = (async () => {
      const body = await this.format.encode(file.records);
      await this.options.upload(uri, body);
      return body.length;
    })().then(
      (bytes) => {
        this.stats.files += 1;
        this.stats.records += records;
        this.stats.bytes += bytes;
        file.resolve();
      },
      (error: unknown) => file.reject(error),
    );
    this.uploading.add(upload);
    void upload.finally(() => this.uploading.delete(upload));
  }
}
