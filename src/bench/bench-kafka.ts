/**
 * The Kafka side of `centaur bench kafka`: fresh topics (outputs stamped with the broker's
 * LogAppendTime, so every contender is timed by the same outside clock), camera frames produced all
 * at once or paced at a target rate, and the appended outputs read back as (append time, capture
 * time) pairs. kafkajs is used directly: this is the harness's own client, not the one under test.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Message, Producer } from 'kafkajs';
import { AvroRegistryCodec, readAvroSchema } from '../kafka/schema-registry.js';

/** How frames are written: Avro `CameraFrame` through the registry, or raw JPEG bytes with headers. */
export type FrameFormat = 'avro' | 'bytes';

/** One output record as the broker appended it. */
export interface Appended {
  /** The broker's LogAppendTime (ms). */
  readonly appendTime: number;
  /** The capture time the record carries (`eventTime`), ms. */
  readonly eventTime: number;
}

/** The broker refuses record batches over 1 MiB; requests stay under half of that. */
const MAX_REQUEST_BYTES = 512 * 1024;
/** Cameras the frames are spread over (the key, so partitions are used evenly). */
const CAMERAS = 16;

/** A connection to the benchmark's broker (and registry, for Avro). */
export class BenchKafka {
  private readonly created: string[] = [];
  private readonly suffix = randomUUID().slice(0, 8);
  private readonly schemaIds = new Map<string, number>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly codec: AvroRegistryCodec | undefined,
    readonly format: FrameFormat,
  ) {}

  /** Connects the admin and producer; Avro needs the registry's URL. */
  static async connect(brokers: string, format: FrameFormat, registry: string | undefined): Promise<BenchKafka> {
    if (format === 'avro' && registry === undefined) throw new Error('Avro frames need a schema registry URL');
    const kafka = new Kafka({ clientId: 'centaur-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const codec = format === 'avro' ? await AvroRegistryCodec.create({ url: registry as string }) : undefined;
    return new BenchKafka(kafka, admin, producer, codec, format);
  }

  /** A topic or group name unique to this benchmark run. */
  name(role: string): string {
    return `centaur-bench-${role}-${this.suffix}`;
  }

  /** Creates a topic; outputs take the broker's append time as their timestamp. */
  async createTopic(role: string, partitions: number, appendTime: boolean): Promise<string> {
    const topic = this.name(`${role}-${this.created.length}`);
    const configEntries = appendTime ? [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] : [];
    await this.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }] });
    this.created.push(topic);
    return topic;
  }

  /** Records in `topic` (the sum of its partitions' high watermarks). */
  async count(topic: string): Promise<number> {
    return (await this.admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  }

  /** Resolves when `topic` holds `n` records; rejects after `timeoutMs` or when `failed` says why. */
  async waitForCount(topic: string, n: number, timeoutMs: number, failed: () => string | undefined = () => undefined): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const reason = failed();
      if (reason !== undefined) throw new Error(reason);
      const have = await this.count(topic);
      if (have >= n) return;
      if (performance.now() > deadline) throw new Error(`${topic} holds ${have} of ${n} records after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Produces every frame now (capture time: when it is sent). */
  async produceAll(topic: string, images: readonly Buffer[], files: readonly string[], root: string): Promise<void> {
    let pending: Message[] = [];
    let bytes = 0;
    const sends: Promise<unknown>[] = [];
    for (const [i, image] of images.entries()) {
      const message = await this.frame(topic, image, i, path.relative(root, files[i] ?? String(i)), Date.now());
      if (bytes + image.length > MAX_REQUEST_BYTES && pending.length > 0) {
        sends.push(this.producer.send({ topic, acks: -1, messages: pending }));
        pending = [];
        bytes = 0;
      }
      pending.push(message);
      bytes += image.length;
    }
    if (pending.length > 0) sends.push(this.producer.send({ topic, acks: -1, messages: pending }));
    await Promise.all(sends);
  }

  /**
   * Produces frames at `rate` per second for `seconds`, each stamped with the time it is sent, in
   * ticks of 10 ms; resolves with the count sent.
   */
  async producePaced(topic: string, images: readonly Buffer[], rate: number, seconds: number): Promise<number> {
    const tickMs = 10;
    const started = performance.now();
    const sends: Promise<unknown>[] = [];
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      const messages: Message[] = [];
      for (; sent < due; sent += 1) messages.push(await this.frame(topic, images[sent % images.length] as Buffer, sent, `frame-${sent}`, Date.now()));
      if (messages.length > 0) sends.push(this.producer.send({ topic, acks: 1, messages }));
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    await Promise.all(sends);
    return sent;
  }

  /** Reads the first `n` records of an output topic: append time and the capture time in the JSON value. */
  async appended(topic: string, n: number, timeoutMs: number): Promise<Appended[]> {
    const consumer = this.kafka.consumer({ groupId: this.name(`reader-${randomUUID().slice(0, 6)}`), maxWaitTimeInMs: 100 });
    const out: Appended[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            out.push({ appendTime: Number(message.timestamp), eventTime: eventTimeOf(message.value) });
          }
        },
      });
      const deadline = performance.now() + timeoutMs;
      while (out.length < n) {
        if (performance.now() > deadline) throw new Error(`read ${out.length} of ${n} records of ${topic} in ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  /** Deletes the topics this run created and disconnects. */
  async close(): Promise<void> {
    try {
      if (this.created.length > 0) await this.admin.deleteTopics({ topics: this.created }).catch(() => undefined);
    } finally {
      await this.producer.disconnect();
      await this.admin.disconnect();
    }
  }

  private async frame(topic: string, image: Buffer, i: number, frameId: string, captureTime: number): Promise<Message> {
    const cameraId = `cam-${i % CAMERAS}`;
    if (this.codec === undefined) return { key: cameraId, value: image, headers: { id: frameId, 'capture-time': String(captureTime) } };
    let id = this.schemaIds.get(topic);
    if (id === undefined) {
      id = await this.codec.register(`${topic}-value`, await readAvroSchema('camera-frame', '.'));
      this.schemaIds.set(topic, id);
    }
    return { key: cameraId, value: await this.codec.encode(id, { cameraId, frameId, captureTime, image, contentType: 'image/jpeg', metadata: {} }) };
  }
}

/** The `eventTime` of a JSON prediction; NaN for any other value (the copy loop's frames). */
function eventTimeOf(value: Buffer | null): number {
  try {
    return Number((JSON.parse(value?.toString('utf8') ?? '{}') as { eventTime?: unknown }).eventTime);
  } catch {
    return Number.NaN;
  }
}

/** Images/s over the appends: records after the first append instant ÷ the time from it to the last (startup excluded alike for every contender). */
export function appendRate(appends: readonly Appended[]): number {
  if (appends.length < 2) return Number.NaN;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const a of appends) {
    first = Math.min(first, a.appendTime);
    last = Math.max(last, a.appendTime);
  }
  const after = appends.filter((a) => a.appendTime > first).length;
  return last > first ? after / ((last - first) / 1000) : Number.NaN;
}
