/**
 * Gathers the messages of many concurrent sink writes into few produce requests: a request goes
 * out when `batchSize` messages or `maxBatchBytes` bytes wait, or `lingerMs` after the first, and
 * each write resolves when the broker acknowledged the request that carried its messages. The
 * byte bound keeps a request's per-partition record batch under the broker's `message.max.bytes`
 * (1 MiB by default), which large values such as images would otherwise exceed.
 */
import { CentaurError } from '../core/errors.js';
import type { KafkaOutputMessage } from './client.js';

type Send = (topic: string, messages: readonly KafkaOutputMessage[]) => Promise<void>;

interface Waiting {
  readonly messages: readonly KafkaOutputMessage[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class BatchingProducer {
  private waiting: Waiting[] = [];
  private count = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly topic: string,
    private readonly send: Send,
    private readonly batchSize: number,
    private readonly lingerMs: number,
    private readonly maxBatchBytes: number = 524288,
  ) {}

  /** Queues messages; resolves once they are acknowledged, rejects with a retriable error if the send failed. */
  async produce(messages: readonly KafkaOutputMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Large writes go out in several requests, each within the count and byte bounds.
    const chunks: KafkaOutputMessage[][] = [[]];
    let bytes = 0;
    for (const m of messages) {
      const size = m.value.length + (m.key?.length ?? 0);
      const last = chunks[chunks.length - 1] as KafkaOutputMessage[];
      if (last.length > 0 && (last.length >= this.batchSize || bytes + size > this.maxBatchBytes)) {
        chunks.push([m]);
        bytes = size;
      } else {
        last.push(m);
        bytes += size;
      }
    }
    await Promise.all(chunks.map((chunk) => this.enqueue(chunk)));
  }

  private enqueue(messages: readonly KafkaOutputMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const size = messages.reduce((sum, m) => sum + m.value.length + (m.key?.length ?? 0), 0);
      // A write that would overflow the request goes into the next one.
      if (this.waiting.length > 0 && this.bytes + size > this.maxBatchBytes) this.flushNow();
      this.waiting.push({ messages, resolve, reject });
      this.count += messages.length;
      this.bytes += size;
      if (this.count >= this.batchSize || this.bytes >= this.maxBatchBytes || this.lingerMs === 0) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.lingerMs);
    });
  }

  /** Sends whatever waits and resolves when every request in flight has finished. */
  async flush(): Promise<void> {
    this.flushNow();
    await Promise.allSettled([...this.inFlight]);
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.count = 0;
    this.bytes = 0;
    const request = this.send(this.topic, batch.flatMap((w) => w.messages)).then(
      () => {
        for (const w of batch) w.resolve();
      },
      (error: unknown) => {
        const err = error instanceof CentaurError ? error : new CentaurError('KAFKA_UNAVAILABLE', `cannot produce to ${this.topic}: ${(error as Error).message}`, { cause: error });
        for (const w of batch) w.reject(err);
      },
    );
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }
}
