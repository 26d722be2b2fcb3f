/** The kafkajs implementation of the Kafka client adapter (pure JavaScript; unmaintained upstream, kept for machines without a C++ toolchain). */
import { readFile } from 'node:fs/promises';
import type { Admin, Consumer, EachBatchPayload, ICustomPartitioner, Kafka, KafkaConfig, LogEntry, Producer } from 'kafkajs';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
  Compression,
  ConsumerHandlers,
  ConsumerSettings,
  KafkaClientFactory,
  KafkaConsumerClient,
  KafkaInputMessage,
  KafkaOutputMessage,
  KafkaProducerClient,
  KafkaTransactionalProducerClient,
  ProducerSettings,
  TopicPartitionOffset,
} from './client.js';
import type { ConnectionSettings } from './connection.js';

/** Creates kafkajs clients for one cluster; kafkajs is loaded on first use. */
export async function createKafkajsFactory(connection: ConnectionSettings, logger: Logger): Promise<KafkaClientFactory> {
  const kafkajs = await import('kafkajs');
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    connectionTimeout: connection.connectionTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
    logCreator: () => (entry: LogEntry) => logKafkajs(logger, entry),
    logLevel: kafkajs.logLevel.WARN,
    ...(connection.ssl ? { ssl: connection.caFile === undefined ? true : { ca: [await readCaFile(connection.caFile)] } } : {}),
    ...(connection.sasl === undefined ? {} : { sasl: { mechanism: connection.sasl.mechanism, username: connection.sasl.username, password: connection.sasl.password } as KafkaConfig['sasl'] }),
  };
  const kafka = new kafkajs.Kafka(config);
  const codec = kafkajs.CompressionTypes;
  const codecOf = (compression: Compression): number => {
    if (compression === 'none') return codec.None;
    if (compression === 'gzip') return codec.GZIP;
    throw new CentaurError('CONFIG_INVALID', `compression \`${compression}\` needs \`client: confluent\` or \`client: node-rdkafka\`; with kafkajs use \`none\` or \`gzip\``);
  };
  return {
    library: 'kafkajs',
    missingTopics: async (topics) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        return topics.filter((t) => !existing.has(t));
      } finally {
        await admin.disconnect();
      }
    },
    consumer: (settings) => new KafkajsConsumer(kafka, settings),
    // Keys go to partitions as Java clients and node-rdkafka (murmur2) place them.
    producer: (settings) => new KafkajsProducer(kafka, settings, codecOf(settings.compression), kafkajs.Partitioners.DefaultPartitioner),
    transactionalProducer: (settings) =>
      new KafkajsTransactionalProducer(kafka, settings, codecOf(settings.compression), kafkajs.Partitioners.DefaultPartitioner),
  };
}

/**
 * Conditions of a consumer group's normal life that kafkajs logs as errors and retries: a
 * rebalance, a rejoin after one, a group or transaction coordinator still loading or moving.
 */
const ROUTINE = /REBALANCE_IN_PROGRESS|rebalanc|re-joining|rejoin|COORDINATOR_LOAD_IN_PROGRESS|coordinator is loading|NOT_COORDINATOR|not the correct coordinator/i;

/** The level a kafkajs log line gets here; why: a normal rebalance is not an error on an operator's terminal. */
export function kafkajsLevel(entry: Pick<LogEntry, 'level' | 'log'>): 'error' | 'warn' | 'info' | 'debug' {
  // kafkajs levels: 1 error, 2 warn, 4 info, 5 debug.
  const level = Number(entry.level);
  if (level > 2) return 'debug';
  const { message, ...rest } = entry.log;
  if (ROUTINE.test(`${message} ${JSON.stringify(rest)}`)) return 'info';
  return level <= 1 ? 'error' : 'warn';
}

function logKafkajs(logger: Logger, entry: LogEntry): void {
  const { message, ...rest } = entry.log;
  logger[kafkajsLevel(entry)]({ client: 'kafkajs', namespace: entry.namespace, ...rest }, message);
}

