/**
 * Soak: `centaur run` (Kafka → decode-image → micro-batch → infer → Kafka, JSON predictions) as a
 * child process for an hour at 70 % of its saturated throughput, sampled every 10 s from outside —
 * RSS and open fds from /proc, event-loop lag p99, active handles and heap from its /metrics, and
 * end-to-end latency (capture time → prediction appended) — then the same stream into an object-sink
 * on S3 behind a link 100× slower than the input, where the in-flight limits must pause the source
 * and keep memory bounded. Prints a Markdown report with least-squares slopes per hour over the
 * samples after the warm-up (the first 20 % or 2 minutes) and the verdicts; `--out` writes the JSON
 * (every sample included). Needs Kafka and S3: `scripts/services/services.sh up kafka s3`.
 * The CI version is test/integration/soak.test.ts (about 6 minutes).
 * Usage: npm run soak -- [--minutes 60] [--fraction 0.7] [--client confluent] [--slow-minutes 5] [--slow-factor 100]
 *        [--rate <frames/s: skip the saturation run>] [--images 2000] [--sample-seconds 10] [--warm-up-minutes <m>] [--out soak.json]
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { soakChecks } from '../src/bench/soak-checks.js';
import { soakMarkdown } from '../src/bench/soak-report.js';
import { runSoak } from '../src/bench/soak-scenario.js';
import { SOAK_LIMITS } from '../src/bench/soak-topology.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    fraction: { type: 'string', default: '0.7' },
    client: { type: 'string', default: 'confluent' },
    'slow-minutes': { type: 'string', default: '5' },
    'slow-factor': { type: 'string', default: '100' },
    rate: { type: 'string' },
    images: { type: 'string', default: '2000' },
    'sample-seconds': { type: 'string', default: '10' },
    'warm-up-minutes': { type: 'string' },
    out: { type: 'string' },
  },
});

const images = Number(values.images);
const result = await runSoak({
  brokers: process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092',
  client: values.client,
  s3Endpoint: process.env.CENTAUR_S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  modelDir: path.resolve('models/demo'),
  cacheDir: '.cache/bench',
  images,
  saturationFrames: images,
  partitions: 4,
  minutes: Number(values.minutes),
  fraction: Number(values.fraction),
  ...(values.rate === undefined ? {} : { rate: Number(values.rate) }),
  slowMinutes: Number(values['slow-minutes']),
  slowFactor: Number(values['slow-factor']),
  sampleMs: Number(values['sample-seconds']) * 1000,
  // The first 20 % or 2 minutes (RSS was seen to settle after 2.5–3 minutes: judge short runs with care), or as given.
  warmUp: values['warm-up-minutes'] === undefined ? { fraction: 0.2, minMs: 120_000 } : { fraction: 0, minMs: Number(values['warm-up-minutes']) * 60_000 },
  limits: SOAK_LIMITS,
  slowStopTimeoutMs: 180_000,
  onProgress: (line) => process.stderr.write(`${line}\n`),
});
const checks = soakChecks(result);
process.stdout.write(soakMarkdown(result, checks));
if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify({ ...result, checks }, null, 2)}\n`);
process.exitCode = checks.every((c) => c.passed) ? 0 : 1;
