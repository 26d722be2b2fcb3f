/** Graph analysis of a topology: cycles, topological order, reachability and path counts. */

/** Edges as `from` lists: node id → ids of its upstream nodes. */
export type Upstreams = ReadonlyMap<string, readonly string[]>;

/** Every cycle's chain (first node repeated at the end), each reported once. */
export function findCycles(upstreams: Upstreams): string[][] {
  const downstream = invert(upstreams);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const next of downstream.get(id) ?? []) {
      const s = state.get(next);
      if (s === 'visiting') {
        const chain = [...stack.slice(stack.indexOf(next)), next];
        const keyNodes = chain.slice(0, -1);
        const key = [...keyNodes].sort().join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(chain);
        }
      } else if (s === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of [...upstreams.keys()].sort()) if (!state.has(id)) visit(id);
  return cycles;
}

/** Node ids in an order where every node comes after its upstreams (the graph must be acyclic). */
export function topologicalOrder(upstreams: Upstreams): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (id: string): void => {
    if (done.has(id)) return;
    done.add(id);
    for (const up of upstreams.get(id) ?? []) if (upstreams.has(up)) visit(up);
    order.push(id);
  };
  for (const id of upstreams.keys()) visit(id);
  return order;
}

/** Downstream edges: node id → ids of the nodes that name it in `from`. */
export function invert(upstreams: Upstreams): Map<string, string[]> {
  const downstream = new Map<string, string[]>();
  for (const id of upstreams.keys()) downstream.set(id, []);
  for (const [id, ups] of upstreams) {
    for (const up of ups) downstream.get(up)?.push(id);
  }
  return downstream;
}

/**
 * For each node, the number of distinct paths from it to any sink (a sink counts 1). An input
 * that passes a node reaches sinks exactly that many times, which is how many acknowledgements
 * the runtime waits for before its source position completes.
 */
export function pathsToSinks(upstreams: Upstreams, isSink: (id: string) => boolean): Map<string, number> {
  const downstream = invert(upstreams);
  const memo = new Map<string, number>();
  const count = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    let total = isSink(id) ? 1 : 0;
    if (!isSink(id)) for (const next of downstream.get(id) ?? []) total += count(next);
    memo.set(id, total);
    return total;
  };
  for (const id of upstreams.keys()) count(id);
  return memo;
}

/** The number of distinct paths from `from` to `to` following `downstream` edges (0 when unreachable). */
export function pathCount(downstream: ReadonlyMap<string, readonly string[]>, from: string, to: string): number {
  const memo = new Map<string, number>();
  const count = (id: string): number => {
    if (id === to) return 1;
    const known = memo.get(id);
    if (known !== undefined) return known;
    let total = 0;
    for (const next of downstream.get(id) ?? []) total += count(next);
    memo.set(id, total);
    return total;
  };
  return count(from);
}

/**
 * A path from `from` to a sink that does not pass `avoid`, as node ids, or null when every path
 * to a sink passes it: how a shortcut check finds inputs that would skip a node they must reach.
 */
export function pathAvoiding(downstream: ReadonlyMap<string, readonly string[]>, from: string, avoid: string, isSink: (id: string) => boolean): string[] | null {
  const seen = new Set<string>();
  const walk = (id: string, trail: string[]): string[] | null => {
    if (id === avoid || seen.has(id)) return null;
    seen.add(id);
    const here = [...trail, id];
    if (isSink(id)) return here;
    for (const next of downstream.get(id) ?? []) {
      const found = walk(next, here);
      if (found !== null) return found;
    }
    return null;
  };
  return walk(from, []);
}
