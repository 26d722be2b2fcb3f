/**
 * Feeding one sink: gathers items into writes when the sink asks for it, runs up to
 * `sink.concurrency` writes at once, retries failed writes with backoff, turns refused envelopes
 * and writes that failed for good into dead letters, acknowledges the rest, and flushes the sink
 * as soon as its input has ended.
 */
import { performance } from 'node:perf_hooks';
import { concatMap, from, lastValueFrom, map, mergeMap, tap } from 'rxjs';
import type { Observable, SchedulerLike } from 'rxjs';
import type { Sink } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { envelopesOf, isBatch } from '../core/envelope.js';
import type { CentaurError } from '../core/errors.js';
import { toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type { HistogramChild } from '../observability/fast-histogram.js';
import type { RunTracer } from '../observability/run-tracer.js';
import { microBatchBuffer } from '../rx/micro-batch-buffer.js';
import type { DeadLetterRoute } from './dead-letters.js';
import { DeliveryState } from './delivery-state.js';
import { OTHER_CLASS } from './run-stats.js';
import { unbatch } from './items.js';
import type { NodeCounters, NodeHealth } from './node-counters.js';

/** What a sink writer needs of the run. */
export interface SinkWriterContext {
  readonly id: string;
  readonly sink: Sink;
  readonly counters: NodeCounters;
  readonly health: NodeHealth;
  readonly timer: HistogramChild;
  readonly deadLetters: Pick<DeadLetterRoute, 'send'>;
  readonly logger: Logger;
  readonly scheduler: SchedulerLike;
  /** Attempts of a retriable write before its inputs become dead letters. */
  readonly attempts: number;
  /** Aborted when the run has ended: writes still retrying give up and their inputs stay unfinished. */
  readonly ended: AbortSignal;
  /** The sink's component kind (span names). */
  readonly kind: string;
  /** Spans per write, when tracing is on; their context goes on each envelope for the output's headers. */
  readonly tracer?: RunTracer;
}

/** Writes `items` to the sink; resolves when the input has ended and every write has settled. */
export function writeToSink(items: Observable<Item>, w: SinkWriterContext): Promise<unknown> {
  const { sink, scheduler } = w;
  const batching = sink.batching;
  if (batching !== undefined) {
    // Envelopes of many items gathered into one write (batch tensors are not needed by sinks).
    items = items.pipe(
      concatMap((item) => unbatch(item)),
      microBatchBuffer<Envelope>(batching.maxSize, batching.maxDelayMs, scheduler),
      map((envelopes): Item => ({ kind: 'batch', envelopes, tensor: null })),
    );
  }
  // Once the sink's input ended and every write has started, nothing more will fill a file the
  // sink holds open: `flush(true)` now, rather than waiting for its idle timer (or for ever, when
  // it rolls files by size only).
  const end = { inputDone: false, received: 0, started: 0, flushed: false };
  const flushAtEnd = (): void => {
    if (!end.inputDone || end.started < end.received || end.flushed) return;
    end.flushed = true;
    sink.flush(true).catch((error: unknown) => w.logger.warn({ node: w.id, error: (error as Error).message }, 'Flushing the sink at the end of its input failed; it flushes again at close.'));
  };
  const writes = items.pipe(
    tap({
      next: () => (end.received += 1),
      complete: () => {
        end.inputDone = true;
        flushAtEnd();
      },
    }),
    mergeMap((item) => {
      end.started += 1;
      const written = from(writeOne(item, w));
      flushAtEnd();
      return written;
    }, Math.max(1, sink.concurrency ?? 1)),
  );
  return lastValueFrom(writes, { defaultValue: undefined });
}

/** One write: retried, then acknowledged, refused envelopes and failures dead-lettered. */
async function writeOne(item: Item, w: SinkWriterContext): Promise<void> {
  const { counters, health } = w;
  const envelopes = envelopesOf(item);
  if (isBatch(item)) item.tensor?.release();
  counters.received += envelopes.length;
  let rejections: readonly { envelope: Envelope; error: CentaurError }[] = [];
  const traced = w.tracer?.sinkWrite(w.id, w.kind, envelopes);
  const started = performance.now();
  try {
    rejections =
      (await retry(() => w.sink.write(envelopes), {
        attempts: w.attempts,
        baseDelayMs: 100,
        maxDelayMs: 5000,
        signal: w.ended,
        onRetry: (error, attempt) => {
          health.state = 'failing';
          health.reason = error.message;
          w.logger.warn({ node: w.id, error: error.message, attempt }, 'Sink write failed; retrying.');
        },
      })) ?? [];
    health.state = 'running';
    delete health.reason;
  } catch (error) {
    const err = toCentaurError(error, 'SINK_WRITE_FAILED');
    traced?.(new Set(), err.message);
    // The run ended while this write was retrying: the inputs stay unfinished and are read again.
    if (w.ended.aborted) return;
    counters.failed += envelopes.length;
    health.state = 'failing';
    health.reason = err.message;
    for (const envelope of envelopes) w.deadLetters.send({ envelope, node: w.id, error: err, time: Date.now() });
    return;
  }
  const refused = new Set<Envelope>();
  for (const r of rejections) {
    refused.add(r.envelope);
    counters.failed += 1;
    w.deadLetters.send({ envelope: r.envelope, node: w.id, error: r.error, time: Date.now() });
  }
  traced?.(refused);
  counters.sent += envelopes.length - refused.size;
  w.timer.observeMany((performance.now() - started) / 1000, envelopes.length - refused.size);
  for (const envelope of envelopes) {
    if (refused.has(envelope)) continue;
    const state = envelope.delivery;
    if (state instanceof DeliveryState && envelope.prediction !== undefined && !state.predicted) {
      state.predicted = true;
      if (envelope.label !== undefined) {
        state.labelled = true;
        state.correct = envelope.label === envelope.prediction.label;
        const classes = envelope.model?.classes;
        // The class label of the per-class metrics stays within the model's class list.
        state.trueClass = classes === undefined || classes.includes(envelope.label) ? envelope.label : OTHER_CLASS;
        state.predictedClass = envelope.prediction.label;
      }
    }
    envelope.delivery.acknowledge();
  }
}
