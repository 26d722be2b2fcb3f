/**
 * Lines gathered into files in an object store, one open file per partition (`dt=YYYY-MM-DD`).
 * An object cannot be appended to, so a file is built in memory and uploaded whole when it rolls:
 * at `maxFileBytes`, at `maxFileRecords`, `maxFileAgeMs` after it opened, once no line arrived
 * for `maxIdleMs`, or on `flush`. `append` resolves only when the file holding its lines is in
 * the store, which is when a sink may acknowledge them.
 */

/** How files are named, rolled and uploaded. */
export interface RollingFilesOptions {
  /** Base URI of the files, without a trailing slash (e.g. `s3://lake/predictions`). */
  readonly base: string;
  /** The name of the `seq`-th file of this writer, e.g. `part-<run>-000001.jsonl`. */
  readonly fileName: (seq: number) => string;
  readonly maxFileBytes: number;
  readonly maxFileRecords: number;
  readonly maxFileAgeMs: number;
  readonly maxIdleMs: number;
  /** Stores one finished file; rejects when it could not (after its own retries). */
  readonly upload: (uri: string, body: Buffer) => Promise<void>;
}

/** A file being filled. */
interface OpenFile {
  readonly partition: string;
  readonly lines: string[];
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

/** Gathers lines per partition into files and uploads each file whole. */
export class RollingObjectFiles {
  private readonly open = new Map<string, OpenFile>();
  private readonly uploading = new Set<Promise<void>>();
  private seq = 0;
  readonly stats: RollingFilesStats = { files: 0, records: 0, bytes: 0 };

  constructor(private readonly options: RollingFilesOptions) {}

  /**
   * Adds lines to the partition's open file, starting new files as the limits are reached (a
   * file never holds more than `maxFileRecords` lines, nor passes `maxFileBytes` unless one line
   * does); resolves when every file holding them has been uploaded.
   */
  append(partition: string, lines: readonly string[]): Promise<void> {
    const o = this.options;
    const now = Date.now();
    const waits: Promise<void>[] = [];
    let file = this.open.get(partition);
    for (const line of lines) {
      const size = Buffer.byteLength(line) + 1;
      if (file !== undefined && file.lines.length > 0 && file.bytes + size > o.maxFileBytes) {
        this.roll(file);
        file = undefined;
      }
      if (file === undefined) {
        file = this.openFile(partition);
        waits.push(file.done);
      } else if (waits.at(-1) !== file.done) {
        waits.push(file.done);
      }
      file.lines.push(line);
      file.bytes += size;
      file.lastAppendAt = now;
      if (file.lines.length >= o.maxFileRecords || file.bytes >= o.maxFileBytes) {
        this.roll(file);
        file = undefined;
      }
    }
    if (waits.length === 0) return Promise.resolve();
    return waits.length === 1 ? (waits[0] as Promise<void>) : Promise.all(waits).then(() => undefined);
  }

  /** Records waiting in open files. */
  get waitingRecords(): number {
    let n = 0;
    for (const file of this.open.values()) n += file.lines.length;
    return n;
  }

  /** Uploads every open file now and waits for every upload in progress (failures are the appenders' to see). */
  async flush(): Promise<void> {
    for (const file of [...this.open.values()]) this.roll(file);
    await Promise.allSettled([...this.uploading]);
  }

  private openFile(partition: string): OpenFile {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const now = Date.now();
    const file: OpenFile = { partition, lines: [], bytes: 0, openedAt: now, lastAppendAt: now, timer: undefined, done, resolve, reject };
    this.open.set(partition, file);
    this.schedule(file);
    return file;
  }

  /** One timer per file: it rolls the file when it is old enough or idle long enough, else re-arms for the nearer of the two. */
  private schedule(file: OpenFile): void {
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

  private roll(file: OpenFile): void {
    if (this.open.get(file.partition) === file) this.open.delete(file.partition);
    if (file.timer !== undefined) clearTimeout(file.timer);
    file.timer = undefined;
    if (file.lines.length === 0) {
      file.resolve();
      return;
    }
    this.seq += 1;
    const uri = `${this.options.base}/${file.partition}/${this.options.fileName(this.seq)}`;
    const body = Buffer.from(file.lines.join('\n') + '\n');
    const records = file.lines.length;
    const upload = this.options.upload(uri, body).then(
      () => {
        this.stats.files += 1;
        this.stats.records += records;
        this.stats.bytes += body.length;
        file.resolve();
      },
      (error: unknown) => file.reject(error),
    );
    this.uploading.add(upload);
    void upload.finally(() => this.uploading.delete(upload));
  }
}