class KafkajsConsumer implements KafkaConsumerClient {
  private readonly consumer: Consumer;
  private topics = new Set<string>();
  private paused = false;
  /** Created on the first watermark query, for lag metrics. */
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: ConsumerSettings,
  ) {
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
      rebalanceTimeout: Math.max(settings.sessionTimeoutMs, 10000),
      maxBytesPerPartition: settings.maxBytesPerPartition,
      maxWaitTimeInMs: 100,
      readUncommitted: !settings.readCommitted,
      allowAutoTopicCreation: false,
    });
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    const { consumer, settings } = this;
    const events = consumer.events;
    consumer.on(events.GROUP_JOIN, (event) => {
      const assigned = new Map<string, number[]>(Object.entries(event.payload.memberAssignment));
      for (const topic of assigned.keys()) this.topics.add(topic);
      if (this.paused) this.applyPause();
      handlers.onAssignment(assigned);
    });
    consumer.on(events.CRASH, (event) => {
      if (!event.payload.restart) handlers.onFatal(event.payload.error);
    });
    await consumer.connect();
    if (settings.startFrom.kind === 'timestamp') await this.seekUncommittedToTimestamp(settings.startFrom.timestampMs);
    const subscriptions: (string | RegExp)[] = settings.topicPattern === undefined ? [...settings.topics] : [settings.topicPattern.regex];
    for (const topic of settings.topics) this.topics.add(topic);
    await consumer.subscribe({ topics: subscriptions, fromBeginning: settings.startFrom.kind !== 'latest' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch }: EachBatchPayload) => {
        const messages: KafkaInputMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key ?? null,
          value: m.value ?? null,
          headers: stringHeaders(m.headers),
          timestamp: Number(m.timestamp),
        }));
        handlers.onHighWatermark?.(batch.topic, batch.partition, Number(batch.highWatermark));
        await handlers.onMessages(messages);
      },
    });
  }

  pause(): void {
    this.paused = true;
    this.applyPause();
  }

  resume(): void {
    this.paused = false;
    const topics = [...this.topics].map((topic) => ({ topic }));
    if (topics.length > 0) this.consumer.resume(topics);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
  }

  async highWatermarks(topics: readonly string[]): Promise<{ topic: string; partition: number; high: number }[]> {
    if (this.admin === undefined) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    const admin = this.admin;
    const perTopic = await Promise.all(topics.map(async (topic) => (await admin.fetchTopicOffsets(topic)).map((p) => ({ topic, partition: p.partition, high: Number(p.high) }))));
    return perTopic.flat();
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    await this.consumer.disconnect();
  }

  private applyPause(): void {
    const topics = [...this.topics].map((topic) => ({ topic }));
    if (topics.length > 0) this.consumer.pause(topics);
  }

  /** For partitions without a committed offset in the group, store the offset of the timestamp. */
  private async seekUncommittedToTimestamp(timestampMs: number): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      let topics = [...this.settings.topics];
      const pattern = this.settings.topicPattern;
      if (pattern !== undefined) topics = (await admin.listTopics()).filter((t) => pattern.regex.test(t));
      const committed = await admin.fetchOffsets({ groupId: this.settings.groupId, topics });
      for (const { topic, partitions } of committed) {
        const fresh = partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition);
        if (fresh.length === 0) continue;
        const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
        const entries = byTime.filter((e) => fresh.includes(e.partition)).map((e) => ({ partition: e.partition, offset: e.offset }));
        await admin.setOffsets({ groupId: this.settings.groupId, topic, partitions: entries });
      }
    } finally {
      await admin.disconnect();
    }
  }
}

class KafkajsProducer implements KafkaProducerClient {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    settings: ProducerSettings,
    private readonly compression: number,
    partitioner: ICustomPartitioner,
  ) {
    this.producer = kafka.producer({
      idempotent: settings.idempotent,
      allowAutoTopicCreation: settings.allowAutoTopicCreation === true,
      createPartitioner: partitioner,
      ...(settings.idempotent ? { maxInFlightRequests: 5 } : {}),
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, compression: this.compression, messages: messages.map(toKafkajsMessage) });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkajsTransactionalProducer implements KafkaTransactionalProducerClient {
  private readonly producer: Producer;
  private transaction: Awaited<ReturnType<Producer['transaction']>> | undefined;

  constructor(
    kafka: Kafka,
    settings: ProducerSettings & { transactionalId: string },
    private readonly compression: number,
    partitioner: ICustomPartitioner,
  ) {
    this.producer = kafka.producer({ createPartitioner: partitioner, idempotent: true, transactionalId: settings.transactionalId, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async begin(): Promise<void> {
    this.transaction = await this.producer.transaction();
  }

  async send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void> {
    await this.open().send({ topic, acks: -1, compression: this.compression, messages: messages.map(toKafkajsMessage) });
  }

  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const transaction = this.open();
    if (offsets.length > 0) {
      const topics = new Map<string, { partition: number; offset: string }[]>();
      for (const o of offsets) {
        const list = topics.get(o.topic) ?? [];
        list.push({ partition: o.partition, offset: String(o.offset) });
        topics.set(o.topic, list);
      }
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) });
    }
    await transaction.commit();
    this.transaction = undefined;
  }

  async abort(): Promise<void> {
    const transaction = this.transaction;
    this.transaction = undefined;
    if (transaction?.isActive()) await transaction.abort();
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }

  private open(): NonNullable<typeof this.transaction> {
    if (this.transaction === undefined) throw new Error('no open transaction');
    return this.transaction;
  }
}

function toKafkajsMessage(m: KafkaOutputMessage): { key: Buffer | string | null; value: Buffer; headers: Record<string, string> } {
  return { key: m.key, value: m.value, headers: { ...m.headers } };
}

function stringHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

/** The CA certificate file's text; a file that cannot be read is a configuration error naming it. */
async function readCaFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `caFile ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
