/**
 * The cache's Redis connection across an outage: a Redis server of the test's own (the
 * services script's `redis-server` binary on a free port) is stopped and started again. While it
 * is down, lookups and stores report unavailable at once (the operator bypasses the cache); when it
 * is back, the client reconnects on its own and caching resumes. Warnings are rate-limited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RedisCache } from '../../src/cache/redis-cache.js';
import type { Logger } from '../../src/core/logger.js';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../helpers/redis-server.js';

/** A logger that records warnings and infos. */
function recordingLogger(): { logger: Logger; warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  const logger = { warn: (_o: unknown, m: string) => warnings.push(m), info: (_o: unknown, m: string) => infos.push(m) } as unknown as Logger;
  return { logger, warnings, infos };
}

test('Redis stopped and restarted: lookups bypass while it is down, then caching resumes', async (t) => {
  if (!requireRedisServer(t)) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-redis-'));
  const port = await freePort();
  let server = await startRedis(port, dir);
  const { logger, warnings, infos } = recordingLogger();
  const cache = new RedisCache({ url: `redis://127.0.0.1:${port}`, timeoutMs: 300, ttlSeconds: 60, warnIntervalMs: 60_000 }, logger, 'cache');
  try {
    assert.equal(await cache.waitReady(2000), true);
    assert.equal(await cache.store([{ key: 'k1', value: Buffer.from('v1') }]), 1);
    assert.deepEqual(await cache.lookup(['k1', 'k2']), [Buffer.from('v1'), null]);

    await stopRedis(server);
    for (let i = 0; i < 5; i += 1) {
      assert.equal(await cache.lookup(['k1']), null, 'unavailable: bypass');
      assert.equal(await cache.store([{ key: 'k3', value: Buffer.from('v3') }]), 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(warnings.length, 1, `one warning per interval, got ${warnings.length}`);

    server = await startRedis(port, dir);
    const deadline = Date.now() + 10_000;
    while (!cache.ready && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(cache.ready, true, 'reconnected');
    assert.equal(await cache.store([{ key: 'k1', value: Buffer.from('v1b') }]), 1);
    assert.deepEqual(await cache.lookup(['k1']), [Buffer.from('v1b')]);
    assert.ok(infos.some((m) => /caching resumes/.test(m)), 'the return is logged');
  } finally {
    await cache.close();
    await stopRedis(server);
    await rm(dir, { recursive: true, force: true });
  }
});
