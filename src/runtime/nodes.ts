/**
 * The topology's nodes as running instances: created in topological order (sources, operators,
 * sinks, through the component registry), the dead-letter sink found or made, and closed again.
 */
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Subject } from 'rxjs';
import type { BatchWish, CreateContext, Operator, Sink, Source } from '../core/component.js';
import type { Item } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CentaurMetrics } from '../observability/metrics.js';
import { componentByKind } from '../topology/registry.js';
import type { Topology, TopologyNode } from '../topology/topology.js';
import type { DeadLetterSink } from './dead-letters.js';
import { RunResources } from './shared-resources.js';

/** After a drain that timed out, the longest a node may take to close before the stop goes on without it. */
export const CLOSE_AFTER_TIMEOUT_MS = 5000;

/** One created node. */
export type Instance =
  | { readonly node: TopologyNode; readonly role: 'source'; readonly source: Source; readonly subject: Subject<Item> }
  | { readonly node: TopologyNode; readonly role: 'operator'; readonly operator: Operator }
  | { readonly node: TopologyNode; readonly role: 'sink'; readonly sink: Sink };

/** Every node of a run, and the sink its failed inputs go to. */
export class Nodes {
  private constructor(
    readonly instances: ReadonlyMap<string, Instance>,
    readonly deadLetterSink: DeadLetterSink,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates every node; without a dead-letter node in the topology, a `dead-letter` sink writing
   * to `out/<name>/` beside the file. On failure, closes what was created and throws.
   */
  static async create(t: Topology, logger: Logger, metrics: CentaurMetrics): Promise<Nodes> {
    const instances = new Map<string, Instance>();
    const shared = new RunResources();
    let deadLetterSink: Sink | undefined;
    let ownDeadLetterSink = false;
    try {
      // Nodes that provide shared resources first (a dead-letter sink without `from` may come
      // before its topology's source in `order`); wiring, not creation, follows the graph.
      const provides = (id: string): boolean => {
        const n = t.nodes.get(id) as TopologyNode;
        return (n.spec.provides?.(n.options) ?? []).length > 0;
      };
      for (const id of [...t.order.filter(provides), ...t.order.filter((id) => !provides(id))]) {
        const node = t.nodes.get(id) as TopologyNode;
        const ctx: CreateContext = { nodeId: id, topologyName: t.name, baseDir: t.baseDir, logger: logger.child({ node: id }), metrics: metrics.forNode(id), shared };
        const spec = node.spec;
        if (spec.role === 'source') {
          instances.set(id, { node, role: 'source', source: await spec.create(node.options, ctx), subject: new Subject<Item>() });
        } else if (spec.role === 'operator') {
          instances.set(id, { node, role: 'operator', operator: await spec.create(node.options, ctx) });
        } else {
          const sink = await spec.create(node.options, ctx);
          instances.set(id, { node, role: 'sink', sink });
          if (id === t.deadLetter) deadLetterSink = sink;
        }
      }
      if (deadLetterSink === undefined) {
        deadLetterSink = await defaultDeadLetterSink(t, logger);
        ownDeadLetterSink = true;
      }
      if (deadLetterSink.writeDeadLetters === undefined) {
        throw new CentaurError('CONFIG_INVALID', `node \`${t.deadLetter ?? ''}\` cannot take dead letters; use a \`dead-letter\` node`);
      }
      return new Nodes(instances, deadLetterSink as DeadLetterSink, logger);
    } catch (error) {
      await new Nodes(instances, (ownDeadLetterSink ? deadLetterSink : undefined) as DeadLetterSink, logger).close();
      throw toCentaurError(error, 'CONFIG_INVALID');
    }
  }

  /** Each source. */
  sources(): Source[] {
    return [...this.instances.values()].flatMap((i) => (i.role === 'source' ? [i.source] : []));
  }

  /**
   * What the node that gets `id`'s packed batches wants of them: the first node in wiring order fed
   * by `id` (the others get copies without the tensor), if it is an operator that says.
   */
  batchWishFor(id: string, order: readonly string[]): BatchWish | undefined {
    for (const consumer of order) {
      const instance = this.instances.get(consumer) as Instance;
      if (!instance.node.from.includes(id)) continue;
      if (instance.role !== 'operator') return undefined;
      const wish = instance.operator.batchWish?.();
      return wish === undefined ? undefined : { ...wish, who: `node \`${consumer}\` (${wish.who})` };
    }
    return undefined;
  }

  /**
   * Flushes and closes sinks, closes operators, stops and closes sources; failures are logged, not
   * thrown. After a drain that timed out (`drainTimedOut`), what is unfinished is read again on
   * restart: sinks are closed without the end-of-input flush, and no node may hold the stop for
   * longer than CLOSE_AFTER_TIMEOUT_MS (a store that is slow or gone would otherwise keep it for
   * minutes).
   */
  async close(options: { drainTimedOut?: boolean } = {}): Promise<void> {
    const cut = options.drainTimedOut === true;
    for (const instance of this.instances.values()) {
      const closing = (async (): Promise<void> => {
        if (instance.role === 'sink') {
          if (!cut) await instance.sink.flush(true);
          await instance.sink.close();
        } else if (instance.role === 'operator') {
          await instance.operator.close?.();
        } else {
          await instance.source.stop();
          await instance.source.close?.();
        }
      })();
      try {
        if (!cut) {
          await closing;
          continue;
        }
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), CLOSE_AFTER_TIMEOUT_MS)));
        const outcome = await Promise.race([closing, gaveUp]);
        clearTimeout(timer);
        if (outcome === 'gave up') {
          closing.catch(() => undefined);
          this.logger.warn({ node: instance.node.id, waitedMs: CLOSE_AFTER_TIMEOUT_MS }, 'A node did not close after the drain timed out; leaving it.');
        }
      } catch (error) {
        this.logger.warn({ node: instance.node.id, error: (error as Error).message }, 'Closing a node failed.');
      }
    }
    const dls = this.deadLetterSink as Sink | undefined;
    if (dls !== undefined && ![...this.instances.values()].some((i) => i.role === 'sink' && i.sink === dls)) await dls.close();
  }
}

/** The `dead-letter` sink with its defaults, writing to `out/<topology name>/` beside the topology file. */
async function defaultDeadLetterSink(t: Topology, logger: Logger): Promise<Sink> {
  const spec = componentByKind('dead-letter');
  if (spec?.role !== 'sink') throw new CentaurError('INTERNAL', 'the component registry has no `dead-letter` sink');
  const options = Value.Default(spec.options, { dir: path.join('out', t.name) }) as Record<string, unknown>;
  return spec.create(options, { nodeId: 'dead-letters', topologyName: t.name, baseDir: t.baseDir, logger: logger.child({ node: 'dead-letters' }) });
}
