/**
 * The librdkafka implementation of the Kafka client adapter, over either library that exposes
 * node-rdkafka's API: `@confluentinc/kafka-javascript` (`client: confluent`, Confluent's supported
 * client with librdkafka 2.x built in) or `node-rdkafka` (built against the system's librdkafka).
 * Both are optional dependencies built from source at install, so each is loaded only when a
 * topology asks for it, with a clear error if it is not installed.
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Rdkafka from './rdkafka-api.js';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
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

/** Messages taken from librdkafka's queue per call. */
const CONSUME_BATCH = 500;
const TIMEOUT_MS = 30000;
/** librdkafka log lines of failures that retrying will not mend: credentials, mechanism, certificates. */
const CONNECT_REFUSED = /(SASL authentication error.*|SSL handshake failed.*certificate verify failed.*)$/;

/** The package each librdkafka client is, and how to install it when it is missing. */
const LIBRARIES = {
  confluent: {
    package: '@confluentinc/kafka-javascript',
    install: 'install libssl-dev zlib1g-dev libsasl2-dev liblz4-dev libzstd-dev and a C++ toolchain, then `bash scripts/native/build-confluent-kafka.sh`',
  },
  'node-rdkafka': { package: 'node-rdkafka', install: 'install librdkafka-dev, then `BUILD_LIBRDKAFKA=0 npm install node-rdkafka`' },
} as const;

/** The binding's module; a CONFIG_INVALID saying how to install it when it is missing. */
function loadLibrary(library: keyof typeof LIBRARIES): Rdkafka.RdkafkaModule {
  const { package: name, install } = LIBRARIES[library];
  try {
    return createRequire(import.meta.url)(name) as Rdkafka.RdkafkaModule;
  } catch (error) {
    throw new CentaurError(
      'CONFIG_INVALID',
      `client \`${library}\` is not installed (${name}: ${(error as Error).message.split('\n')[0] ?? ''}); ${install}, or use \`client: kafkajs\``,
      { cause: error },
    );
  }
}

/** The librdkafka a binding runs on in this process (the first binding loaded serves both); why: benchmarks report it. */
export function librdkafkaVersion(library: keyof typeof LIBRARIES): string {
  return loadLibrary(library).librdkafkaVersion;
}

/** Creates clients of `library` (a librdkafka binding) for one cluster. */
export function createRdkafkaFactory(connection: ConnectionSettings, logger: Logger, library: keyof typeof LIBRARIES = 'node-rdkafka'): KafkaClientFactory {
  const kafka = loadLibrary(library);
  const base: Record<string, string | number | boolean> = {
    'metadata.broker.list': connection.brokers.join(','),
    'client.id': connection.clientId,
    'socket.connection.setup.timeout.ms': connection.connectionTimeoutMs,
    'socket.timeout.ms': connection.requestTimeoutMs,
    ...(connection.ssl ? { 'security.protocol': connection.sasl === undefined ? 'ssl' : 'sasl_ssl' } : connection.sasl === undefined ? {} : { 'security.protocol': 'sasl_plaintext' }),
    ...(connection.ssl && connection.caFile !== undefined ? { 'ssl.ca.location': readableCaFile(connection.caFile) } : {}),
    ...(connection.sasl === undefined
      ? {}
      : { 'sasl.mechanisms': connection.sasl.mechanism.toUpperCase(), 'sasl.username': connection.sasl.username, 'sasl.password': connection.sasl.password }),
  };
  const consumers = new Map<string, Rdkafka.KafkaConsumer>();
  const log = logger.child({ client: library });
  return {
    library,
    missingTopics: async (topics) => {
      const probe = new kafka.Producer({ ...base });
      await connectClient(probe, base).catch(async (error: unknown) => {
        // A client that never connected may throw on disconnect, or not answer: the connect's error is the one to report.
        await Promise.race([
          new Promise<void>((resolve) => {
            try {
              probe.disconnect(() => resolve());
            } catch {
              resolve();
            }
          }),
          new Promise((resolve) => setTimeout(resolve, 2000).unref()),
        ]).catch(() => undefined);
        throw error;
      });
      try {
        const metadata = await new Promise<Rdkafka.Metadata>((resolve, reject) => {
          probe.getMetadata({ timeout: TIMEOUT_MS }, (err, data) => {
            if (err) reject(new Error(err.message));
            else resolve(data);
          });
        });
        const existing = new Set(metadata.topics.map((t) => t.name));
        return topics.filter((t) => !existing.has(t));
      } finally {
        await new Promise<void>((resolve) => probe.disconnect(() => resolve()));
      }
    },
    consumer: (settings) => new RdkafkaConsumer(kafka, base, settings, log, consumers),
    producer: (settings) => new RdkafkaProducer(kafka, base, settings, log),
    transactionalProducer: (settings) => new RdkafkaTransactionalProducer(kafka, base, settings, log, consumers),
  };
}

