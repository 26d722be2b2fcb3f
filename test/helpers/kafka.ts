/**
 * Access to the real services started by `scripts/services/services.sh up` (Kafka, the schema
 * registry): addresses, unique topic and group names, and an independent producer and consumer
 * (kafkajs and the registry client used directly, not through Centaur's components).
 * Without the services a test fails in CI and is skipped elsewhere, naming the command to run.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { TestContext } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Consumer, IHeaders, KafkaMessage } from 'kafkajs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const BROKERS = process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092';
export const REGISTRY_URL = process.env.CENTAUR_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

/** The client libraries every Kafka integration test runs with. */
export const CLIENTS = ['confluent', 'node-rdkafka', 'kafkajs'] as const;

// The two librdkafka clients load a library of one name (librdkafka.so.1), and in one process the
// first loaded serves both. Loading Confluent's first makes the `confluent` cases run on its own
// librdkafka (2.15) — the tests check that — and node-rdkafka's on that newer, ABI-compatible one.
try {
  createRequire(import.meta.url)('@confluentinc/kafka-javascript');
} catch {
  // Not built here: its cases fail with the reason, and CI requires it.
}

/** The librdkafka version the `confluent` client runs on in this process. */
export function confluentLibrdkafka(): string {
  return (createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { librdkafkaVersion: string }).librdkafkaVersion;
}

export const kafka = new Kafka({ clientId: 'centaur-tests', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
export const registry = new SchemaRegistry({ host: REGISTRY_URL });

let reachable: Promise<string | undefined> | undefined;

/** Skips the test (or fails it under CI=true) when Kafka or the registry is not running. */
export async function requireServices(t: TestContext): Promise<boolean> {
  reachable ??= (async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } catch (error) {
      return `Kafka at ${BROKERS}: ${(error as Error).message}`;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    try {
      const response = await fetch(`${REGISTRY_URL}/subjects`);
      if (!response.ok) return `schema registry at ${REGISTRY_URL}: HTTP ${response.status}`;
    } catch (error) {
      return `schema registry at ${REGISTRY_URL}: ${(error as Error).message}`;
    }
    return undefined;
  })();
  const problem = await reachable;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up`);
  return false;
}

/** A topic or group name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates topics with the given partition count and waits for their leaders. */
export async function createTopics(names: readonly string[], partitions: number): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
}

/** Reads a built-in Avro schema. */
export async function avroSchema(name: string): Promise<string> {
  return readFile(path.resolve('schemas/avro', `${name}.avsc`), 'utf8');
}

/** Registers a schema under a subject with the registry client, returning its id. */
export async function registerSchema(subject: string, schema: string): Promise<number> {
  const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
  return id;
}

export interface OutMessage {
  key?: string | Buffer | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  partition?: number;
}

/** Produces messages with an independent producer. */
export async function produce(topic: string, messages: readonly OutMessage[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500).map((m) => ({ ...m })) });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Consumed {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/** Consumes a topic from the beginning with its own group until `until` holds or the time runs out. */
export async function consumeUntil(
  topic: string,
  until: (messages: readonly Consumed[]) => boolean,
  options: { timeoutMs?: number; readCommitted?: boolean; quietMs?: number } = {},
): Promise<Consumed[]> {
  const consumer: Consumer = kafka.consumer({ groupId: unique('test-reader'), readUncommitted: options.readCommitted === false, maxWaitTimeInMs: 100 });
  const messages: Consumed[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let lastAt = Date.now();
  await consumer.run({
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      lastAt = Date.now();
      messages.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers: headersOf(message.headers) });
    },
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60000);
  try {
    while (Date.now() < deadline) {
      if (until(messages) && Date.now() - lastAt >= (options.quietMs ?? 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? String(v[v.length - 1]) : v.toString();
  return out;
}

/** Committed offsets of a group on a topic, by partition. */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}
