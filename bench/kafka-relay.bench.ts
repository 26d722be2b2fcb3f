/**
 * Kafka → Kafka with a null model: N JSON messages of about 1 KB on an 8-partition topic, copied
 * to another topic (r) by a raw client loop — the same library, consume → produce → commit, no
 * engine — and (e) by the engine: `kafka-source` (json) → `kafka-sink` (`record: input`). Both
 * run in one process against the real broker, for each client library, alternating (r, e) runs
 * `--repeats` times and keeping the best of each (the broker shares the cores, so single runs are
 * noisy); prints messages/s and the ratio e / r. Needs the services (`scripts/services/services.sh up`).
 * Usage: npm run bench:kafka-relay -- [--messages 50000] [--repeats 3] [--clients kafkajs,node-rdkafka]
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type * as Rdkafka from 'node-rdkafka';
import { pino } from 'pino';
import { Runtime } from '../src/runtime/runtime.js';
import { parseTopology } from '../src/topology/load.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    clients: { type: 'string', default: 'kafkajs,node-rdkafka' },
    partitions: { type: 'string', default: '8' },
    'engine-only': { type: 'boolean', default: false },
    repeats: { type: 'string', default: '3' },
  },
});
const total = Number(values.messages);
const partitions = Number(values.partitions);
const clients = values.clients.split(',');
const brokers = process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const kafka = new Kafka({ clientId: 'bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();

const debug = (text: string): void => {
  if (process.env.BENCH_DEBUG !== undefined) process.stderr.write(`${text}\n`);
};
const name = (prefix: string): string => `bench-${prefix}-${randomUUID().slice(0, 8)}`;

async function createTopic(topic: string): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
}

/** Messages in a topic: the sum of its partitions' high watermarks. */
async function count(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

async function waitFor(topic: string, n: number): Promise<void> {
  for (;;) {
    const c = await count(topic);
    debug(`${topic}: ${c}`);
    if (c >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Fills the input topic once with ~1 KB JSON objects that a `kafka-source` with `format: json` accepts. */
async function fill(topic: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const padding = 'x'.repeat(1024 - 80);
  for (let i = 0; i < total; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, total - i) }, (_, j) => ({
      key: `k-${i + j}`,
      value: JSON.stringify({ id: `m-${i + j}`, uri: `file:///bench/${i + j}.jpg`, padding }),
    }));
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** (r) kafkajs: consume batches, produce each batch (acks=all, idempotent), commit. */
async function rawKafkajs(input: string, output: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: name('raw'), maxWaitTimeInMs: 100, maxBytesPerPartition: 2097152 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, createPartitioner: Partitioners.DefaultPartitioner });
  debug('raw: connecting');
  await Promise.all([consumer.connect(), producer.connect()]);
  debug('raw: subscribing');
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  const started = performance.now();
  debug('raw: running');
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      // Requests of at most 512 KiB, as the engine's kafka-sink sends (the broker refuses record batches over 1 MiB).
      const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} }));
      const per = Math.max(1, Math.floor(524288 / 1100));
      await Promise.all(Array.from({ length: Math.ceil(messages.length / per) }, (_, i) => producer.send({ topic: output, acks: -1, messages: messages.slice(i * per, (i + 1) * per) })));
      const last = batch.messages[batch.messages.length - 1];
      if (last !== undefined) await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last.offset) + 1) }]);
    },
  });
  await waitFor(output, total);
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return total / seconds;
}

/** (r) node-rdkafka: consume batches, produce each message with a delivery report, commit. */
async function rawRdkafka(input: string, output: string): Promise<number> {
  const rd = createRequire(import.meta.url)('node-rdkafka') as typeof Rdkafka;
  const consumer = new rd.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': name('raw'), 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
  const producer = new rd.HighLevelProducer({ 'metadata.broker.list': brokers, 'enable.idempotence': true, 'linger.ms': 2 }, { 'request.required.acks': -1, partitioner: 'murmur2_random' });
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())));
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())));
  producer.setPollInterval(5);
  consumer.subscribe([input]);
  consumer.setDefaultConsumeTimeout(100);
  const started = performance.now();
  let copied = 0;
  while (copied < total) {
    const batch = await new Promise<Rdkafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(new Error(err.message)) : resolve(m))));
    await Promise.all(
      batch.map(
        (m) =>
          new Promise<void>((resolve, reject) => {
            producer.produce(output, null, m.value, m.key, Date.now(), (err: Rdkafka.LibrdKafkaError | null) => (err ? reject(new Error(err.message)) : resolve()));
          }),
      ),
    );
    const last = new Map<string, Rdkafka.TopicPartitionOffset>();
    for (const m of batch) last.set(`${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
    if (last.size > 0) consumer.commit([...last.values()]);
    copied += batch.length;
  }
  await waitFor(output, total);
  const seconds = (performance.now() - started) / 1000;
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  return total / seconds;
}

/** (e) The engine: a relay topology, stopped once every message is in the output topic. */
async function engine(input: string, output: string, client: string): Promise<{ rate: number }> {
  const yaml = `version: 1
name: ${name('relay')}
limits: { maxInFlight: 8192 }
nodes:
  in:  { kind: kafka-source, brokers: [${brokers}], client: ${client}, topics: [${input}], groupId: ${name('engine')}, value: { format: json } }
  out: { kind: kafka-sink, from: [in], brokers: [${brokers}], client: ${client}, topic: ${output}, record: input }
`;
  const runtime = new Runtime(parseTopology(yaml, 'relay.yaml'), { logger: pino({ level: 'warn' }) });
  const started = performance.now();
  const done = runtime.run();
  await waitFor(output, total);
  const seconds = (performance.now() - started) / 1000;
  runtime.stop();
  await done;
  return { rate: total / seconds };
}

const input = name('relay-in');
await createTopic(input);
await fill(input);
process.stdout.write(`${total} messages of ~1 KB JSON, ${partitions} partitions, broker ${brokers}\n\n`);
process.stdout.write('| client | (r) raw copy loop, msg/s | (e) engine, msg/s | ratio e / r |\n|---|---|---|---|\n');
for (const client of clients) {
  debug(`client ${client}`);
  let raw = values['engine-only'] ? Number.NaN : 0;
  let best = 0;
  for (let r = 0; r < Number(values.repeats); r += 1) {
    const rawOut = name('raw-out');
    const engineOut = name('engine-out');
    await createTopic(rawOut);
    await createTopic(engineOut);
    if (!values['engine-only']) raw = Math.max(raw, client === 'kafkajs' ? await rawKafkajs(input, rawOut) : await rawRdkafka(input, rawOut));
    best = Math.max(best, (await engine(input, engineOut, client)).rate);
  }
  process.stdout.write(`| ${client} | ${raw.toFixed(0)} | ${best.toFixed(0)} | **${(best / raw).toFixed(3)}** |\n`);
}
await admin.disconnect();
