/**
 * A rotating JSONL file writer: appends lines to `<prefix>-<seq>.jsonl`, starts a new file past a
 * size or age limit, never overwrites files of an earlier run, and resolves a write only when the
 * bytes reached the OS (or the disk, with `fsync`).
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';

export interface JsonlWriterOptions {
  readonly dir: string;
  readonly prefix: string;
  /** 0 = never rotate by size. */
  readonly maxFileBytes: number;
  /** 0 = never rotate by age. */
  readonly maxFileAgeMs: number;
  readonly fsync: boolean;
}

/** Appends JSON lines to rotating files. */
export class JsonlWriter {
  private stream: WriteStream | undefined;
  private seq = 0;
  private bytes = 0;
  private openedAt = 0;
  private readonly files: string[] = [];

  constructor(private readonly options: JsonlWriterOptions) {}

  /** Files written so far by this writer. */
  get written(): readonly string[] {
    return this.files;
  }

  /** Appends the lines; resolves when they are written. */
  async write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const chunk = lines.join('\n') + '\n';
    try {
      const stream = await this.current(Buffer.byteLength(chunk));
      await new Promise<void>((resolve, reject) => {
        stream.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
      this.bytes += Buffer.byteLength(chunk);
      if (this.options.fsync) await this.sync(stream);
    } catch (error) {
      throw new CentaurError('SINK_WRITE_FAILED', `cannot write to ${this.options.dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Ends the current file. */
  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
  }

  private async current(incoming: number): Promise<WriteStream> {
    const o = this.options;
    const tooBig = o.maxFileBytes > 0 && this.bytes > 0 && this.bytes + incoming > o.maxFileBytes;
    const tooOld = o.maxFileAgeMs > 0 && Date.now() - this.openedAt >= o.maxFileAgeMs;
    if (this.stream !== undefined && !tooBig && !tooOld) return this.stream;
    await this.close();
    if (this.seq === 0) {
      await mkdir(o.dir, { recursive: true });
      this.seq = (await this.lastSeq()) + 1;
    } else {
      this.seq += 1;
    }
    const file = path.join(o.dir, `${o.prefix}-${String(this.seq).padStart(6, '0')}.jsonl`);
    this.files.push(file);
    this.stream = createWriteStream(file, { flags: 'wx' });
    this.bytes = 0;
    this.openedAt = Date.now();
    return this.stream;
  }

  private async lastSeq(): Promise<number> {
    const pattern = new RegExp(`^${this.options.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.jsonl$`);
    let max = 0;
    for (const name of await readdir(this.options.dir)) {
      const m = pattern.exec(name);
      if (m !== null) max = Math.max(max, Number(m[1]));
    }
    return max;
  }

  private async sync(stream: WriteStream): Promise<void> {
    const fd = (stream as unknown as { fd: number | null }).fd;
    if (fd === null) return;
    const { fsync } = await import('node:fs');
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  }
}
