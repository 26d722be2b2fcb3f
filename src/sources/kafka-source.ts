/**
 * `kafka-source`: consumes topics (a list or a pattern) in a consumer group. Offsets are never
 * committed automatically: the runtime reports each partition's highest contiguous completed
 * offset and only that is committed. Fetching pauses above the runtime's in-flight limit. After
 * a rebalance, in-flight inputs of partitions that moved are still finished but not committed by
 * this instance; a partition read again from its last commit is merged by the runtime, which
 * reports only offsets below which everything completed in some read.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { CreateContext, OptionProblem, Source, SourceContext } from '../core/component.js';
import type { EnvelopeInit } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { gaugeFamily } from '../core/metric-family.js';
import type { NodeGauge } from '../core/metric-family.js';
import { retry } from '../core/retry.js';
import type { KafkaConsumerClient, KafkaInputMessage, StartFrom } from '../kafka/client.js';
import { COMPRESSIONS, compressionProblem } from '../kafka/client.js';
import { connectError, ConnectionOptions, connectionSettings } from '../kafka/connection.js';
import { createClientFactory } from '../kafka/client-factory.js';
import { decodeInput, decodePlain, rawInput, ValueOptions } from '../kafka/input-message.js';
import { AvroRegistryCodec, SchemaRegistryOptions } from '../kafka/schema-registry.js';
import { KAFKA_TRANSACTION, TransactionCoordinator } from '../kafka/transactions.js';

const consumerLag = gaugeFamily('centaur_kafka_consumer_lag', 'High watermark minus the next offset to read, per assigned partition.', ['topic', 'partition']);

const options = Type.Object(
  {
    ...ConnectionOptions,
    topics: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Topics to consume.' })),
    topicPattern: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A regular expression: consume every topic whose whole name matches (instead of `topics`). Keep to the syntax JavaScript and POSIX share (`.`, `[a-z]`, `*`, `+`, `|`, `( )`), which both clients understand.',
      }),
    ),
    groupId: Type.String({ minLength: 1, description: 'Consumer group; instances with the same group share the partitions.' }),
    startFrom: Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('timestamp')], {
      default: 'earliest',
      description: 'Where to start in partitions that have no committed offset in the group.',
    }),
    startTimestampMs: Type.Optional(Type.Integer({ minimum: 0, description: 'With `startFrom: timestamp`: the first message at or after this time (ms since the epoch).' })),
    value: ValueOptions,
    schemaRegistry: Type.Optional(SchemaRegistryOptions),
    sessionTimeoutMs: Type.Integer({ minimum: 1000, default: 10000, description: 'Group session timeout: how long a silent instance keeps its partitions.' }),
    maxBytesPerPartition: Type.Integer({ minimum: 1024, default: 2097152, description: 'Most bytes fetched from one partition per request.' }),
    readCommitted: Type.Boolean({ default: true, description: 'Skip messages of aborted transactions (isolation level read_committed).' }),
    exactlyOnce: Type.Boolean({
      default: false,
      description: 'Exactly-once Kafka → Kafka: offsets commit inside a producer transaction with the outputs of the sinks that set `exactlyOnce: true`.',
    }),
    transactionalId: Type.Optional(Type.String({ minLength: 1, description: 'With `exactlyOnce`: the producer’s transactional id, stable across restarts and unique per instance. Default: `centaur-<topology>-<node>`.' })),
    transactionIntervalMs: Type.Integer({ minimum: 10, default: 1000, description: 'With `exactlyOnce`: how often inputs are drained and the transaction committed (outputs become visible then).' }),
    compression: Type.Union(COMPRESSIONS.map((c) => Type.Literal(c)), { default: 'none', description: 'With `exactlyOnce`: compression of the transactional producer (`snappy`, `lz4`, `zstd` need node-rdkafka).' }),
    stopAtEnd: Type.Boolean({
      default: false,
      description:
        'Bounded run (a backfill, a benchmark, a test): read up to the end offsets the topics had when the node started, then finish — the topology drains, commits and exits. For one instance reading every partition of `topics`.',
    }),
    endIdleMs: Type.Integer({
      minimum: 100,
      default: 5000,
      description: 'With `stopAtEnd`: finish also once no message has come for this long while nothing is held (partitions whose group offset is already at the end, or that end in transaction markers, send none).',
    }),
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Reads images or upload events from Kafka topics in a consumer group. */
export const kafkaSource = defineSource({
  kind: 'kafka-source',
  role: 'source',
  description: 'Consumes Kafka topics in a consumer group (Avro, JSON or raw bytes), committing only completed offsets.',
  stability: 'beta',
  options,
  examples: [
    { title: 'Raw JPEG bytes, one image per message', options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topics: ['camera-frames'], groupId: 'centaur', value: { format: 'bytes' } } },
    {
      title: 'Avro camera frames through the schema registry',
      options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topics: ['camera-frames'], groupId: 'centaur', schemaRegistry: { url: '${CENTAUR_SCHEMA_REGISTRY_URL}' } },
    },
    {
      title: 'Label events (the `label` Avro schema) for `training-set-sink`',
      options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topics: ['labels'], groupId: 'centaur-labels', schemaRegistry: { url: '${CENTAUR_SCHEMA_REGISTRY_URL}' }, value: { content: 'label' } },
    },
  ],
  metrics: [consumerLag],
  claims: (o) => [`consumer group ${o.groupId} of ${o.topics?.join(',') ?? o.topicPattern ?? ''}`],
  validate: (o) => optionProblems(o),
  provides: (o) => (o.exactlyOnce ? [KAFKA_TRANSACTION.name] : []),
  create: async (o, ctx): Promise<Source> => {
    // `validate` refused a pattern that is not a regular expression.
    const pattern = o.topicPattern === undefined ? undefined : { regex: topicRegex(o.topicPattern), source: o.topicPattern };
    const connection = connectionSettings(o, ctx.topologyName, ctx.nodeId);
    const factory = await createClientFactory(connection, ctx.logger);
    if (o.topics !== undefined) {
      // Checked here for every client: librdkafka would wait for a missing topic without a word.
      let missing: string[];
      try {
        missing = await factory.missingTopics(o.topics);
      } catch (error) {
        throw connectError(ctx.nodeId, error);
      }
      if (missing.length > 0) throw new CentaurError('CONFIG_INVALID', `node \`${ctx.nodeId}\`: topic ${missing.join(', ')} not found on the brokers; create ${missing.length === 1 ? 'it' : 'them'}, or fix \`topics\``);
    }
    const startFrom: StartFrom = o.startFrom === 'timestamp' ? { kind: 'timestamp', timestampMs: o.startTimestampMs ?? 0 } : { kind: o.startFrom };
    const consumer = factory.consumer({
      groupId: o.groupId,
      topics: o.topics ?? [],
      ...(pattern === undefined ? {} : { topicPattern: pattern }),
      startFrom,
      sessionTimeoutMs: o.sessionTimeoutMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      readCommitted: o.readCommitted,
    });
    const codec = o.schemaRegistry === undefined ? undefined : await AvroRegistryCodec.create(o.schemaRegistry);
    let coordinator: TransactionCoordinator | undefined;
    if (o.exactlyOnce) {
      const transactionalId = o.transactionalId ?? `centaur-${ctx.topologyName}-${ctx.nodeId}`;
      coordinator = new TransactionCoordinator(factory.transactionalProducer({ transactionalId, compression: o.compression, idempotent: true }), transactionalId);
      try {
        await coordinator.connect();
      } catch (error) {
        throw new CentaurError('KAFKA_UNAVAILABLE', `node \`${ctx.nodeId}\`: cannot start the transactional producer ${transactionalId}: ${(error as Error).message}`, { cause: error });
      }
      ctx.shared?.provide(KAFKA_TRANSACTION, coordinator);
    }
    return new KafkaSource(consumer, codec, coordinator, o, ctx);
  },
});

