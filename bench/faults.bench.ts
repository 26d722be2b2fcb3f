/**
 * The fault suite: one production-shaped topology (upload events on Kafka → fetch from S3 → decode
 * → infer on a KServe server → Redis cache → predictions on Kafka, dead letters on Kafka) run as
 * `centaur run`, with one fault per scenario applied mid-stream to the services that
 * `scripts/services/services.sh up` runs, or to Centaur itself. A downstream consumer counts inputs,
 * predictions, duplicates, dead letters and lost inputs, and the time from the end of each fault to
 * the next prediction. Needs the services (kafka, s3, redis, kserve); it stops and starts them.
 * The CI version is test/integration/faults.test.ts (fewer frames, one fault of each kind).
 *
 * Scenarios: sigkill (10 SIGKILLs of centaur run, at-least-once), sigkill-eos (the same with Kafka
 * transactions, read_committed), broker (Kafka restarted), redis (Redis SIGKILLed, started again
 * after 5 s), s3 (the S3 server stopped for 20 s), inference (the inference server SIGKILLed and
 * started again).
 * Usage: npm run faults -- [--frames 3000] [--client confluent] [--scenarios sigkill,broker,...] [--out faults.json]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { killRun, killService, RESULT_HEADER, resultRow, runScenario, servicesUp, stopService, uploadEvents } from './faults/service-faults.js';
import type { Scenario, ScenarioResult } from './faults/service-faults.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '3000' },
    client: { type: 'string', default: 'confluent' },
    scenarios: { type: 'string', default: 'sigkill,sigkill-eos,broker,redis,s3,inference' },
    out: { type: 'string' },
  },
});

const TEN = Array.from({ length: 10 }, (_, k) => (k + 1) / 11);
const SCENARIOS: Record<string, Scenario> = {
  sigkill: { name: 'sigkill', at: TEN, fault: killRun },
  'sigkill-eos': { name: 'sigkill-eos', at: TEN, fault: killRun, exactlyOnce: true },
  broker: { name: 'broker', at: [0.3], fault: stopService('kafka', 0) },
  redis: { name: 'redis', at: [0.3], fault: killService('redis', 5000) },
  s3: { name: 's3', at: [0.3], fault: stopService('s3', 20_000) },
  inference: { name: 'inference', at: [0.3], fault: killService('kserve') },
};

await servicesUp('kafka', 's3', 'redis', 'kserve');
const stream = await uploadEvents(Number(values.frames));
process.stderr.write(`${stream.messages.length} images in s3://${stream.bucket}/frames/\n`);
const results: ScenarioResult[] = [];
for (const name of values.scenarios.split(',')) {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`unknown scenario ${name}; the scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
  const result = await runScenario(scenario, stream, { client: values.client });
  results.push(result);
  process.stderr.write(`${RESULT_HEADER}\n${resultRow(result)}\nlog: ${result.logFile}\n`);
}
process.stdout.write(`${RESULT_HEADER}\n${results.map(resultRow).join('\n')}\n`);
if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify(results, null, 2)}\n`);