/**
 * How long a connect waits for the cluster: three connection attempts' worth, at least 10 s. Kept
 * short on purpose: a pending connect holds the process at exit for its whole timeout.
 */
function connectTimeoutMs(base: Record<string, string | number | boolean>): number {
  return Math.max(10_000, 3 * Number(base['socket.connection.setup.timeout.ms'] ?? 3000));
}

/**
 * Connects a client. librdkafka retries a failed authentication or an untrusted certificate for
 * ever, says why only in its log, and the connect times out with "broker transport failure": such
 * a log line ends the wait at once as a configuration error with its reason (never the
 * credentials: librdkafka names only the mechanism).
 */
async function connectClient(client: Rdkafka.Client, base: Record<string, string | number | boolean>): Promise<void> {
  let lastError: string | undefined;
  const onError = (error: Rdkafka.LibrdKafkaError): void => {
    lastError = error.message;
  };
  let onLog: ((entry: { readonly message: string }) => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onLog = (entry) => {
        const refused = CONNECT_REFUSED.exec(entry.message);
        if (refused !== null) reject(new CentaurError('CONFIG_INVALID', `the brokers refused the connection: ${refused[0]}`));
      };
      client.on('event.error', onError);
      client.on('event.log', onLog);
      client.connect({ timeout: connectTimeoutMs(base) }, (err) => (err === null || err === undefined ? resolve() : reject(new Error(lastError === undefined ? err.message : `${err.message} (${lastError})`))));
    });
  } finally {
    client.removeListener('event.error', onError);
    if (onLog !== undefined) client.removeListener('event.log', onLog);
  }
}

function callback(resolve: () => void, reject: (error: Error) => void): (err: Rdkafka.LibrdKafkaError | null | undefined) => void {
  return (err) => (err === null || err === undefined ? resolve() : reject(new Error(err.message)));
}

class RdkafkaConsumer implements KafkaConsumerClient {
  private readonly consumer: Rdkafka.KafkaConsumer;
  private paused = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private handlers: ConsumerHandlers | undefined;
  private readonly startOffsets = new Map<string, number>();
  /** Rest after an empty consume (node-rdkafka's short consume wait). */
  private idleRestMs = 0;

