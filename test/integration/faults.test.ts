/**
 * The fault suite's CI version (the full one is `npm run faults`, bench/faults.bench.ts): the
 * production-shaped topology (upload events on Kafka → fetch from S3 → Redis cache → decode → infer
 * on the KServe server → predictions on Kafka) runs as `centaur run` over a short stream while one
 * service at a time fails mid-stream: the Kafka broker is stopped and started again, Redis is killed
 * with SIGKILL and started 2 s later, the S3 server is stopped for 5 s, the inference server is
 * killed with SIGKILL and started again. Each time every input is predicted, none is lost or
 * dead-lettered, and predictions resume after the fault; only the broker's restart may repeat
 * inputs (at-least-once replays the uncommitted window).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { killService, runScenario, servicesUp, stopService, uploadEvents } from '../../bench/faults/service-faults.js';
import type { Scenario } from '../../bench/faults/service-faults.js';
import { requireServices } from '../helpers/kafka.js';
import { requireKserve } from '../helpers/kserve.js';
import { requireObjectStores } from '../helpers/object-stores.js';
import { requireRedis } from '../helpers/redis.js';

const FRAMES = 300;
const MAX_IN_FLIGHT = 256;
let stream: ReturnType<typeof uploadEvents> | undefined;

// Whatever happens, every service is running again for the tests after these.
after(async () => servicesUp('kafka', 's3', 'redis', 'kserve'));

const scenarios: { scenario: Scenario; repeats: boolean }[] = [
  { scenario: { name: 'broker', at: [0.3], fault: stopService('kafka', 0) }, repeats: true },
  { scenario: { name: 'redis', at: [0.3], fault: killService('redis', 2_000) }, repeats: false },
  { scenario: { name: 's3', at: [0.3], fault: stopService('s3', 5_000) }, repeats: false },
  { scenario: { name: 'inference', at: [0.3], fault: killService('kserve') }, repeats: false },
];

for (const { scenario, repeats } of scenarios) {
  test(`${scenario.name} fails mid-stream: every input predicted, none lost or dead-lettered, predictions resume`, async (t) => {
    if (!(await requireServices(t)) || !(await requireRedis(t)) || !(await requireObjectStores(t)) || !(await requireKserve(t))) return;
    stream ??= uploadEvents(FRAMES);
    const lines: string[] = [];
    const result = await runScenario(scenario, await stream, { client: 'confluent', log: (line) => lines.push(line), timeoutMs: 240_000 });
    const about = `${JSON.stringify(result)}\n${lines.join('\n')}`;
    assert.equal(result.lost, 0, about);
    assert.equal(result.deadLetters, 0, about);
    assert.equal(result.predicted, FRAMES, about);
    if (repeats) assert.ok(result.duplicates <= 2 * MAX_IN_FLIGHT, `repeats bounded by the uncommitted window: ${about}`);
    else assert.equal(result.duplicates, 0, about);
    assert.ok(result.recoverySeconds.every((s) => Number.isFinite(s) && s < 30), `predictions resumed: ${about}`);
  });
}
