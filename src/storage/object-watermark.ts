/**
 * Positions and the persisted watermark of `object-source`. Objects are listed in key order and
 * numbered with a dense offset as they are emitted (`KeyLedger`); when the runtime commits an
 * offset, the key emitted at it becomes the watermark: the greatest key such that it and every key
 * listed before it are done. `WatermarkFile` keeps that key in a small JSON object (in any object
 * store or a local file), written at most once per interval and at close, so a restarted source
 * lists from after it (S3's `StartAfter`).
 */
import { Type } from '@sinclair/typebox';
import { CentaurError } from '../core/errors.js';
import type { ObjectStore } from './object-store.js';

/** The `watermark` option of a source that keeps one (where the object lives, how often it is written); `description` says what it keeps. */
export function watermarkOption(description: string) {
  return Type.Optional(
    Type.Object(
      {
        uri: Type.String({
          minLength: 1,
          description: 'Where the watermark (a small JSON object) lives: an object URI or a file path relative to the topology file. Created on the first commit.',
        }),
        intervalMs: Type.Integer({ minimum: 0, default: 1000, description: 'Shortest time between two watermark writes while running; the last one is written at the end.' }),
      },
      { additionalProperties: false, description },
    ),
  );
}

/** Offsets of emitted objects, and the watermark key their commits yield. */
export class KeyLedger {
  /** Keys emitted and not yet committed, by offset. */
  private readonly keys = new Map<number, string>();
  private nextOffset = 0;
  private committedThrough = -1;
  private done: string | undefined;

  /** `start` is the watermark loaded at start (every key up to it is done), if any. */
  constructor(start?: string) {
    this.done = start;
  }

  /** Numbers the next emitted object; objects must be assigned in listing (key) order. */
  assign(key: string): number {
    const offset = this.nextOffset;
    this.nextOffset += 1;
    this.keys.set(offset, key);
    return offset;
  }

  /**
   * Records that every offset up to `offset` is complete; returns the new watermark key when it
   * advanced, undefined for a commit at or below an earlier one or of an offset never assigned.
   */
  commit(offset: number): string | undefined {
    if (offset <= this.committedThrough || offset >= this.nextOffset) return undefined;
    const key = this.keys.get(offset);
    for (let o = this.committedThrough + 1; o <= offset; o += 1) this.keys.delete(o);
    this.committedThrough = offset;
    if (key === undefined) return undefined;
    this.done = key;
    return key;
  }

  /** The greatest key such that it and every key listed before it are done. */
  get watermark(): string | undefined {
    return this.done;
  }

  /** Objects emitted and not yet committed. */
  get pending(): number {
    return this.keys.size;
  }
}

/** The JSON object a watermark file holds. */
export interface WatermarkRecord {
  readonly version: 1;
  /** The listed prefix it belongs to: a watermark of another prefix is refused. */
  readonly prefix: string;
  /** The greatest key done (the store's key: the absolute path for `file://`). */
  readonly key: string;
  /** When it was written, ISO 8601. */
  readonly updatedAt: string;
}

/** Options of a WatermarkFile. */
export interface WatermarkFileOptions {
  /** Where the JSON object lives. */
  readonly uri: string;
  /** The prefix the source lists. */
  readonly prefix: string;
  /** Shortest time between two writes during the run (the last one is written at `flush`). */
  readonly intervalMs: number;
  /** Clock, for tests (default Date.now). */
  readonly now?: () => number;
}

/** Reads and writes one source's watermark, debounced. */
export class WatermarkFile {
  private readonly now: () => number;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private written: string | undefined;
  private latest: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Why the last timed write failed, until one succeeds. */
  private failure: CentaurError | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: WatermarkFileOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The stored key, or undefined when there is no watermark yet; a malformed one or one of another prefix is CONFIG_INVALID. */
  async load(): Promise<string | undefined> {
    const { uri, prefix } = this.options;
    let text: string;
    try {
      if (!(await this.store.exists(uri))) return undefined;
      text = (await this.store.get(uri, { maxBytes: 1_048_576 })).toString('utf8');
    } catch (error) {
      throw new CentaurError('CHECKPOINT_FAILED', `cannot read the watermark ${uri}: ${(error as Error).message}`, { cause: error });
    }
    let record: Partial<WatermarkRecord>;
    try {
      record = JSON.parse(text) as Partial<WatermarkRecord>;
    } catch (error) {
      throw new CentaurError('CONFIG_INVALID', `the watermark ${uri} is not JSON (${(error as Error).message}); delete it to list ${prefix} from the start`, { cause: error });
    }
    if (record === null || typeof record !== 'object' || record.version !== 1 || typeof record.key !== 'string' || typeof record.prefix !== 'string') {
      throw new CentaurError('CONFIG_INVALID', `the watermark ${uri} is not a version 1 watermark ({ version, prefix, key }); delete it to list ${prefix} from the start`);
    }
    if (record.prefix !== prefix) {
      throw new CentaurError('CONFIG_INVALID', `the watermark ${uri} belongs to ${record.prefix}, not ${prefix}; give this source its own watermark, or delete it to list from the start`);
    }
    this.written = record.key;
    this.latest = record.key;
    return record.key;
  }

  /**
   * Takes a new watermark key: written at once when the last write is `intervalMs` old (a failure
   * rejects with CHECKPOINT_FAILED), else once that much time has passed since it.
   */
  async update(key: string): Promise<void> {
    this.latest = key;
    const wait = this.lastWrite + this.options.intervalMs - this.now();
    if (wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.write();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.write().catch((error: unknown) => (this.failure = error as CentaurError));
    }, wait);
  }

  /** Writes the latest key if it is not stored yet (at close); a failure rejects with CHECKPOINT_FAILED. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.write();
  }

  /** Why the last timed write failed, or undefined. */
  get lastFailure(): CentaurError | undefined {
    return this.failure;
  }

  private write(): Promise<void> {
    // One write at a time, so an older key never lands after a newer one.
    this.writing = this.writing.catch(() => undefined).then(async () => {
      const key = this.latest;
      if (key === undefined || key === this.written) return;
      const record: WatermarkRecord = { version: 1, prefix: this.options.prefix, key, updatedAt: new Date(this.now()).toISOString() };
      this.lastWrite = this.now();
      try {
        await this.store.put(this.options.uri, `${JSON.stringify(record)}\n`, { contentType: 'application/json' });
      } catch (error) {
        throw new CentaurError('CHECKPOINT_FAILED', `cannot write the watermark ${this.options.uri}: ${(error as Error).message}`, { cause: error });
      }
      this.written = key;
      this.failure = undefined;
    });
    return this.writing;
  }
}
