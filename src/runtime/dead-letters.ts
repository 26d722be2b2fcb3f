/**
 * The dead-letter route: failed inputs from every node go, in order, to the one dead-letter sink;
 * once a letter is durable its input counts as settled for every path through the failing node.
 * If the dead-letter sink itself keeps failing, the run must stop, so that no input is lost.
 */
import { concatMap, from, lastValueFrom, Subject } from 'rxjs';
import type { DeadLetter, Sink } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type { CentaurMetrics } from '../observability/metrics.js';
import { DeliveryState } from './delivery-state.js';
import type { NodeCounters } from './node-counters.js';

/** A sink that can take dead letters. */
export type DeadLetterSink = Sink & { writeDeadLetters: NonNullable<Sink['writeDeadLetters']> };

/** Routes failed inputs to the dead-letter sink, one write at a time. */
export class DeadLetterRoute {
  private readonly letters = new Subject<DeadLetter>();
  private done: Promise<void> | undefined;

  constructor(
    private readonly sink: DeadLetterSink,
    /** The dead-letter node's counters when the topology names one. */
    private readonly counters: NodeCounters | undefined,
    private readonly metrics: CentaurMetrics,
    private readonly logger: Logger,
    /** Called when the sink failed for good: the run must stop. */
    private readonly onFatal: (error: CentaurError) => void,
    /** Told of every letter as it is queued (tracing). */
    private readonly onLetter?: (letter: DeadLetter) => void,
  ) {}

  /** Starts writing; letters sent before this are not written. */
  start(): void {
    this.done = lastValueFrom(this.letters.pipe(concatMap((letter) => from(this.write(letter)))), { defaultValue: undefined });
  }

  /** Queues a failed input. */
  send(letter: DeadLetter): void {
    this.onLetter?.(letter);
    this.letters.next(letter);
  }

  /** No more letters will come: resolves when the queued ones are written. */
  async end(): Promise<void> {
    this.letters.complete();
    await this.done;
  }

  private async write(letter: DeadLetter): Promise<void> {
    if (letter.envelope.delivery instanceof DeliveryState && letter.envelope.delivery.done) return;
    const counters = this.counters;
    if (counters !== undefined) counters.received += 1;
    try {
      await retry(() => this.sink.writeDeadLetters([letter]), { attempts: 10, baseDelayMs: 100, maxDelayMs: 5000 });
      if (counters !== undefined) counters.sent += 1;
    } catch (error) {
      if (counters !== undefined) counters.failed += 1;
      this.onFatal(new CentaurError('SINK_WRITE_FAILED', `the dead-letter sink failed; stopping so no input is lost: ${(error as Error).message}`, { cause: error }));
      return;
    }
    this.metrics.deadLetter(letter.node, letter.error.code);
    const e = letter.envelope;
    this.logger.debug(
      { node: letter.node, code: letter.error.code, error: letter.error.message, input: e.id, traceId: e.metadata['trace-id'] ?? e.id, source: e.position.source, partition: e.position.partition, offset: e.position.offset },
      'Input dead-lettered.',
    );
    letter.envelope.delivery.deadLettered(letter.node);
  }
}
