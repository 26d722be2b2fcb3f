/**
 * Access to the Redis started by `scripts/services/services.sh up redis`: its URL, a unique key
 * namespace per test, and an independent client (ioredis used directly, not through Centaur's
 * cache) to read and clear keys. Without Redis a test fails in CI and is skipped elsewhere,
 * naming the command to run.
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.CENTAUR_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<string | undefined> | undefined;

/** Skips the test (or fails it under CI=true) when Redis is not running. */
export async function requireRedis(t: TestContext): Promise<boolean> {
  reachable ??= (async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return undefined;
    } catch (error) {
      return `Redis at ${REDIS_URL}: ${(error as Error).message}`;
    } finally {
      client.disconnect();
    }
  })();
  const problem = await reachable;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up redis`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up redis`);
  return false;
}

/** A cache namespace no other test uses. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** An independent client; the caller disconnects it. */
export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `pattern` (a test's namespace). */
export async function deleteKeys(client: Redis, pattern: string): Promise<number> {
  const keys = await client.keys(pattern);
  return keys.length === 0 ? 0 : client.del(...keys);
}
