/**
 * The Kafka client adapter: the few operations Centaur's Kafka components need, so that the
 * client library (kafkajs, node-rdkafka, confluent) is chosen per topology without touching the components.
 *
 * Consumer lifecycle: `start(handlers)` joins the group and resolves once consuming has begun;
 * fetched messages reach `handlers.onMessages` in offset order per partition; `pause`/`resume`
 * stop and restart fetching (backpressure); `commit` stores positions (never automatically);
 * `close` leaves the group. A failure the client cannot recover from reaches `handlers.onFatal`.
 *
 * Producer lifecycle: `connect`, then `send` (resolves when the broker acknowledged every message
 * with acks=all), optionally inside a transaction, then `close`.
 */

/** One message as read from a partition. */
export interface KafkaInputMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, ms since the epoch. */
  readonly timestamp: number;
}

/** One message to produce. */
export interface KafkaOutputMessage {
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** A position to store: `offset` is the next offset to read. */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Where the consumer starts in a partition that has no committed offset in its group. */
export type StartFrom = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly timestampMs: number };

export interface ConsumerHandlers {
  /** A fetched run of messages, in offset order; the next run waits until this one resolves. */
  onMessages(messages: readonly KafkaInputMessage[]): Promise<void>;
  /** The group (re)assigned partitions: positions may move back to the last commit. */
  onAssignment(assigned: ReadonlyMap<string, readonly number[]>): void;
  /**
   * The group is taking these partitions away: resolves once what was read from them is finished
   * and committed (bounded by the source), so the next owner does not repeat it. Clients that
   * support it wait for this before they give the partitions up.
   */
  onRevocation?(revoked: ReadonlyMap<string, readonly number[]>): Promise<void>;
  /** The client stopped for good. */
  onFatal(error: Error): void;
  /** A partition's high watermark as seen in a fetch response, for lag metrics. */
  onHighWatermark?(topic: string, partition: number, high: number): void;
}

export interface KafkaConsumerClient {
  start(handlers: ConsumerHandlers): Promise<void>;
  pause(): void;
  resume(): void;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Asks the brokers for the high watermarks of these topics' partitions (lag while no fetch arrives). */
  highWatermarks(topics: readonly string[]): Promise<{ topic: string; partition: number; high: number }[]>;
  close(): Promise<void>;
}

export interface KafkaProducerClient {
  connect(): Promise<void>;
  send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** A producer whose sends and consumed offsets commit atomically (exactly-once Kafka → Kafka). */
export interface KafkaTransactionalProducerClient {
  connect(): Promise<void>;
  begin(): Promise<void>;
  send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void>;
  /** Commits the open transaction together with the group's consumed positions. */
  commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** Consumer settings common to every client library. */
export interface ConsumerSettings {
  readonly groupId: string;
  /** Topic names; a pattern subscription lists them via `topicPattern`. */
  readonly topics: readonly string[];
  /** The whole topic name must match (anchored); `source` is the pattern as the user wrote it. */
  readonly topicPattern?: { readonly regex: RegExp; readonly source: string };
  readonly startFrom: StartFrom;
  readonly sessionTimeoutMs: number;
  readonly maxBytesPerPartition: number;
  /** Read only committed transactional messages. */
  readonly readCommitted: boolean;
}

/** The client libraries a topology can choose: `confluent` (@confluentinc/kafka-javascript), `node-rdkafka` (both librdkafka) or `kafkajs` (pure JavaScript). */
export const KAFKA_CLIENTS = ['confluent', 'node-rdkafka', 'kafkajs'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** Batch compression codecs; kafkajs here offers `none` and `gzip`, the librdkafka clients all of them. */
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Why a producer of `client` cannot compress with `compression` (kafkajs has `none` and `gzip` only), or undefined; pure, for validation. */
export function compressionProblem(client: KafkaClientName, compression: Compression): { readonly message: string; readonly suggestion: string } | undefined {
  if (client !== 'kafkajs' || compression === 'none' || compression === 'gzip') return undefined;
  return { message: `compression \`${compression}\` needs \`client: confluent\` or \`client: node-rdkafka\``, suggestion: 'with kafkajs use `none` or `gzip`' };
}

/** Producer settings common to every client library. */
export interface ProducerSettings {
  readonly compression: Compression;
  readonly idempotent: boolean;
  /** Let the broker create a missing topic (where the broker allows it); default no. */
  readonly allowAutoTopicCreation?: boolean;
  readonly transactionalId?: string;
}

/** Creates clients of one library for one cluster. */
export interface KafkaClientFactory {
  readonly library: string;
  /** Which of `topics` the cluster does not have. */
  missingTopics(topics: readonly string[]): Promise<string[]>;
  consumer(settings: ConsumerSettings): KafkaConsumerClient;
  producer(settings: ProducerSettings): KafkaProducerClient;
  transactionalProducer(settings: ProducerSettings & { transactionalId: string }): KafkaTransactionalProducerClient;
}
