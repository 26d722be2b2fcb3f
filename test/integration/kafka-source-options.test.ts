/**
 * kafka-source options against the real broker, with every client library: backpressure keeps
 * in-flight inputs within the runtime's limit; `startFrom` latest and timestamp; a topic pattern;
 * `record: input` relays values, keys and headers byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type * as Rdkafka from 'node-rdkafka';
import { pino } from 'pino';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';
import { parseTopology } from '../../src/topology/load.js';
import { BROKERS, CLIENTS, confluentLibrdkafka, consumeUntil, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import type { OutMessage } from '../helpers/kafka.js';

interface Running {
  readonly runtime: Runtime;
  readonly done: Promise<RunSummary>;
  readonly logs: Record<string, unknown>[];
}

/** Runs a relay topology (kafka-source → kafka-sink record: input) in process, with its logs kept. */
function relay(source: string, output: string, client: string, maxInFlight = 1024): Running {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const yaml = `version: 1
name: ${unique('relay')}
limits: { maxInFlight: ${maxInFlight}, commitIntervalMs: 50 }
nodes:
  in:
    kind: kafka-source
    brokers: [${BROKERS}]
    client: ${client}
${source}
  out:
    kind: kafka-sink
    from: [in]
    brokers: [${BROKERS}]
    client: ${client}
    topic: ${output}
    record: input
`;
  const runtime = new Runtime(parseTopology(yaml, 'relay.yaml'), { logger: pino({ level: 'info' }, stream) });
  return { runtime, done: runtime.run(), logs };
}

async function assigned(r: Running): Promise<void> {
  const deadline = Date.now() + 30000;
  while (!r.logs.some((l) => l.msg === 'Partitions assigned.' && (l.partitions as string[]).length > 0)) {
    if (Date.now() > deadline) throw new Error('no partitions assigned within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function json(i: number, extra: Partial<OutMessage> = {}): OutMessage {
  return { key: `k-${i}`, value: Buffer.from(JSON.stringify({ id: `m-${i}`, uri: `file:///m/${i}.jpg` })), headers: { seq: String(i) }, ...extra };
}

for (const client of CLIENTS) {
  test(`${client}: backpressure keeps in-flight inputs within maxInFlight; relayed messages keep value, key and headers`, async (t) => {
    if (!(await requireServices(t))) return;
    const input = unique('bp-in');
    const output = unique('bp-out');
    await createTopics([input, output], 2);
    await produce(input, Array.from({ length: 600 }, (_, i) => json(i)));
    const r = relay(`    topics: [${input}]\n    groupId: ${unique('bp')}\n    value: { format: json }`, output, client, 8);
    const seen = await consumeUntil(output, (m) => m.length >= 600, { timeoutMs: 60000 });
    r.runtime.stop();
    const summary = await r.done;
    assert.equal(seen.length, 600);
    assert.ok(summary.peakInFlight <= 8, `peak in flight ${summary.peakInFlight} within maxInFlight 8`);
    const m7 = seen.find((m) => m.key === 'k-7');
    assert.deepEqual(JSON.parse((m7?.value as Buffer).toString()), { id: 'm-7', uri: 'file:///m/7.jpg' });
    assert.equal(m7?.headers.seq, '7');
  });

  test(`${client}: startFrom latest skips what was there; startFrom timestamp starts at the first message at or after it`, async (t) => {
    if (!(await requireServices(t))) return;
    const input = unique('start-in');
    await createTopics([input], 1);
    const t0 = Date.now() - 60000;
    await produce(input, [0, 1, 2].map((i) => json(i, { timestamp: String(t0 + i) } as Partial<OutMessage>)));
    await produce(input, [3, 4].map((i) => json(i, { timestamp: String(t0 + 10000 + i) } as Partial<OutMessage>)));

    const latestOut = unique('latest-out');
    await createTopics([latestOut], 1);
    const latest = relay(`    topics: [${input}]\n    groupId: ${unique('latest')}\n    startFrom: latest\n    value: { format: json }`, latestOut, client);
    await assigned(latest);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await produce(input, [json(5)]);
    const afterLatest = await consumeUntil(latestOut, (m) => m.length >= 1, { timeoutMs: 30000, quietMs: 1000 });
    latest.runtime.stop();
    await latest.done;
    assert.deepEqual(afterLatest.map((m) => m.key), ['k-5']);

    const timeOut = unique('time-out');
    await createTopics([timeOut], 1);
    const byTime = relay(`    topics: [${input}]\n    groupId: ${unique('time')}\n    startFrom: timestamp\n    startTimestampMs: ${t0 + 10000}\n    value: { format: json }`, timeOut, client);
    const fromTime = await consumeUntil(timeOut, (m) => m.length >= 3, { timeoutMs: 30000, quietMs: 1000 });
    byTime.runtime.stop();
    await byTime.done;
    assert.deepEqual(fromTime.map((m) => m.key), ['k-3', 'k-4', 'k-5']);
  });

  test(`${client}: a topic pattern consumes every matching topic and no other`, async (t) => {
    if (!(await requireServices(t))) return;
    const prefix = unique('pattern').replace(/-/g, '_');
    const output = unique('pattern-out');
    await createTopics([`${prefix}.a`, `${prefix}.b`, `${prefix}x`, output], 1);
    await produce(`${prefix}.a`, [json(1)]);
    await produce(`${prefix}.b`, [json(2)]);
    await produce(`${prefix}x`, [json(3)]);
    const r = relay(`    topicPattern: '${prefix}\\.[a-z]'\n    groupId: ${unique('pattern')}\n    value: { format: json }`, output, client);
    const seen = await consumeUntil(output, (m) => m.length >= 2, { timeoutMs: 30000, quietMs: 1500 });
    r.runtime.stop();
    await r.done;
    assert.deepEqual(seen.map((m) => m.key).sort(), ['k-1', 'k-2']);
  });
}

/** Reads `count` messages' keys with node-rdkafka (kafkajs cannot decompress zstd). */
async function rdkafkaKeys(topic: string, count: number): Promise<string[]> {
  const kafka = createRequire(import.meta.url)('node-rdkafka') as typeof Rdkafka;
  const consumer = new kafka.KafkaConsumer({ 'metadata.broker.list': BROKERS, 'group.id': unique('zstd-reader') }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10000 }, (err) => (err ? reject(new Error(err.message)) : resolve())));
  consumer.subscribe([topic]);
  const keys: string[] = [];
  const deadline = Date.now() + 30000;
  try {
    while (keys.length < count && Date.now() < deadline) {
      const batch = await new Promise<Rdkafka.Message[]>((resolve, reject) => consumer.consume(10, (err, messages) => (err ? reject(new Error(err.message)) : resolve(messages))));
      for (const m of batch) keys.push(String(m.key));
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return keys;
}

/** Writes `count` JSON messages keyed `k-<i>` compressed with `codec` through a raw node-rdkafka producer (not Centaur's components). */
async function rdkafkaProduce(topic: string, count: number, codec: 'zstd' | 'lz4'): Promise<void> {
  const kafka = createRequire(import.meta.url)('node-rdkafka') as typeof Rdkafka;
  const producer = new kafka.Producer({ 'metadata.broker.list': BROKERS, 'compression.codec': codec, dr_cb: true });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10000 }, (err) => (err ? reject(new Error(err.message)) : resolve())));
  let delivered = 0;
  const all = new Promise<void>((resolve) => producer.on('delivery-report', () => (delivered += 1) === count && resolve()));
  producer.setPollInterval(20);
  for (let i = 1; i <= count; i += 1) producer.produce(topic, null, Buffer.from(JSON.stringify({ id: `m-${i}`, uri: `file:///m/${i}.jpg` })), `k-${i}`);
  producer.flush(10000, () => undefined);
  await all;
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
}

