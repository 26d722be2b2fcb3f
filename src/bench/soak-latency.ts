/**
 * End-to-end latency of the soak, measured as `centaur bench kafka` does: a consumer of the
 * predictions topic (created with `message.timestamp.type=LogAppendTime`) takes each record's append
 * time minus the capture time its JSON carries (`eventTime`, from the frame's `capture-time`
 * header). Kept in HDR histograms — one for the whole run, one per sampling window — so an hour at
 * 100 frames/s holds constant memory.
 */
import { randomUUID } from 'node:crypto';
import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import type { LatencyFigures } from './latency.js';

const EMPTY: LatencyFigures = { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
}

function figuresOf(h: Histogram): LatencyFigures {
  if (h.totalCount === 0) return EMPTY;
  // Read at a bucket's upper edge, which can pass the largest sample: never above it.
  const at = (p: number): number => Math.min(h.getValueAtPercentile(p), h.maxValue);
  return { count: h.totalCount, p50: at(50), p95: at(95), p99: at(99), max: h.maxValue };
}

/** Reads the predictions topic from its start while the soak runs. */
export class PredictionLatency {
  private total = histogram();
  private window = histogram();
  private records = 0;
  private unreadable = 0;

  private constructor(private readonly consumer: Consumer) {}

  /** Starts reading `topic` from the beginning with a fresh group. */
  static async start(brokers: string, topic: string): Promise<PredictionLatency> {
    const kafka = new Kafka({ clientId: 'centaur-soak-reader', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `centaur-soak-reader-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 100 });
    const reader = new PredictionLatency(consumer);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) reader.record(Number(message.timestamp), message.value);
        },
      });
    } catch (error) {
      await reader.stop();
      throw error;
    }
    return reader;
  }

  /** Predictions read so far. */
  get count(): number {
    return this.records;
  }

  /** Records whose value had no `eventTime`. */
  get unreadableCount(): number {
    return this.unreadable;
  }

  /** The figures since the previous call, and a fresh window. */
  takeWindow(): LatencyFigures {
    const figures = figuresOf(this.window);
    this.window.destroy();
    this.window = histogram();
    return figures;
  }

  /** The figures of every prediction read since the start (or since `restartOverall`). */
  overall(): LatencyFigures {
    return figuresOf(this.total);
  }

  /** Leaves what was read so far (the warm-up) out of `overall`. */
  restartOverall(): void {
    this.total.destroy();
    this.total = histogram();
  }

  /** Stops reading and frees the histograms. */
  async stop(): Promise<LatencyFigures> {
    await this.consumer.disconnect().catch(() => undefined);
    const figures = figuresOf(this.total);
    this.total.destroy();
    this.window.destroy();
    return figures;
  }

  private record(appendTime: number, value: Buffer | null): void {
    this.records += 1;
    let eventTime = Number.NaN;
    try {
      eventTime = Number((JSON.parse(value?.toString('utf8') ?? '{}') as { eventTime?: unknown }).eventTime);
    } catch {
      // Counted below.
    }
    if (!Number.isFinite(eventTime) || !Number.isFinite(appendTime)) {
      this.unreadable += 1;
      return;
    }
    // Clocks a millisecond apart can make a sample negative: it counts as 0.
    const ms = Math.min(3_600_000, Math.max(0, Math.round(appendTime - eventTime)));
    this.total.recordValue(ms);
    this.window.recordValue(ms);
  }
}
