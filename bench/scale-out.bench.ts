/**
 * Scale-out throughput: 1, 2 and 3 `centaur run` instances in one consumer group drain the same
 * 6-partition topic of small camera frames, with inference on a stand-in KServe server that answers
 * each batch after a fixed delay (bench/scale-out/slow-kserve-server.ts), so the CPU is not the
 * limit. If the engine added no serial bottleneck, k instances drain k times as fast. Throughput is
 * timed by the broker's clock (the output topic uses LogAppendTime): records after the first over
 * the time to the last. Needs Kafka (`scripts/services/services.sh up kafka`).
 * Usage: npm run bench:scale-out -- [--frames 6000] [--delay-ms 100] [--instances 1,2,3] [--runs 2]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { generateImages } from '../src/demo/generate-images.js';
import { summarize } from '../src/bench/figures.js';
import { startSlowKserve } from './scale-out/slow-kserve-server.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '6000' },
    'delay-ms': { type: 'string', default: '100' },
    instances: { type: 'string', default: '1,2,3' },
    runs: { type: 'string', default: '2' },
  },
});
const FRAMES = Number(values.frames);
const PARTITIONS = 6;
const brokers = process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const kafka = new Kafka({ clientId: 'scale-out-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const ENTRY = path.resolve('src/cli/centaur.ts');
const MODEL = path.resolve('test/fixtures/tiny-model');
const name = (role: string): string => `scale-bench-${role}-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const server = await startSlowKserve(Number(values['delay-ms']));
const dir = await mkdtemp(path.join(tmpdir(), 'centaur-scale-bench-'));
await generateImages({ outDir: path.join(dir, 'images'), count: 64, seed: 5_500, width: 32, height: 24, quality: 80 });
const images: Buffer[] = [];
for (const folder of ['horses', 'humans']) for (const f of (await readdir(path.join(dir, 'images', folder))).sort()) images.push(await readFile(path.join(dir, 'images', folder, f)));
/** Fills `topic` with the frames, round-robin over its partitions. */
async function fill(topic: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < FRAMES; i += 500) {
    const messages = Array.from({ length: Math.min(500, FRAMES - i) }, (_, j) => ({ partition: (i + j) % PARTITIONS, value: images[(i + j) % images.length] ?? null, headers: { id: `frame-${i + j}` } }));
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

function topology(input: string, output: string, group: string): string {
  return `version: 1
name: scale-bench
limits: { maxInFlight: 256, commitIntervalMs: 200 }
nodes:
  frames: { kind: kafka-source, brokers: [${JSON.stringify(brokers)}], topics: [${input}], groupId: ${group}, value: { format: bytes } }
  decode: { kind: decode-image, from: [frames], size: [4, 4] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, backend: { kind: kserve, protocol: http, endpoint: ${JSON.stringify(server.url)}, model: tiny }, includeEmbedding: false }
  out: { kind: kafka-sink, from: [infer], brokers: [${JSON.stringify(brokers)}], topic: ${output}, value: { format: json } }
`;
}

/** Starts `k` instances on an empty topic, fills it once every partition is assigned, and returns images/s by the broker's clock. */
async function measure(k: number): Promise<number> {
  const input = name('in');
  const output = name('out');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] },
    ],
  });
  const file = path.join(dir, `${output}.yaml`);
  await writeFile(file, topology(input, output, name('group')));
  const children: { child: ChildProcess; exited: Promise<unknown>; assigned: string[] }[] = [];
  for (let i = 0; i < k; i += 1) {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'run', file, '--log-level', 'info', '--json', '--no-http'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const entry = { child, exited: new Promise((resolve) => child.on('exit', resolve)), assigned: [] as string[] };
    let pending = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('Partitions assigned.')) continue;
        entry.assigned = (JSON.parse(line) as { partitions: string[] }).partitions;
      }
    });
    children.push(entry);
  }
  // The group settled: every partition assigned, each to one instance, every instance busy.
  const settleBy = Date.now() + 120_000;
  while (!(children.every((c) => c.assigned.length > 0) && new Set(children.flatMap((c) => c.assigned)).size === PARTITIONS && children.flatMap((c) => c.assigned).length === PARTITIONS)) {
    if (Date.now() > settleBy) throw new Error(`the ${k} instances did not split the ${PARTITIONS} partitions`);
    await sleep(100);
  }
  await fill(input);
  const times: number[] = [];
  const ids = new Set<string>();
  const reader = kafka.consumer({ groupId: name('reader'), maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topics: [output], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      times.push(Number(message.timestamp));
      ids.add((JSON.parse(message.value?.toString('utf8') ?? '{}') as { id: string }).id);
    },
  });
  const deadline = Date.now() + 600_000;
  while (ids.size < FRAMES && Date.now() < deadline) await sleep(200);
  await reader.disconnect();
  for (const c of children) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  times.sort((a, b) => a - b);
  const first = times[0] ?? 0;
  const last = times[times.length - 1] ?? 0;
  return ids.size < FRAMES ? Number.NaN : (times.length - 1) / ((last - first) / 1000);
}

const counts = values.instances.split(',').map(Number);
const results = new Map<number, number[]>(counts.map((k) => [k, []]));
for (let run = 0; run < Number(values.runs); run += 1) {
  for (const k of counts) {
    const rate = await measure(k);
    results.get(k)?.push(rate);
    process.stderr.write(`run ${run + 1}: ${k} instance(s): ${rate.toFixed(0)} images/s\n`);
  }
}
const one = summarize(results.get(counts[0] ?? 1) ?? []).median;
const rows = counts.map((k) => {
  const f = summarize(results.get(k) ?? []);
  return `| ${k} | ${f.median.toFixed(0)} [${f.min.toFixed(0)}–${f.max.toFixed(0)}] | ${(f.median / one).toFixed(2)} | ${(f.median / (one * k)).toFixed(2)} |`;
});
process.stdout.write(
  `${FRAMES} frames, 6 partitions, inference on a stand-in server answering each batch after ${values['delay-ms']} ms (${server.stats.requests} requests, ${server.stats.images} images)\n\n| instances | images/s, median [min–max] | × one instance | per-instance efficiency |\n|---|---|---|---|\n${rows.join('\n')}\n`,
);
await server.close();
await admin.disconnect();