  constructor(
    private readonly kafka: Rdkafka.RdkafkaModule,
    private readonly base: Record<string, string | number | boolean>,
    private readonly settings: ConsumerSettings,
    private readonly logger: Logger,
    registry: Map<string, Rdkafka.KafkaConsumer>,
  ) {
    const codes = kafka.CODES.ERRORS;
    this.consumer = new kafka.KafkaConsumer(
      {
        ...base,
        'group.id': settings.groupId,
        'enable.auto.commit': false,
        'session.timeout.ms': settings.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
        'max.partition.fetch.bytes': settings.maxBytesPerPartition,
        'fetch.wait.max.ms': 100,
        'isolation.level': settings.readCommitted ? 'read_committed' : 'read_uncommitted',
        'allow.auto.create.topics': false,
        rebalance_cb: (err: Rdkafka.LibrdKafkaError, assignment: Rdkafka.Assignment[]) => {
          if (err.code === codes.ERR__ASSIGN_PARTITIONS) {
            // Partitions without a committed offset start at the timestamp's offset (once).
            const positioned = assignment.map((a) => {
              const key = `${a.topic}\u0000${a.partition}`;
              const offset = this.startOffsets.get(key);
              this.startOffsets.delete(key);
              return offset === undefined ? a : { topic: a.topic, partition: a.partition, offset };
            });
            this.consumer.assign(positioned);
            if (this.paused) this.consumer.pause(assignment);
            this.handlers?.onAssignment(groupByTopic(assignment));
          } else if (err.code === codes.ERR__REVOKE_PARTITIONS) {
            // The partitions are given up once the source has finished and committed what it read from them.
            const finished = this.handlers?.onRevocation?.(groupByTopic(assignment)) ?? Promise.resolve();
            void finished
              .catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'Finishing revoked partitions failed; their inputs after the last commit will be read again.'))
              .then(() => {
                try {
                  this.consumer.unassign();
                } catch (error) {
                  logger.debug({ error: (error as Error).message }, 'Unassign after the consumer closed.');
                }
                this.handlers?.onAssignment(new Map());
              });
          } else {
            logger.warn({ error: err.message }, 'Rebalance failed.');
          }
        },
      },
      { 'auto.offset.reset': settings.startFrom.kind === 'latest' ? 'latest' : 'earliest' },
    );
    this.consumer.on('event.error', (error) => logger.warn({ error: error.message }, 'Kafka client error.'));
    registry.set(settings.groupId, this.consumer);
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    this.handlers = handlers;
    await connectClient(this.consumer, this.base);
    if (this.settings.startFrom.kind === 'timestamp') await this.findTimestampOffsets(this.settings.startFrom.timestampMs);
    const pattern = this.settings.topicPattern;
    // librdkafka subscribes to a regular expression when the name starts with `^`.
    this.consumer.subscribe(pattern === undefined ? [...this.settings.topics] : [`^(${pattern.source})$`]);
    // consume(500) returns once a wait for the next message times out. With that wait only for the
    // first message (Confluent's client) it hands over whatever is ready; node-rdkafka waits again for
    // every message, so at 20 frames/s a batch would fill for seconds: it gets a short wait instead,
    // and the loop rests a little when nothing came.
    if (this.consumer.setDefaultIsTimeoutOnlyForFirstMessage !== undefined) {
      this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
      this.consumer.setDefaultConsumeTimeout(100);
    } else {
      this.consumer.setDefaultConsumeTimeout(5);
      this.idleRestMs = 20;
    }
    void this.loop().catch((error: unknown) => handlers.onFatal(error as Error));
  }

  pause(): void {
    this.paused = true;
    const assigned = this.consumer.assignments();
    if (assigned.length > 0) this.consumer.pause(assigned);
  }

  resume(): void {
    this.paused = false;
    const assigned = this.consumer.assignments();
    if (assigned.length > 0) this.consumer.resume(assigned);
    this.wake?.();
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    // Queued to librdkafka, which commits in the background; a lost commit only means a re-read.
    this.consumer.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }

  private async loop(): Promise<void> {
    const handlers = this.handlers as ConsumerHandlers;
    while (!this.closed) {
      if (this.paused) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 100);
        });
        continue;
      }
      const batch = await new Promise<Rdkafka.Message[]>((resolve, reject) =>
        this.consumer.consume(CONSUME_BATCH, (err, messages) => (err ? reject(new Error(err.message)) : resolve(messages))),
      ).catch((error: unknown) => {
        this.logger.warn({ error: (error as Error).message }, 'Consume failed; retrying.');
        return [] as Rdkafka.Message[];
      });
      if (batch.length > 0 && !this.closed) {
        this.reportLag(batch, handlers);
        await handlers.onMessages(batch.map(toInput));
      } else if (this.idleRestMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, this.idleRestMs));
      }
    }
  }

  /** High watermarks after a fetch, as librdkafka caches them from fetch responses. */
  private reportLag(batch: readonly Rdkafka.Message[], handlers: ConsumerHandlers): void {
    if (handlers.onHighWatermark === undefined) return;
    const seen = new Map<string, Rdkafka.Message>();
    for (const m of batch) seen.set(`${m.topic}\u0000${m.partition}`, m);
    for (const m of seen.values()) {
      try {
        const { highOffset } = this.consumer.getWatermarkOffsets(m.topic, m.partition);
        if (highOffset >= 0) handlers.onHighWatermark(m.topic, m.partition, highOffset);
      } catch {
        // Watermarks not known yet for this partition: no figure this time.
      }
    }
  }

  async highWatermarks(topics: readonly string[]): Promise<{ topic: string; partition: number; high: number }[]> {
    // Every partition of the topics, from the broker's metadata: the group's assignment may not have arrived yet.
    const wanted = new Set(topics);
    const metadata = await new Promise<Rdkafka.Metadata>((resolve, reject) => {
      this.consumer.getMetadata({ timeout: TIMEOUT_MS }, (err, data) => {
        if (err) reject(new Error(err.message));
        else resolve(data);
      });
    });
    const partitions = metadata.topics.filter((t) => wanted.has(t.name)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.id })));
    return Promise.all(
      partitions.map(
        (a) =>
          new Promise<{ topic: string; partition: number; high: number }>((resolve, reject) => {
            this.consumer.queryWatermarkOffsets(a.topic, a.partition, TIMEOUT_MS, (err, offsets) => {
              if (err) reject(new Error(err.message));
              else resolve({ topic: a.topic, partition: a.partition, high: offsets.highOffset });
            });
          }),
      ),
    );
  }

  /** For partitions without a committed offset in the group, find where the timestamp starts. */
  private async findTimestampOffsets(timestampMs: number): Promise<void> {
    const metadata = await new Promise<Rdkafka.Metadata>((resolve, reject) => {
      this.consumer.getMetadata({ timeout: TIMEOUT_MS }, (err, data) => {
        if (err) reject(new Error(err.message));
        else resolve(data);
      });
    });
    const pattern = this.settings.topicPattern;
    const topics = metadata.topics.filter((t) => (pattern === undefined ? this.settings.topics.includes(t.name) : pattern.regex.test(t.name)));
    const partitions = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.id })));
    if (partitions.length === 0) return;
    const committed = await new Promise<Rdkafka.TopicPartitionOffset[]>((resolve, reject) =>
      this.consumer.committed(partitions, TIMEOUT_MS, (err, tps) => (err ? reject(new Error(err.message)) : resolve(tps))),
    );
    const fresh = committed.filter((c) => typeof c.offset !== 'number' || c.offset < 0).map((c) => ({ topic: c.topic, partition: c.partition, offset: timestampMs }));
    if (fresh.length === 0) return;
    const offsets = await new Promise<Rdkafka.TopicPartitionOffset[]>((resolve, reject) =>
      this.consumer.offsetsForTimes(fresh, TIMEOUT_MS, (err, tps) => (err ? reject(new Error(err.message)) : resolve(tps))),
    );
    for (const o of offsets) this.startOffsets.set(`${o.topic}\u0000${o.partition}`, o.offset);
  }
}

