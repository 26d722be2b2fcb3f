/**
 * The Redis side of `feature-store-sink` (ioredis): one pipeline per batch of rows, an HSET per
 * entity (plus an EXPIRE when a TTL is set), resolving only once Redis answered every command.
 *
 * Unlike the prediction cache, this store is not best-effort: a row that did not reach Redis
 * would leave Feast serving the entity's previous features with nothing to say so. A command is
 * refused at once while disconnected (no offline queue) and bounded by a timeout while connected;
 * either fails the write with the retriable `FEATURE_STORE_UNAVAILABLE`, so the runtime retries
 * it with backoff and then dead-letters its inputs. ioredis reconnects on its own in between.
 */
import { Redis } from 'ioredis';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FeastRow } from './feast-redis-layout.js';

/** How the store reaches Redis. */
export interface OnlineStoreOptions {
  readonly url: string;
  /** Longest wait for one pipeline, in milliseconds. */
  readonly timeoutMs: number;
  /** Time to live of each entity's key, set again on every write, in seconds (0: no expiry). */
  readonly ttlSeconds: number;
}

/** A Redis connection that writes (and reads back) Feast rows, or fails with a retriable error. */
export class FeastOnlineStore {
  private readonly client: Redis;
  private closed = false;
  private lostAt: number | undefined;

  constructor(
    private readonly options: OnlineStoreOptions,
    private readonly logger: Logger,
    private readonly node: string,
  ) {
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: Math.max(options.timeoutMs, 1000),
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    // Errors reach the writes that meet them; the first one of an outage is logged once here.
    this.client.on('error', (error: Error) => {
      if (this.lostAt !== undefined) return;
      this.lostAt = Date.now();
      this.logger.warn({ node: this.node, error: error.message }, 'Feature store Redis unavailable; writes fail and are retried.');
    });
    this.client.on('ready', () => {
      if (this.lostAt === undefined) return;
      this.logger.info({ node: this.node, downMs: Date.now() - this.lostAt }, 'Feature store Redis reachable again.');
      this.lostAt = undefined;
    });
  }

  /** Connects, failing with `FEATURE_STORE_UNAVAILABLE` when Redis does not answer within the timeout. */
  async connect(): Promise<void> {
    const timeout = Math.max(this.options.timeoutMs, 1000);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (error) {
      await this.close();
      throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis at ${redactUrl(this.options.url)} cannot be reached: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Writes the rows in one pipeline; resolves once Redis confirmed every command. */
  async write(rows: readonly FeastRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.ready) throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis is not connected (${this.client.status}).`);
    const pipeline = this.client.pipeline();
    for (const row of rows) {
      pipeline.hset(row.key, ...row.fields.flatMap(([field, value]) => [field, Buffer.from(value.buffer, value.byteOffset, value.byteLength)]));
      if (this.options.ttlSeconds > 0) pipeline.expire(row.key, this.options.ttlSeconds);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis write failed: ${(error as Error).message}`, { cause: error });
    }
    const failed = (results ?? []).find(([error]) => error !== null)?.[0];
    if (results === null || failed !== undefined) {
      throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis write failed: ${failed?.message ?? 'the pipeline was discarded'}`, { cause: failed });
    }
  }

  /** The values of `fields` of each key (null where a field or the key is missing), in one pipeline; fails with `FEATURE_STORE_UNAVAILABLE`. */
  async read(keys: readonly Buffer[], fields: readonly (Buffer | string)[]): Promise<(Buffer | null)[][]> {
    if (keys.length === 0) return [];
    if (!this.ready) throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis is not connected (${this.client.status}).`);
    const pipeline = this.client.pipeline();
    for (const key of keys) pipeline.hmgetBuffer(key, ...fields);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis read failed: ${(error as Error).message}`, { cause: error });
    }
    const failed = (results ?? []).find(([error]) => error !== null)?.[0];
    if (results === null || failed !== undefined) {
      throw new CentaurError('FEATURE_STORE_UNAVAILABLE', `Feature store Redis read failed: ${failed?.message ?? 'the pipeline was discarded'}`, { cause: failed });
    }
    return results.map(([, values]) => values as (Buffer | null)[]);
  }

  /** Closes the connection (once; later calls do nothing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.removeAllListeners('ready');
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

/** The URL without a password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