/** The rules between options the schema cannot say; see the spec's `validate`. */
function optionProblems(o: Options): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (o.topics === undefined && o.topicPattern === undefined) {
    problems.push({ path: [], message: 'give either `topics` or `topicPattern`', suggestion: 'add `topics: [<topic>]`, or `topicPattern: <regular expression>`' });
  } else if (o.topics !== undefined && o.topicPattern !== undefined) {
    problems.push({ path: ['topicPattern'], message: 'give either `topics` or `topicPattern`, not both', suggestion: 'remove `topicPattern`, or `topics`' });
  }
  if (o.topicPattern !== undefined) {
    try {
      topicRegex(o.topicPattern);
    } catch (error) {
      problems.push({ path: ['topicPattern'], message: `\`topicPattern\` is not a regular expression: ${(error as Error).message}`, suggestion: 'keep to `.`, `[a-z]`, `*`, `+`, `|` and `( )`; escape a literal dot as `\\.`' });
    }
  }
  if (o.value.format === 'avro' && o.schemaRegistry === undefined) {
    problems.push({ path: ['value', 'format'], message: '`value.format: avro` needs `schemaRegistry`', suggestion: 'add `schemaRegistry: { url: … }`, or set `value.format` to `json` or `bytes`' });
  }
  if (o.value.content === 'label' && o.value.format === 'bytes') {
    problems.push({ path: ['value', 'content'], message: '`value.content: label` reads label records, which `format: bytes` does not carry', suggestion: 'set `value.format` to `avro` (the `label` schema) or `json`' });
  }
  if (o.startFrom === 'timestamp' && o.startTimestampMs === undefined) {
    problems.push({ path: ['startFrom'], message: '`startFrom: timestamp` needs `startTimestampMs`', suggestion: 'add `startTimestampMs: <ms since the epoch>`, or set `startFrom` to `earliest` or `latest`' });
  }
  if (o.stopAtEnd && o.topics === undefined) {
    problems.push({ path: ['stopAtEnd'], message: '`stopAtEnd` reads to the end offsets of named topics', suggestion: 'name the topics in `topics`, or remove `stopAtEnd`' });
  }
  const compression = o.exactlyOnce ? compressionProblem(o.client, o.compression) : undefined;
  if (compression !== undefined) problems.push({ path: ['compression'], ...compression });
  return problems;
}

