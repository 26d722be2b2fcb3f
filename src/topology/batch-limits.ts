/**
 * What the topology alone tells about batch sizes: a `micro-batch` whose `maxSize` is above the
 * `maxBatchSize` of the `infer` node it feeds still works (each full batch is split into several
 * backend calls), but it is seldom meant, so validation warns. A server's own limit
 * (`max_batch_size`) is known only when the backend starts, and the runtime warns of it then.
 */
import type { TopologyNode } from './topology.js';

/** A warning about a node's option. */
export interface BatchWarning {
  readonly path: readonly (string | number)[];
  readonly node: string;
  readonly message: string;
  readonly suggestion: string;
}

/** Warns for each micro-batch node whose `maxSize` exceeds the `maxBatchSize` of an infer node downstream of it. */
export function batchLimitWarnings(nodes: ReadonlyMap<string, TopologyNode>, invalid: ReadonlySet<string>): BatchWarning[] {
  const warnings: BatchWarning[] = [];
  const consumers = new Map<string, TopologyNode[]>();
  for (const node of nodes.values()) for (const upstream of node.from) consumers.set(upstream, [...(consumers.get(upstream) ?? []), node]);
  for (const batch of nodes.values()) {
    if (batch.kind !== 'micro-batch' || invalid.has(batch.id)) continue;
    const maxSize = batch.options.maxSize as number;
    for (const infer of infersFed(batch.id, consumers, invalid)) {
      const limit = infer.options.maxBatchSize as number;
      if (maxSize <= limit) continue;
      warnings.push({
        path: ['nodes', batch.id, 'maxSize'],
        node: batch.id,
        message: `maxSize ${maxSize} is above the maxBatchSize ${limit} of \`${infer.id}\`: a full batch runs as ${Math.ceil(maxSize / limit)} backend calls`,
        suggestion: `set \`maxSize: ${limit}\`, or raise \`maxBatchSize\` of \`${infer.id}\``,
      });
    }
  }
  return warnings;
}

/** The infer nodes a node's batches reach, through nodes that pass batches on (not through another micro-batch). */
function infersFed(id: string, consumers: ReadonlyMap<string, TopologyNode[]>, invalid: ReadonlySet<string>): TopologyNode[] {
  const found: TopologyNode[] = [];
  const seen = new Set<string>();
  const queue = [...(consumers.get(id) ?? [])];
  while (queue.length > 0) {
    const node = queue.shift() as TopologyNode;
    if (seen.has(node.id) || invalid.has(node.id)) continue;
    seen.add(node.id);
    if (node.kind === 'infer') found.push(node);
    else if (node.kind !== 'micro-batch' && node.spec.role === 'operator') queue.push(...(consumers.get(node.id) ?? []));
  }
  return found;
}
