/**
 * The image topology from Kafka, against the real broker, in one process: (c) the file-based
 * pipeline (files-source → decode → micro-batch → infer → files-sink) on N 640×480 JPEGs, the
 * Foundation ceiling; (k) the same pipeline fed by `kafka-source` (raw JPEG frames on a
 * 4-partition topic) writing predictions with `kafka-sink`; prints images/s and k / c. Then
 * frames are produced at a steady 80% of k for `--seconds` while the topology runs, and the
 * end-to-end latency of each (produce time → prediction written) gives p50/p95/p99.
 * Needs the services (`scripts/services/services.sh up`).
 * Usage: npm run bench:kafka-images -- [--frames 2000] [--seconds 20] [--client kafkajs]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { glob } from 'tinyglobby';
import { Runtime } from '../src/runtime/runtime.js';
import { parseTopology } from '../src/topology/load.js';
import { benchImages } from '../src/bench/bench-images.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '20' },
    client: { type: 'string', default: 'kafkajs' },
    load: { type: 'string', default: '0.8' },
  },
});
const total = Number(values.frames);
const seconds = Number(values.seconds);
const load = Number(values.load);
const client = values.client;
const brokers = process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const modelDir = path.resolve('models/demo');
const kafka = new Kafka({ clientId: 'bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const name = (prefix: string): string => `bench-${prefix}-${randomUUID().slice(0, 8)}`;

const dir = await benchImages(total);
const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort().slice(0, total);
const images = await Promise.all(files.map((f) => readFile(f)));

/** The pipeline shared by both runs, after its source. */
const PIPELINE = `  decode: { kind: decode-image, from: [in], size: [224, 224], concurrency: 4 }
  batch: { kind: micro-batch, from: [decode], maxSize: 32, maxDelayMs: 15 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(modelDir)} }, backend: { kind: onnx, intraOpNumThreads: 2 }, maxBatchesInFlight: 2 }
`;

async function createTopic(topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
}

async function count(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

function frame(i: number, now: number): Message {
  return { key: `cam-${i % 16}`, value: images[i % images.length] as Buffer, headers: { id: `f-${i}`, 'capture-time': String(now) } };
}

/** Produces frames in requests of at most ~512 KiB (the broker refuses record batches over 1 MiB). */
async function sendFrames(producer: ReturnType<Kafka['producer']>, topic: string, frames: Message[]): Promise<void> {
  const per = 6;
  await Promise.all(Array.from({ length: Math.ceil(frames.length / per) }, (_, i) => producer.send({ topic, acks: -1, messages: frames.slice(i * per, (i + 1) * per) })));
}

function kafkaTopology(input: string, output: string): string {
  return `version: 1
name: ${name('images')}
limits: { maxInFlight: 512 }
nodes:
  in: { kind: kafka-source, brokers: [${brokers}], client: ${client}, topics: [${input}], groupId: ${name('g')}, value: { format: bytes } }
${PIPELINE}  out: { kind: kafka-sink, from: [infer], brokers: [${brokers}], client: ${client}, topic: ${output}, value: { format: json } }
`;
}

// (c) The file-based ceiling.
const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
const filesYaml = `version: 1
name: files
limits: { maxInFlight: 512 }
nodes:
  in: { kind: files-source, path: ${JSON.stringify(dir)} }
${PIPELINE}  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(work)} }
`;
const c = (await new Runtime(parseTopology(filesYaml, 'files.yaml'), { logger: pino({ level: 'warn' }) }).run()).imagesPerSecond;
await rm(work, { recursive: true, force: true });

// (k) From Kafka: the topic is filled first, then drained by the topology.
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const input = name('frames');
const output = name('predictions');
await createTopic(input, 4);
await createTopic(output, 4);
await sendFrames(producer, input, images.map((_, i) => frame(i, Date.now())));
const runtime = new Runtime(parseTopology(kafkaTopology(input, output), 'kafka.yaml'), { logger: pino({ level: 'warn' }) });
const started = performance.now();
const done = runtime.run();
while ((await count(output)) < total) await new Promise((resolve) => setTimeout(resolve, 20));
const k = total / ((performance.now() - started) / 1000);
runtime.stop();
await done;

// Latency at a steady load of `load` × k: frames stamped with their produce time.
const latencyIn = name('frames-steady');
const latencyOut = name('predictions-steady');
await createTopic(latencyIn, 4);
await createTopic(latencyOut, 4);
const steady = new Runtime(parseTopology(kafkaTopology(latencyIn, latencyOut), 'steady.yaml'), { logger: pino({ level: 'warn' }) });
const steadyDone = steady.run();
const rate = k * load;
const tickMs = 50;
const perTick = rate * (tickMs / 1000);
let sent = 0;
const startedAt = performance.now();
while (performance.now() - startedAt < seconds * 1000) {
  const due = Math.floor(((performance.now() - startedAt) / tickMs + 1) * perTick);
  const batch: Message[] = [];
  for (; sent < due; sent += 1) batch.push(frame(sent, Date.now()));
  if (batch.length > 0) await sendFrames(producer, latencyIn, batch);
  await new Promise((resolve) => setTimeout(resolve, tickMs));
}
while ((await count(latencyOut)) < sent) await new Promise((resolve) => setTimeout(resolve, 50));
steady.stop();
await steadyDone;
await producer.disconnect();

const latencies: number[] = [];
const reader = kafka.consumer({ groupId: name('reader'), maxWaitTimeInMs: 100 });
await reader.connect();
await reader.subscribe({ topics: [latencyOut], fromBeginning: true });
await reader.run({
  eachMessage: async ({ message }) => {
    const record = JSON.parse((message.value as Buffer).toString()) as { eventTime: number; predictionTime: number };
    latencies.push(record.predictionTime - record.eventTime);
  },
});
while (latencies.length < sent) await new Promise((resolve) => setTimeout(resolve, 50));
await reader.disconnect();
await admin.disconnect();
latencies.sort((x, y) => x - y);
const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;

process.stdout.write(`${total} frames of 640×480 JPEG, client ${client}, broker ${brokers}\n\n`);
process.stdout.write('| run | images/s |\n|---|---|\n');
process.stdout.write(`| (c) files → pipeline → files (ceiling) | ${c.toFixed(1)} |\n`);
process.stdout.write(`| (k) Kafka → pipeline → Kafka | ${k.toFixed(1)} |\n`);
process.stdout.write(`| ratio k / c | **${(k / c).toFixed(3)}** |\n\n`);
process.stdout.write(`At ${(load * 100).toFixed(0)}% of k (${rate.toFixed(1)} frames/s for ${seconds} s, ${sent} frames): latency produce → prediction p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms\n`);