/** The anchored regular expression of a `topicPattern` (the whole topic name must match); throws a SyntaxError for a bad pattern. */
function topicRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** Retries of a registry lookup that fails for infrastructure reasons, before the run fails. */
const REGISTRY_ATTEMPTS = 8;

/** Lag is reported every tick; the brokers are asked for high watermarks every few ticks. */
const LAG_TICK_MS = 1000;
const LAG_QUERY_EVERY_TICKS = 5;

/** How long an exactly-once barrier waits for in-flight inputs before it tries again later. */
const BARRIER_WAIT_MS = 30000;
/** Longest wait, when the group takes partitions away, for their inputs in flight to finish and be committed. */
const REVOCATION_DRAIN_MS = 5000;

class KafkaSource implements Source {
  /** Per partition: the highest offset emitted, and the next offset to read according to the runtime's commits. */
  private readonly lastEmitted = new Map<string, number>();
  private readonly committedNext = new Map<string, number>();
  private assigned = new Set<string>();
  private stopped = false;
  private closed = false;
  private finish: ((error?: Error) => void) | undefined;
  private readonly logger: Logger;
  /** Paused by the runtime (backpressure); a barrier pauses on its own account. */
  private pausedByRuntime = false;
  /** Exactly-once: positions to commit with the next transaction, and the barrier in progress. */
  private readonly transactionOffsets = new Map<string, number>();
  private barrier: Promise<void> | undefined;
  private transactionTimer: NodeJS.Timeout | undefined;
  /** Fetched inputs not yet emitted, in fetch order. */
  private backlog: Queued[] = [];
  /** Partitions the group is taking away: nothing more of them is emitted. */
  private revoking = new Set<string>();
  /** Commits sent to the client and not yet settled. */
  private readonly commitsInFlight = new Set<Promise<void>>();
  private sourceCtx: SourceContext | undefined;
  /** Joined the group and fetching (for readiness). */
  private consuming = false;
  /** Per partition: the high watermark last seen, and the next offset to emit; lag is their difference. */
  private readonly highs = new Map<string, number>();
  private readonly nextOffsets = new Map<string, number>();
  private lagTimer: NodeJS.Timeout | undefined;
  private lagTicks = 0;
  private readonly lag: NodeGauge<'topic' | 'partition'> | undefined;
  /** `stopAtEnd`: each partition's end offset at the start, when the last message came, and the check's timer. */
  private ends: Map<string, number> | undefined;
  private lastMessageAt = Date.now();
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly consumer: KafkaConsumerClient,
    private readonly codec: AvroRegistryCodec | undefined,
    private readonly coordinator: TransactionCoordinator | undefined,
    private readonly options: Options,
    private readonly ctx: CreateContext,
  ) {
    this.logger = ctx.logger;
    this.lag = ctx.metrics?.gauge(consumerLag);
  }

  async start(ctx: SourceContext): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    try {
      await this.consumer.start({
        onMessages: (messages) => this.receive(messages, ctx),
        onHighWatermark: (topic, partition, high) => this.highs.set(partitionName(topic, partition), high),
        onAssignment: (assigned) => {
          const previous = this.assigned;
          this.assigned = new Set([...assigned].flatMap(([topic, partitions]) => partitions.map((p) => partitionName(topic, p))));
          for (const name of previous) {
            if (this.assigned.has(name)) continue;
            const { topic, partition } = partitionOf(name);
            this.lag?.remove({ topic, partition: String(partition) });
            this.highs.delete(name);
            this.nextOffsets.delete(name);
          }
          this.consuming = true;
          this.revoking = new Set();
          // Inputs of partitions that moved away are left to their new owner.
          this.backlog = this.backlog.filter((q) => this.assigned.has(partitionName(q.message.topic, q.message.partition)));
          this.logger.info({ partitions: [...this.assigned].sort() }, 'Partitions assigned.');
        },
        onRevocation: (revoked) => this.finishRevoked(revoked),
        onFatal: (error) => this.finish?.(new CentaurError('KAFKA_UNAVAILABLE', `the Kafka consumer stopped: ${error.message}`, { cause: error })),
      });
    } catch (error) {
      if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw new CentaurError('CONFIG_INVALID', `node \`${this.ctx.nodeId}\`: ${this.describe()} not found on the brokers; create them, or fix \`topics\``, { cause: error });
      }
      throw new CentaurError('KAFKA_UNAVAILABLE', `cannot start consuming ${this.describe()}: ${(error as Error).message}`, { cause: error });
    }
    this.consuming = true;
    this.scheduleLag();
    if (this.options.stopAtEnd && !this.stopped) await this.watchEnd();
    if (this.stopped) this.finish?.();
    if (this.coordinator !== undefined) this.scheduleTransaction();
    await done;
  }

  health(): string | null {
    return this.consuming ? null : `not consuming yet from ${this.describe()} (connecting or joining group ${this.options.groupId})`;
  }

  pause(): void {
    this.pausedByRuntime = true;
    this.consumer.pause();
  }

  resume(): void {
    this.pausedByRuntime = false;
    this.resumeIfReady();
  }

  /** Emits what waits, then lets the consumer fetch again if nothing holds it. */
  private resumeIfReady(): void {
    if (this.stopped || this.pausedByRuntime || this.barrier !== undefined) return;
    if (this.sourceCtx !== undefined) this.emitBacklog(this.sourceCtx);
    if (this.backlog.length === 0 && !this.pausedByRuntime) this.consumer.resume();
  }

  async commit(partition: string, offset: number): Promise<void> {
    const next = offset + 1;
    if (next <= (this.committedNext.get(partition) ?? -1)) return;
    this.committedNext.set(partition, next);
    if (!this.assigned.has(partition)) return;
    if (this.coordinator !== undefined) {
      this.transactionOffsets.set(partition, next);
      return;
    }
    const sent = this.consumer.commit([{ ...partitionOf(partition), offset: next }]).catch((error: unknown) => {
      // A commit refused because the group is rebalancing is harmless: the inputs are read again.
      this.logger.warn({ partition, offset: next, error: (error as Error).message }, 'Offset commit failed; the inputs after the last commit will be read again.');
    });
    this.commitsInFlight.add(sent);
    await sent;
    this.commitsInFlight.delete(sent);
  }

  /**
   * The group takes `revoked` away (at-least-once): emit nothing more of them, wait (at most
   * REVOCATION_DRAIN_MS) until every input emitted from them is finished and committed, so that
   * their next owner starts after them instead of repeating them. Exactly-once leaves this to the
   * transaction, and a run that is stopping has drained already.
   */
  private async finishRevoked(revoked: ReadonlyMap<string, readonly number[]>): Promise<void> {
    const names = [...revoked].flatMap(([topic, partitions]) => partitions.map((p) => partitionName(topic, p)));
    if (this.coordinator !== undefined || this.stopped || this.closed || names.length === 0) return;
    this.revoking = new Set(names);
    this.backlog = this.backlog.filter((q) => !this.revoking.has(partitionName(q.message.topic, q.message.partition)));
    const unfinished = (): string[] => names.filter((n) => (this.lastEmitted.get(n) ?? -1) >= (this.committedNext.get(n) ?? 0));
    const deadline = Date.now() + REVOCATION_DRAIN_MS;
    while (unfinished().length > 0 && Date.now() < deadline && !this.stopped) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all(this.commitsInFlight);
    const left = unfinished();
    if (left.length > 0) this.logger.warn({ partitions: left }, 'Revoked partitions still had inputs in flight; their next owner reads them again.');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.transactionTimer);
    clearTimeout(this.lagTimer);
    clearTimeout(this.endTimer);
    this.consumer.pause();
    this.finish?.();
  }

  /** `stopAtEnd`: notes the end offsets now, then checks until every partition reached its end (or nothing came for `endIdleMs`) and stops. */
  private async watchEnd(): Promise<void> {
    const topics = this.options.topics ?? [];
    let highs: { topic: string; partition: number; high: number }[];
    try {
      highs = await this.consumer.highWatermarks(topics);
    } catch (error) {
      throw new CentaurError('KAFKA_UNAVAILABLE', `cannot read the end offsets of ${this.describe()}: ${(error as Error).message}`, { cause: error });
    }
    const ends = new Map(highs.map((h) => [partitionName(h.topic, h.partition), h.high]));
    this.ends = ends;
    this.lastMessageAt = Date.now();
    this.logger.info({ ends: Object.fromEntries(ends) }, 'Reading to these end offsets, then stopping (stopAtEnd).');
    const check = (): void => {
      if (this.stopped) return;
      // Held inputs (backpressure, a transaction barrier) are progress still to come.
      if (this.pausedByRuntime || this.backlog.length > 0 || this.barrier !== undefined) this.lastMessageAt = Date.now();
      const remaining = [...ends].filter(([name, end]) => end > 0 && (this.nextOffsets.get(name) ?? 0) < end);
      const idle = Date.now() - this.lastMessageAt >= this.options.endIdleMs;
      if (remaining.length === 0 || idle) {
        this.logger.info({ reached: remaining.length === 0, idleMs: idle ? this.options.endIdleMs : undefined, short: Object.fromEntries(remaining.map(([name, end]) => [name, end - (this.nextOffsets.get(name) ?? 0)])) }, 'End offsets reached: the source stops.');
        void this.stop();
        return;
      }
      this.endTimer = setTimeout(check, 100);
    };
    check();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.transactionTimer);
    const coordinator = this.coordinator;
    if (coordinator !== undefined) {
      await this.barrier?.catch(() => undefined);
      try {
        // Commit only a clean cut: with inputs still in flight (a drain that timed out), abort.
        if (this.allIdle()) await coordinator.commit(this.options.groupId, this.takeTransactionOffsets());
        else await coordinator.abort();
      } catch (error) {
        this.logger.error({ error: (error as Error).message }, 'The last transaction did not commit; its inputs will be read again.');
      }
      await coordinator.close().catch(() => undefined);
    }
    await this.consumer.close().catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'Closing the Kafka consumer failed.'));
  }

  /**
   * Reports each assigned partition's lag once a second; every few seconds it asks the brokers
   * for the high watermarks, so a consumer that fetches nothing (paused, stuck) still shows its
   * lag growing.
   */
  private scheduleLag(): void {
    const lag = this.lag;
    if (lag === undefined || this.stopped) return;
    this.lagTimer = setTimeout(() => {
      this.lagTicks += 1;
      const refresh =
        this.lagTicks % LAG_QUERY_EVERY_TICKS === 0
          ? this.consumer
              .highWatermarks([...new Set([...this.assigned].map((n) => partitionOf(n).topic))])
              .then((highs) => {
                for (const h of highs) if (h.high >= 0) this.highs.set(partitionName(h.topic, h.partition), h.high);
              })
              .catch((error: unknown) => this.logger.debug({ error: (error as Error).message }, 'High watermark query failed; lag is reported from fetches only.'))
          : Promise.resolve();
      void refresh.then(() => {
        for (const name of this.assigned) {
          const high = this.highs.get(name);
          const next = this.nextOffsets.get(name);
          if (high === undefined || next === undefined) continue;
          const { topic, partition } = partitionOf(name);
          lag.set({ topic, partition: String(partition) }, Math.max(0, high - next));
        }
        this.scheduleLag();
      });
    }, LAG_TICK_MS);
    this.lagTimer.unref();
  }

  private scheduleTransaction(): void {
    if (this.stopped) return;
    this.transactionTimer = setTimeout(() => {
      this.barrier = this.commitTransaction().finally(() => {
        this.barrier = undefined;
        this.resumeIfReady();
        this.scheduleTransaction();
      });
      this.barrier.catch((error: unknown) => this.finish?.(toCentaurError(error, 'KAFKA_TRANSACTION_FAILED')));
    }, this.options.transactionIntervalMs);
  }

  /** Exactly-once barrier: stop taking input, wait until every input completed, commit outputs and offsets together. */
  private async commitTransaction(): Promise<void> {
    const coordinator = this.coordinator as TransactionCoordinator;
    this.consumer.pause();
    const deadline = Date.now() + BARRIER_WAIT_MS;
    while (!this.allIdle()) {
      if (this.stopped) return;
      if (Date.now() > deadline) {
        this.logger.warn({ waitedMs: BARRIER_WAIT_MS }, 'Inputs still in flight at the transaction barrier; the commit waits for the next interval.');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await coordinator.commit(this.options.groupId, this.takeTransactionOffsets());
  }

  private allIdle(): boolean {
    for (const [partition, last] of this.lastEmitted) if ((this.committedNext.get(partition) ?? -1) <= last) return false;
    return true;
  }

  private takeTransactionOffsets(): { topic: string; partition: number; offset: number }[] {
    const offsets = [...this.transactionOffsets].map(([name, offset]) => ({ ...partitionOf(name), offset }));
    this.transactionOffsets.clear();
    return offsets;
  }

  /** Decodes a fetched run (registry lookups at once) and emits it in offset order. */
  /** Decodes a fetched run (registry lookups at once) and queues it for emission in offset order. */
  private async receive(messages: readonly KafkaInputMessage[], ctx: SourceContext): Promise<void> {
    if (this.stopped) return;
    this.lastMessageAt = Date.now();
    // JSON and raw bytes decode at once; Avro may wait on the registry, all lookups together.
    const decoded =
      this.options.value.format === 'avro'
        ? await Promise.all(messages.map((m) => this.decode(m)))
        : messages.map((m) => this.decodeNow(m, { sourceId: this.ctx.nodeId, partition: partitionName(m.topic, m.partition) }));
    for (const [i, result] of decoded.entries()) this.backlog.push({ message: messages[i] as KafkaInputMessage, result });
    this.emitBacklog(ctx);
  }

  /**
   * Emits queued inputs until the runtime pauses the source (or a transaction barrier holds it):
   * what is in flight never exceeds the runtime's limit, and the fetch loop never blocks (so the
   * group's heartbeats go on). The rest waits for `resume`; the consumer fetches no more meanwhile.
   */
  private emitBacklog(ctx: SourceContext): void {
    this.sourceCtx = ctx;
    while (this.backlog.length > 0 && !this.pausedByRuntime && this.barrier === undefined && !this.stopped) {
      const { message, result } = this.backlog.shift() as Queued;
      const name = partitionName(message.topic, message.partition);
      // A partition being taken away is left to its next owner from here on.
      if (this.revoking.has(name)) continue;
      // A bounded run leaves what came after its start to the next run (the offset is not committed).
      const end = this.ends?.get(name);
      if (end !== undefined && message.offset >= end) continue;
      this.lastEmitted.set(name, Math.max(this.lastEmitted.get(name) ?? -1, message.offset));
      this.nextOffsets.set(name, message.offset + 1);
      const place = { sourceId: this.ctx.nodeId, partition: name };
      if (result instanceof CentaurError) ctx.fail(rawInput(message, place), result);
      else ctx.emit(withPlace(result, place));
    }
    if (this.backlog.length > 0) this.consumer.pause();
  }

  private async decode(message: KafkaInputMessage): Promise<EnvelopeInit | CentaurError> {
    const provisional = { sourceId: this.ctx.nodeId, partition: partitionName(message.topic, message.partition) };
    try {
      return await retry(() => decodeInput(message, provisional, this.options.value, this.codec), {
        attempts: REGISTRY_ATTEMPTS,
        baseDelayMs: 200,
        maxDelayMs: 5000,
        onRetry: (error, attempt) => this.logger.warn({ error: error.message, attempt }, 'Schema registry lookup failed; retrying.'),
      });
    } catch (error) {
      const err = toCentaurError(error, 'KAFKA_VALUE_INVALID');
      if (err.category === 'data') return err;
      throw err;
    }
  }

  private decodeNow(message: KafkaInputMessage, place: { sourceId: string; partition: string }): EnvelopeInit | CentaurError {
    try {
      return decodePlain(message, place, this.options.value);
    } catch (error) {
      return toCentaurError(error, 'KAFKA_VALUE_INVALID');
    }
  }

  private describe(): string {
    return this.options.topics === undefined ? `topics matching ${this.options.topicPattern ?? ''}` : `topics ${this.options.topics.join(', ')}`;
  }
}

/** A fetched message waiting to be emitted, decoded or failed. */
interface Queued {
  readonly message: KafkaInputMessage;
  readonly result: EnvelopeInit | CentaurError;
}

function withPlace(init: EnvelopeInit, place: { partition: string }): EnvelopeInit {
  return { ...init, position: { ...init.position, partition: place.partition } };
}

/** The runtime's name of a Kafka partition, `<topic>-<n>` as Kafka itself prints it. */
function partitionName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

function partitionOf(name: string): { topic: string; partition: number } {
  const dash = name.lastIndexOf('-');
  return { topic: name.slice(0, dash), partition: Number(name.slice(dash + 1)) };
}
