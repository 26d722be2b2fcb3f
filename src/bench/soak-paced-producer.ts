/**
 * The soak's camera: JPEG frames produced to a topic at a fixed rate for as long as it runs, each
 * stamped with its capture time (`capture-time` header, ms) when it is sent, in ticks of 10 ms. It
 * holds no more than a bounded number of sends: a broker that stops answering costs skipped frames
 * (counted), never the harness's memory. kafkajs, the harness's own client (not the one under test).
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Message, Producer } from 'kafkajs';

/** Sends in flight at most; frames due beyond that are skipped. */
const MAX_PENDING_SENDS = 200;
const TICK_MS = 10;
/** Cameras the frames are spread over (the key, so partitions are used evenly). */
const CAMERAS = 16;

/** What the producer did. */
export interface PacedStats {
  readonly rate: number;
  readonly seconds: number;
  /** Frames handed to the client. */
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  /** Frames due while too many sends were pending (broker slow or away). */
  readonly skipped: number;
}

/** Produces frames at a fixed rate until stopped. */
export class PacedProducer {
  private sent = 0;
  private acked = 0;
  private failed = 0;
  private skipped = 0;
  private pending = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private stoppedAt = 0;

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly frames: readonly Buffer[],
    readonly rate: number,
  ) {}

  /** Connects and starts producing `frames` (round robin) to `topic` at `rate` per second. */
  static async start(brokers: string, topic: string, frames: readonly Buffer[], rate: number): Promise<PacedProducer> {
    if (!(rate > 0) || frames.length === 0) throw new RangeError(`a paced producer needs a positive rate and frames (rate ${rate}, ${frames.length} frames)`);
    const kafka = new Kafka({ clientId: 'centaur-soak', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    const paced = new PacedProducer(producer, topic, frames, rate);
    paced.running = true;
    paced.startedAt = performance.now();
    paced.loop = paced.run();
    return paced;
  }

  /** Counts so far. */
  get stats(): PacedStats {
    const end = this.running ? performance.now() : this.stoppedAt;
    return { rate: this.rate, seconds: (end - this.startedAt) / 1000, sent: this.sent, acked: this.acked, failed: this.failed, skipped: this.skipped };
  }

  /** Stops producing, waits for the pending sends (up to `timeoutMs`) and disconnects. */
  async stop(timeoutMs = 30_000): Promise<PacedStats> {
    if (this.running) this.stoppedAt = performance.now();
    this.running = false;
    await this.loop;
    const deadline = performance.now() + timeoutMs;
    while (this.pending > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.producer.disconnect().catch(() => undefined);
    return this.stats;
  }

  private async run(): Promise<void> {
    let due = 0;
    while (this.running) {
      const target = Math.floor(((performance.now() - this.startedAt) / 1000) * this.rate);
      const messages: Message[] = [];
      for (; due < target; due += 1) {
        if (this.pending >= MAX_PENDING_SENDS) {
          this.skipped += 1;
          continue;
        }
        const i = this.sent;
        messages.push({ key: `cam-${i % CAMERAS}`, value: this.frames[i % this.frames.length] as Buffer, headers: { id: `frame-${i}`, 'capture-time': String(Date.now()) } });
        this.sent += 1;
      }
      if (messages.length > 0) {
        this.pending += 1;
        this.producer.send({ topic: this.topic, acks: 1, messages }).then(
          () => {
            this.acked += messages.length;
            this.pending -= 1;
          },
          () => {
            this.failed += messages.length;
            this.pending -= 1;
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  }
}
