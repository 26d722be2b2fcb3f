/**
 * The soak, CI-sized (about 7 minutes): `centaur run` (Kafka → decode → micro-batch → infer → Kafka)
 * as a child at 70 % of its saturated throughput for 5 minutes, judged over the last 2 (RSS slope and
 * growth, open fds, active handles, nothing lost), then 1 minute into an object-sink behind an S3 link
 * 100× slower than the input (memory bounded, the source paused, the frames waiting in Kafka).
 * The warm-up is 3 minutes because the child's RSS climbs for its first 2.5–3 minutes (from ~550 to
 * ~660 MiB at 90 frames/s, JS heap flat: native buffers and allocator arenas reaching their working
 * size) and is nearly flat after, moving in steps of about 10 MiB. The bounds are generous for a
 * loaded 2-core machine: 1,000 MiB/h over two minutes is 33 MiB, the slope of a leak of about 3 KiB
 * per frame at 90 frames/s; clean runs measured 185 and 472 MiB/h over that window.
 * The report goes to test-artifacts/soak.md and soak.json. The hour-long version: bench/soak.bench.ts.
 * Needs Kafka and S3 (`scripts/services/services.sh up kafka s3`): skipped without them, failed
 * under CI=true.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { soakChecks } from '../../src/bench/soak-checks.js';
import type { SoakBounds } from '../../src/bench/soak-checks.js';
import { soakMarkdown } from '../../src/bench/soak-report.js';
import { runSoak } from '../../src/bench/soak-scenario.js';
import { SOAK_LIMITS } from '../../src/bench/soak-topology.js';
import { BROKERS, kafka } from '../helpers/kafka.js';
import { s3, S3_ENDPOINT } from '../helpers/object-stores.js';

/** Skips (or fails under CI=true) when Kafka or the S3 server is not running. */
async function requireKafkaAndS3(t: TestContext): Promise<boolean> {
  let problem: string | undefined;
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (error) {
    problem = `Kafka at ${BROKERS}: ${(error as Error).message}`;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (problem === undefined) {
    try {
      await s3.send(new ListBucketsCommand({}));
    } catch (error) {
      problem = `S3 server at ${S3_ENDPOINT}: ${(error as Error).message || (error as Error).name}`;
    }
  }
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up kafka s3`);
  return false;
}

/** A two-minute window cannot be held to the hour's 200 MiB/h (under 7 MiB in two minutes: one allocator step is more); the rest as for the hour. */
const CI_BOUNDS: SoakBounds = { rssSlopeMiBPerHour: 1000, rssGrowthMiB: 64, fdGrowth: 8, handleGrowth: 8, slowSinkSlackMiB: 64 };

test('soak: 5 minutes at 70 % of saturation stay flat, and a sink 100× slower keeps memory bounded', { timeout: 15 * 60_000 }, async (t) => {
  if (!(await requireKafkaAndS3(t))) return;
  const result = await runSoak({
    brokers: BROKERS,
    client: 'confluent',
    s3Endpoint: S3_ENDPOINT,
    modelDir: path.resolve('models/demo'),
    cacheDir: '.cache/bench',
    images: 300,
    saturationFrames: 1200,
    partitions: 4,
    minutes: 5,
    fraction: 0.7,
    slowMinutes: 1,
    slowFactor: 100,
    sampleMs: 10_000,
    // Judged over the last 2 minutes.
    warmUp: { fraction: 0, minMs: 180_000 },
    limits: SOAK_LIMITS,
    slowStopTimeoutMs: SOAK_LIMITS.drainTimeoutMs + 20_000,
    onProgress: (line) => t.diagnostic(line),
  });
  const checks = soakChecks(result, CI_BOUNDS);
  const report = soakMarkdown(result, checks);
  await mkdir('test-artifacts', { recursive: true });
  await writeFile('test-artifacts/soak.md', report);
  await writeFile('test-artifacts/soak.json', `${JSON.stringify({ ...result, checks }, null, 2)}\n`);
  for (const line of report.split('\n')) t.diagnostic(line);
  for (const c of checks) {
    await t.test(c.name, () => assert.ok(c.passed, `${c.name}: ${c.value} ${c.unit}, must be ${c.passes} ${c.bound}`));
  }
  const slow = result.slowSink;
  await t.test('slow sink: SIGTERM stops it within drainTimeoutMs (+15 s), exit 1 (inputs read again on restart)', () => {
      assert.ok(slow !== null && slow.stopSeconds <= SOAK_LIMITS.drainTimeoutMs / 1000 + 15, `stopped after ${slow?.stopSeconds.toFixed(0)} s:\n${slow?.stopLog.join('\n')}`);
    assert.equal(slow.exit, 1);
  });
});
