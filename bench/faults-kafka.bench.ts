/**
 * Fault suite, Kafka → Kafka: `centaur run` (kafka-source → decode → micro-batch → infer →
 * kafka-sink) over N camera frames, killed with SIGKILL K times at evenly spread points of its
 * progress and restarted each time, at-least-once and exactly-once. Counts what a downstream
 * consumer reads (read_committed for exactly-once): frames never predicted (lost) and predictions
 * read more than once (duplicated). Needs the services (`scripts/services/services.sh up`).
 * The CI version is test/integration/kafka-processes.test.ts (one kill, every client).
 * Usage: npm run faults:kafka -- [--frames 3000] [--kills 10] [--client confluent] [--modes at-least-once,exactly-once]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { generateImages } from '../src/demo/generate-images.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '3000' },
    kills: { type: 'string', default: '10' },
    client: { type: 'string', default: 'confluent' },
    modes: { type: 'string', default: 'at-least-once,exactly-once' },
  },
});
const total = Number(values.frames);
const kills = Number(values.kills);
const brokers = process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const kafka = new Kafka({ clientId: 'faults', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const ENTRY = path.resolve('src/cli/centaur.ts');
const MODEL = path.resolve('models/demo');
const name = (role: string): string => `faults-${role}-${randomUUID().slice(0, 8)}`;

/** The frames, generated once: small JPEGs with an `id` header. */
async function frames(): Promise<Message[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-faults-'));
  await generateImages({ outDir: dir, count: total, seed: 8_800_000, width: 96, height: 72, quality: 80 });
  const files: string[] = [];
  for (const folder of ['horses', 'humans']) for (const f of (await readdir(path.join(dir, folder))).sort()) files.push(path.join(dir, folder, f));
  return Promise.all(files.map(async (f, i) => ({ key: `cam-${i % 16}`, value: await readFile(f), headers: { id: `frame-${i}` } })));
}

function topologyYaml(input: string, output: string, group: string, exactlyOnce: boolean): string {
  return `version: 1
name: faults
limits: { maxInFlight: 64, commitIntervalMs: 100 }
nodes:
  frames: { kind: kafka-source, brokers: [${JSON.stringify(brokers)}], client: ${values.client}, topics: [${input}], groupId: ${group}, sessionTimeoutMs: 6000, value: { format: bytes }, exactlyOnce: ${exactlyOnce}, transactionIntervalMs: 200, transactionalId: ${group} }
  decode: { kind: decode-image, from: [frames], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: false }
  out: { kind: kafka-sink, from: [infer], brokers: [${JSON.stringify(brokers)}], client: ${values.client}, topic: ${output}, value: { format: json }, exactlyOnce: ${exactlyOnce} }
`;
}

function start(file: string): { child: ChildProcess; exited: Promise<number | string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'run', file, '--log-level', 'warn', '--no-http'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { child, exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))) };
}

/** Records appended to `topic` (committed or not). */
async function appended(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Reads every prediction's id from `topic` until `total` distinct ids are there (or the time is up). */
async function predictedIds(topic: string, readCommitted: boolean, timeoutMs: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: name('reader'), readUncommitted: !readCommitted, maxWaitTimeInMs: 100 });
  const ids: string[] = [];
  const distinct = new Set<string>();
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = (JSON.parse(message.value?.toString('utf8') ?? '{}') as { id: string }).id;
      ids.push(id);
      distinct.add(id);
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(distinct.size >= total && Date.now() - lastAt > 2000)) await new Promise((resolve) => setTimeout(resolve, 200));
  await consumer.disconnect();
  return ids;
}

const messages = await frames();
const rows: string[] = [];
for (const mode of values.modes.split(',')) {
  const exactlyOnce = mode === 'exactly-once';
  const input = name('in');
  const output = name('out');
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 4 }, { topic: output, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < messages.length; i += 200) await producer.send({ topic: input, acks: -1, messages: messages.slice(i, i + 200) });
  await producer.disconnect();
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-faults-'));
  const file = path.join(dir, 'faults.yaml');
  await writeFile(file, topologyYaml(input, output, name('group'), exactlyOnce));
  const started = Date.now();
  let run = start(file);
  for (let k = 1; k <= kills; k += 1) {
    // Kill at evenly spread points of the progress (records appended, committed or not).
    const target = Math.floor((total * k) / (kills + 1));
    const deadline = Date.now() + 300_000;
    while ((await appended(output)) < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    run.child.kill('SIGKILL');
    await run.exited;
    process.stderr.write(`${mode}: SIGKILL ${k} of ${kills} at ~${target} predictions\n`);
    run = start(file);
  }
  const ids = await predictedIds(output, exactlyOnce, 600_000);
  const seconds = (Date.now() - started) / 1000;
  run.child.kill('SIGTERM');
  const code = await run.exited;
  const distinct = new Set(ids);
  const lost = messages.filter((m) => !distinct.has(String((m.headers as Record<string, string>).id))).length;
  rows.push(`| ${mode} | ${values.client} | ${total} | ${kills} | ${lost} | ${ids.length - distinct.size} | ${seconds.toFixed(0)} | ${String(code)} |`);
  await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
}
await admin.disconnect();
process.stdout.write(`| mode | client | frames | SIGKILLs | lost | duplicated (read by a ${'read_committed'} consumer for exactly-once) | seconds | last exit |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
