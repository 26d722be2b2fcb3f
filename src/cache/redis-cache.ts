/**
 * The Redis side of the `cache` operator (ioredis): one pipelined MGET per batch of lookups and
 * one pipeline of SETs with a TTL per batch of stores. Redis being down never fails an input: a
 * command is refused at once while disconnected (no offline queue), bounded by a timeout while
 * connected, and the caller treats either as "bypass". ioredis reconnects on its own, so caching
 * resumes when Redis returns. Warnings are rate-limited to one per `warnIntervalMs`.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';

/** How the operator reaches Redis. */
export interface RedisCacheOptions {
  readonly url: string;
  /** Longest wait for one command (a lookup batch or a store batch), in milliseconds. */
  readonly timeoutMs: number;
  /** Time to live of stored entries, in seconds (0: no expiry). */
  readonly ttlSeconds: number;
  readonly warnIntervalMs: number;
}

/** A Redis connection that answers lookups and takes stores, or says it is unavailable. */
export class RedisCache {
  private readonly client: Redis;
  private lastWarn = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private closed = false;

  constructor(
    private readonly options: RedisCacheOptions,
    private readonly logger: Logger | undefined,
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
    this.client.on('error', (error: Error) => this.warn('Redis cache unavailable; inputs bypass the cache.', error));
    this.client.on('ready', () => {
      if (this.lastWarn !== Number.NEGATIVE_INFINITY) this.logger?.info({ node: this.node }, 'Redis cache reachable again; caching resumes.');
    });
    this.client.connect().catch(() => undefined);
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Waits up to `ms` for the first connection (or its failure), so a run does not start by bypassing a healthy Redis; never fails. */
  async waitReady(ms: number): Promise<boolean> {
    if (this.ready) return true;
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('error', onError);
        resolve(ready);
      };
      const onReady = (): void => done(true);
      const onError = (): void => done(false);
      const timer = setTimeout(() => done(this.ready), ms);
      this.client.on('ready', onReady);
      this.client.on('error', onError);
    });
  }

  /** The stored values of `keys` (null where absent), or null when Redis could not answer. */
  async lookup(keys: readonly string[]): Promise<(Buffer | null)[] | null> {
    if (keys.length === 0) return [];
    if (!this.ready) return null;
    try {
      return await this.client.mgetBuffer(...keys);
    } catch (error) {
      this.warn('Redis cache lookup failed; inputs bypass the cache.', error);
      return null;
    }
  }

  /** Writes entries with the TTL in one pipeline; resolves to how many were written. */
  async store(entries: readonly { key: string; value: Buffer }[]): Promise<number> {
    if (entries.length === 0) return 0;
    if (!this.ready) return 0;
    const pipeline = this.client.pipeline();
    for (const { key, value } of entries) {
      if (this.options.ttlSeconds > 0) pipeline.set(key, value, 'EX', this.options.ttlSeconds);
      else pipeline.set(key, value);
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.filter(([error]) => error !== null);
      if (failed.length > 0) this.warn('Redis cache store failed.', failed[0]?.[0]);
      return results.length - failed.length;
    } catch (error) {
      this.warn('Redis cache store failed.', error);
      return 0;
    }
  }

  /** Closes the connection (once; later calls do nothing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.removeAllListeners('ready');
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** Logs a warning at most once per interval, with the count of the ones left out. */
  private warn(message: string, error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < this.options.warnIntervalMs) {
      this.suppressed += 1;
      return;
    }
    this.lastWarn = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.logger?.warn({ node: this.node, error: error instanceof Error ? error.message : String(error), suppressed }, message);
  }
}
