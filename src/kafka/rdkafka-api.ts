/**
 * The part of node-rdkafka's API the adapter uses, declared here so that the project builds and
 * type-checks when the optional package is absent (it compiles against the system's librdkafka and
 * may fail to install; `npm ci` then goes on without it). The shapes follow node-rdkafka 3.x.
 */

/** A librdkafka error as node-rdkafka reports it. */
export interface LibrdKafkaError {
  readonly message: string;
  readonly code: number;
}

/** A callback that receives an error or nothing. */
export type ErrorCallback = (err: LibrdKafkaError | null | undefined) => void;

/** A callback that receives an error or a result. */
export type ResultCallback<T> = (err: LibrdKafkaError | null | undefined, data: T) => void;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

export type Assignment = TopicPartition | TopicPartitionOffset;

export interface Metadata {
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly id: number }[] }[];
}

export interface WatermarkOffsets {
  readonly lowOffset: number;
  readonly highOffset: number;
}

/** A consumed message. */
export interface Message {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key?: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: readonly Record<string, Buffer | string>[];
  readonly timestamp?: number;
}

type Config = Record<string, unknown>;

/** What every client connects and disconnects with. */
export interface Client {
  connect(options: { timeout: number }, cb: ErrorCallback): void;
  getMetadata(options: { timeout: number }, cb: ResultCallback<Metadata>): void;
  on(event: 'event.error', listener: (error: LibrdKafkaError) => void): void;
  /** librdkafka's own log lines (authentication and TLS failures show only here while connecting). */
  on(event: 'event.log', listener: (entry: { readonly severity: number; readonly fac: string; readonly message: string }) => void): void;
  removeListener(event: 'event.error' | 'event.log', listener: (...args: never[]) => void): void;
}

export interface KafkaConsumer extends Client {
  assign(assignment: readonly Assignment[]): void;
  unassign(): void;
  assignments(): TopicPartition[];
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  subscribe(topics: readonly string[]): void;
  setDefaultConsumeTimeout(ms: number): void;
  /** Confluent's client only: consume(n) waits its timeout for the first message, then takes what is ready (node-rdkafka waits the timeout again for each). */
  setDefaultIsTimeoutOnlyForFirstMessage?(value: boolean): void;
  consume(count: number, cb: ResultCallback<Message[]>): void;
  commit(offsets: readonly TopicPartitionOffset[]): void;
  committed(partitions: readonly TopicPartition[], timeoutMs: number, cb: ResultCallback<TopicPartitionOffset[]>): void;
  offsetsForTimes(partitions: readonly TopicPartitionOffset[], timeoutMs: number, cb: ResultCallback<TopicPartitionOffset[]>): void;
  getWatermarkOffsets(topic: string, partition: number): WatermarkOffsets;
  queryWatermarkOffsets(topic: string, partition: number, timeoutMs: number, cb: ResultCallback<WatermarkOffsets>): void;
  disconnect(cb: () => void): void;
}

export interface Producer extends Client {
  disconnect(cb: () => void): void;
}

export interface HighLevelProducer extends Client {
  setPollInterval(ms: number): void;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer | null,
    // null for no key: an undefined key never reaches the delivery callback (the message hangs).
    key: Buffer | string | null,
    timestamp: number,
    headers: readonly Record<string, Buffer | string>[],
    cb: (err: unknown) => void,
  ): void;
  initTransactions(timeoutMs: number, cb: ErrorCallback): void;
  beginTransaction(cb: ErrorCallback): void;
  sendOffsetsToTransaction(offsets: readonly TopicPartitionOffset[], consumer: KafkaConsumer, timeoutMs: number, cb: ErrorCallback): void;
  commitTransaction(timeoutMs: number, cb: ErrorCallback): void;
  abortTransaction(timeoutMs: number, cb: ErrorCallback): void;
  disconnect(timeoutMs: number, cb: () => void): void;
}

/** The module's exports the adapter uses. */
export interface RdkafkaModule {
  /** The version of the librdkafka loaded in this process. */
  readonly librdkafkaVersion: string;
  readonly KafkaConsumer: new (config: Config, topicConfig: Config) => KafkaConsumer;
  readonly Producer: new (config: Config) => Producer;
  readonly HighLevelProducer: new (config: Config, topicConfig: Config) => HighLevelProducer;
  readonly CODES: { readonly ERRORS: { readonly ERR__ASSIGN_PARTITIONS: number; readonly ERR__REVOKE_PARTITIONS: number } };
}
