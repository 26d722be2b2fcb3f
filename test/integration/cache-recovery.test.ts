/**
 * The cache's Redis connection across an outage: a Redis server of the test's own (the
 * services script's `redis-server` binary on a free port) is stopped and started again. While it
 * is down, lookups and stores report unavailable at once (the operator bypasses the cache); when it
 * is back, the client reconnects on its own and caching resumes. Warnings are rate-limited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { RedisCache } from '../../src/cache/redis-cache.js';
import type { Logger } from '../../src/core/logger.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on `port` without persistence and waits until it answers. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not start`);
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Whether the redis-server binary is installed (skip elsewhere; fail under CI=true). */
function requireRedisServer(t: TestContext): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  if (process.env.CI === 'true') throw new Error('redis-server not installed; CI must run scripts/services/services.sh up redis');
  t.skip('redis-server not installed; run scripts/services/services.sh up redis');
  return false;
}

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
