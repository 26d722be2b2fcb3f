/**
 * Wiring: the created nodes become one RxJS graph in topological order — a source's subject is
 * shared, fan-in merges, a second consumer gets forked items, envelope operators get unbatched
 * input, batch operators get batches — and every sink gets its writer.
 */
import { concatMap, map, merge, share, tap } from 'rxjs';
import type { Observable, SchedulerLike } from 'rxjs';
import type { OperatorContext } from '../core/component.js';
import type { Item } from '../core/envelope.js';
import { envelopesOf, isBatch } from '../core/envelope.js';
import { toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CentaurMetrics } from '../observability/metrics.js';
import type { RunTracer } from '../observability/run-tracer.js';
import type { Topology } from '../topology/topology.js';
import type { DeadLetterRoute } from './dead-letters.js';
import { DeliveryState } from './delivery-state.js';
import { forkItem, unbatch } from './items.js';
import type { NodeCounters, NodeHealth } from './node-counters.js';
import type { Instance, Nodes } from './nodes.js';
import { writeToSink } from './sink-writer.js';

/** What wiring needs of the run. */
export interface WiringContext {
  readonly counters: ReadonlyMap<string, NodeCounters>;
  readonly health: ReadonlyMap<string, NodeHealth>;
  readonly metrics: CentaurMetrics;
  readonly deadLetters: DeadLetterRoute;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly sinkWriteAttempts: number;
  readonly ended: AbortSignal;
  /** Spans per stage, when tracing is on. */
  readonly tracer?: RunTracer;
}

/**
 * Connects every node; returns one promise per sink, settled when its input has ended and its
 * writes have settled. Throws (INTERNAL unless coded) when an operator refuses its place in the
 * graph; nothing has run then.
 */
export function wireGraph(t: Topology, nodes: Nodes, w: WiringContext): Promise<unknown>[] {
  const streams = new Map<string, Observable<Item>>();
  const consumers = new Map<string, number>();
  const outputOf = (id: string): Observable<Item> => {
    const index = consumers.get(id) ?? 0;
    consumers.set(id, index + 1);
    const stream = streams.get(id) as Observable<Item>;
    return index === 0 ? stream : stream.pipe(map(forkItem));
  };
  const sinkDone: Promise<unknown>[] = [];
  for (const id of t.order) {
    const instance = nodes.instances.get(id) as Instance;
    const counters = w.counters.get(id) as NodeCounters;
    if (instance.role === 'source') {
      streams.set(id, instance.subject.pipe(tap((item) => (counters.sent += envelopesOf(item).length)), share()));
    } else if (instance.role === 'operator') {
      if (instance.node.from.length === 0) continue;
      let input = merge(...instance.node.from.map(outputOf)).pipe(tap((item) => (counters.received += envelopesOf(item).length)));
      const accepts = instance.operator.accepts;
      if (accepts === 'envelope') input = input.pipe(concatMap((item) => unbatch(item)));
      if (accepts === 'batch') input = input.pipe(map((item) => (isBatch(item) ? item : { kind: 'batch' as const, envelopes: [item], tensor: null })));
      const wish = nodes.batchWishFor(id, t.order);
      const ctx: OperatorContext = {
        nodeId: id,
        ...(wish === undefined ? {} : { batchWish: wish }),
        scheduler: w.scheduler,
        fail: (envelope, error) => {
          counters.failed += 1;
          w.deadLetters.send({ envelope, node: id, error: toCentaurError(error), time: Date.now() });
        },
        // Dropped on purpose: done for every path through this node (received − sent − failed counts them).
        drop: (envelope) => {
          if (envelope.delivery instanceof DeliveryState) envelope.delivery.dropped(id);
        },
      };
      const timer = w.metrics.nodeTimer(id, instance.node.spec.kind);
      const kind = instance.node.spec.kind;
      const sent = (item: Item): void => {
        const envelopes = envelopesOf(item);
        counters.sent += envelopes.length;
        for (const envelope of envelopes) {
          const ms = envelope.timings[id];
          if (ms !== undefined) timer.observe(ms / 1000);
        }
        w.tracer?.stage(id, kind, item);
      };
      let output: Observable<Item>;
      try {
        output = instance.operator.apply(input, ctx);
      } catch (error) {
        // A node that refuses its place in the graph (e.g. micro-batch packing what the model cannot take).
        throw toCentaurError(error, 'INTERNAL');
      }
      streams.set(id, output.pipe(tap(sent), share()));
    } else if (instance.node.from.length > 0) {
      sinkDone.push(
        writeToSink(merge(...instance.node.from.map(outputOf)), {
          id,
          sink: instance.sink,
          counters,
          health: w.health.get(id) as NodeHealth,
          timer: w.metrics.nodeTimer(id, instance.node.spec.kind),
          deadLetters: w.deadLetters,
          logger: w.logger,
          scheduler: w.scheduler,
          attempts: w.sinkWriteAttempts,
          ended: w.ended,
          kind: instance.node.spec.kind,
          ...(w.tracer === undefined ? {} : { tracer: w.tracer }),
        }),
      );
    }
  }
  return sinkDone;
}