test('compression: the librdkafka clients read and write zstd and lz4; validation refuses codecs kafkajs lacks, before anything starts', async (t) => {
  if (!(await requireServices(t))) return;
  const yaml = (client: string, input: string, output: string, compression: string): string => `version: 1
name: ${unique('codec')}
nodes:
  in: { kind: kafka-source, brokers: [${BROKERS}], client: ${client}, topics: [${input}], groupId: ${unique('codec')}, value: { format: json } }
  out: { kind: kafka-sink, from: [in], brokers: [${BROKERS}], client: ${client}, topic: ${output}, record: input, compression: ${compression} }
`;
  // The confluent cases run on Confluent's own librdkafka, not on node-rdkafka's (see helpers/kafka.ts).
  assert.match(confluentLibrdkafka(), /^2\.(1[5-9]|[2-9]\d)\./);
  for (const client of CLIENTS.filter((c) => c !== 'kafkajs')) {
    for (const codec of ['zstd', 'lz4'] as const) {
      const input = unique(`${codec}-in`);
      const output = unique(`${codec}-out`);
      await createTopics([input, output], 1);
      await rdkafkaProduce(input, 3, codec);
      const runtime = new Runtime(parseTopology(yaml(client, input, output, codec), `${codec}.yaml`), { logger: pino({ level: process.env.T_LOG ?? 'silent' }) });
      const done = runtime.run();
      const keys = await rdkafkaKeys(output, 3);
      runtime.stop();
      await done;
      assert.deepEqual(keys.sort(), ['k-1', 'k-2', 'k-3'], `${client} relaying ${codec}`);
    }
  }
  assert.throws(
    () => parseTopology(yaml('kafkajs', 'a', 'b', 'lz4'), 'lz4.yaml'),
    /lz4\.yaml:\d+:\d+: node `out`: compression `lz4` needs `client: confluent` or `client: node-rdkafka`; with kafkajs use `none` or `gzip`/,
  );
});
