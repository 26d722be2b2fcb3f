/**
 * The checkpoint of a Kinesis stream: one small JSON object in an object store (`file://`,
 * `s3://`, `azure://`) holding, per shard, the sequence number of the last completed record and
 * whether the shard is finished (read to its end after a split or merge, every record completed).
 * `kinesis-source` reads it at start and resumes each shard after its sequence number.
 *
 * Writes follow commits at most once per interval (the first change after a write starts the
 * timer, so a steady stream of commits still writes on time) and once more at close. A write that
 * fails is logged and tried again at the next interval; the records after the last written
 * checkpoint are read again after a restart (at least once). One process owns a checkpoint: there
 * is no lease or lock, two consumers of one checkpoint would overwrite each other's progress.
 */
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type { ObjectStore } from '../storage/object-store.js';

/** One shard's entry. */
export interface ShardCheckpoint {
  /** Sequence number of the last completed record; reading resumes after it. */
  readonly sequenceNumber?: string;
  /** Read to its end and every record completed: never read again; its children may start. */
  readonly finished?: boolean;
}

/** The stored object. */
export interface CheckpointDocument {
  readonly version: 1;
  readonly stream: string;
  readonly updatedAt: string;
  readonly shards: Readonly<Record<string, ShardCheckpoint>>;
}

/** Parses a stored checkpoint; CONFIG_INVALID when it is not one, or belongs to another stream. */
export function parseCheckpoint(text: string, uri: string, stream: string): Map<string, ShardCheckpoint> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `the checkpoint ${uri} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const d = doc as Partial<CheckpointDocument> | null;
  if (typeof d !== 'object' || d === null || d.version !== 1 || typeof d.shards !== 'object' || d.shards === null) {
    throw new CentaurError('CONFIG_INVALID', `${uri} is not a Kinesis checkpoint (version 1 with \`shards\`)`);
  }
  if (d.stream !== stream) {
    throw new CentaurError('CONFIG_INVALID', `the checkpoint ${uri} belongs to stream \`${String(d.stream)}\`, not \`${stream}\`; give this stream its own checkpoint`);
  }
  const shards = new Map<string, ShardCheckpoint>();
  for (const [shardId, entry] of Object.entries(d.shards)) {
    const e = entry as Partial<Record<keyof ShardCheckpoint, unknown>> | null;
    const sequenceNumber = e?.sequenceNumber;
    if (sequenceNumber !== undefined && (typeof sequenceNumber !== 'string' || !/^\d+$/.test(sequenceNumber))) {
      throw new CentaurError('CONFIG_INVALID', `the checkpoint ${uri}: shard ${shardId} has a sequence number that is not a decimal string`);
    }
    shards.set(shardId, { ...(sequenceNumber === undefined ? {} : { sequenceNumber }), ...(e?.finished === true ? { finished: true } : {}) });
  }
  return shards;
}

/** Serializes the shards' entries, in shard order. */
export function formatCheckpoint(stream: string, shards: ReadonlyMap<string, ShardCheckpoint>, now: Date = new Date()): string {
  const sorted = [...shards].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const doc: CheckpointDocument = { version: 1, stream, updatedAt: now.toISOString(), shards: Object.fromEntries(sorted) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Attempts of a checkpoint read or write before it counts as failed. */
const STORE_ATTEMPTS = 4;
/** Wait before a failed write is tried again, at the least. */
const RETRY_AFTER_MS = 1000;

/** Reads and writes one stream's checkpoint object. */
export class CheckpointStore {
  private readonly shards = new Map<string, ShardCheckpoint>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    readonly uri: string,
    private readonly stream: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Reads the stored checkpoint (empty when there is none yet); CHECKPOINT_FAILED when the store cannot be read. */
  async load(): Promise<ReadonlyMap<string, ShardCheckpoint>> {
    let text: string | undefined;
    try {
      text = await retry(async () => ((await this.store.head(this.uri)) === null ? undefined : (await this.store.get(this.uri)).toString('utf8')), {
        attempts: STORE_ATTEMPTS,
        baseDelayMs: 200,
        maxDelayMs: 2000,
      });
    } catch (error) {
      throw new CentaurError('CHECKPOINT_FAILED', `cannot read the checkpoint ${this.uri}: ${(error as Error).message}`, { cause: error });
    }
    this.shards.clear();
    if (text !== undefined) for (const [shardId, entry] of parseCheckpoint(text, this.uri, this.stream)) this.shards.set(shardId, entry);
    return this.shards;
  }

  /** Records a shard's new entry; it is written within the interval. */
  update(shardId: string, entry: ShardCheckpoint): void {
    this.shards.set(shardId, entry);
    this.dirty = true;
    this.schedule(this.intervalMs);
  }

  /** Writes the entries now if anything changed since the last write; rejects with CHECKPOINT_FAILED. */
  flush(): Promise<void> {
    this.writing = this.writing.catch(() => undefined).then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body = formatCheckpoint(this.stream, this.shards);
      try {
        await retry(() => this.store.put(this.uri, body, { contentType: 'application/json' }), { attempts: STORE_ATTEMPTS, baseDelayMs: 200, maxDelayMs: 2000 });
      } catch (error) {
        this.dirty = true;
        const err = toCentaurError(error, 'CHECKPOINT_FAILED');
        this.logger.warn({ uri: this.uri, error: err.message }, 'Writing the Kinesis checkpoint failed; it is tried again later.');
        this.schedule(Math.max(this.intervalMs, RETRY_AFTER_MS));
        throw new CentaurError('CHECKPOINT_FAILED', `cannot write the checkpoint ${this.uri}: ${err.message}`, { cause: error });
      }
    });
    return this.writing;
  }

  /** Writes what is left and stops the timer; rejects with CHECKPOINT_FAILED when the last write fails. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** The entries as last updated. */
  get entries(): ReadonlyMap<string, ShardCheckpoint> {
    return this.shards;
  }

  /** Writes within `delayMs` (at once for 0) unless a write is already due. */
  private schedule(delayMs: number): void {
    if (this.closed || this.timer !== undefined) return;
    if (delayMs === 0) {
      this.flush().catch(() => undefined);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, delayMs);
  }
}