class RdkafkaProducer implements KafkaProducerClient {
  protected readonly producer: Rdkafka.HighLevelProducer;

  constructor(
    kafka: Rdkafka.RdkafkaModule,
    protected readonly base: Record<string, string | number | boolean>,
    settings: ProducerSettings,
    logger: Logger,
  ) {
    this.producer = new kafka.HighLevelProducer(
      {
        ...base,
        'enable.idempotence': settings.idempotent,
        'compression.codec': settings.compression,
        'linger.ms': 2,
        ...(settings.transactionalId === undefined ? {} : { 'transactional.id': settings.transactionalId }),
      },
      // Keys go to partitions as Java clients and kafkajs place them (murmur2).
      { 'request.required.acks': -1, partitioner: 'murmur2_random' },
    );
    this.producer.on('event.error', (error) => logger.warn({ error: error.message }, 'Kafka client error.'));
  }

  async connect(): Promise<void> {
    await connectClient(this.producer, this.base);
    this.producer.setPollInterval(5);
  }

  async send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void> {
    await Promise.all(
      messages.map(
        (m) =>
          new Promise<void>((resolve, reject) => {
            const headers = Object.entries(m.headers).map(([k, v]) => ({ [k]: v }));
            this.producer.produce(topic, null, m.value, m.key ?? null, Date.now(), headers, (err: unknown) =>
              err === null || err === undefined ? resolve() : reject(new Error((err as Error).message)),
            );
          }),
      ),
    );
  }

  async close(): Promise<void> {
    // Flushes queued messages (up to the timeout), then disconnects.
    await new Promise<void>((resolve) => this.producer.disconnect(TIMEOUT_MS, () => resolve()));
  }
}

class RdkafkaTransactionalProducer extends RdkafkaProducer implements KafkaTransactionalProducerClient {
  constructor(
    kafka: Rdkafka.RdkafkaModule,
    base: Record<string, string | number | boolean>,
    settings: ProducerSettings & { transactionalId: string },
    logger: Logger,
    private readonly consumers: Map<string, Rdkafka.KafkaConsumer>,
  ) {
    super(kafka, base, { ...settings, idempotent: true }, logger);
  }

  override async connect(): Promise<void> {
    await super.connect();
    await new Promise<void>((resolve, reject) => this.producer.initTransactions(TIMEOUT_MS, callback(resolve, reject)));
  }

  async begin(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.producer.beginTransaction(callback(resolve, reject)));
  }

  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length > 0) {
      const consumer = this.consumers.get(groupId);
      if (consumer === undefined) throw new Error(`no consumer of group ${groupId} to send offsets for`);
      await new Promise<void>((resolve, reject) =>
        this.producer.sendOffsetsToTransaction(offsets.map((o) => ({ ...o })), consumer, TIMEOUT_MS, callback(resolve, reject)),
      );
    }
    await new Promise<void>((resolve, reject) => this.producer.commitTransaction(TIMEOUT_MS, callback(resolve, reject)));
  }

  async abort(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.producer.abortTransaction(TIMEOUT_MS, callback(resolve, reject)));
  }
}

function toInput(m: Rdkafka.Message): KafkaInputMessage {
  const headers: Record<string, string> = {};
  for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = v.toString();
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
    value: m.value ?? null,
    headers,
    timestamp: m.timestamp ?? Date.now(),
  };
}

function groupByTopic(assignment: readonly Rdkafka.Assignment[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const a of assignment) map.set(a.topic, [...(map.get(a.topic) ?? []), a.partition]);
  return map;
}

/** The CA certificate file, checked readable now: librdkafka would only log that it cannot load it. */
function readableCaFile(file: string): string {
  try {
    accessSync(file, constants.R_OK);
    return file;
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `caFile ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
