/**
 * Layered layout of the topology graph: each node's layer is its longest path from a source
 * (following `from`), nodes within a layer are ordered by the mean position of their inputs to
 * keep edges short, and every node gets a box position. Nodes with no inputs that are not sources
 * (dead-letter sinks, which receive from every node implicitly) go to the last layer.
 */

/** What the layout needs of a node. */
export interface GraphNodeInput {
  readonly id: string;
  readonly from: readonly string[];
  readonly role?: string;
}

/** A placed node: its layer (column), its order in the layer (row) and its box's top-left corner. */
export interface PlacedNode {
  readonly id: string;
  readonly layer: number;
  readonly order: number;
  readonly x: number;
  readonly y: number;
}

/** An edge between two placed nodes, with its SVG path from the right of `from` to the left of `to`. */
export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  readonly path: string;
}

export interface GraphLayout {
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

/** Box sizes and gaps in SVG units. */
export interface LayoutSizes {
  readonly nodeWidth: number;
  readonly nodeHeight: number;
  readonly layerGap: number;
  readonly rowGap: number;
  readonly margin: number;
}

export const DEFAULT_SIZES: LayoutSizes = { nodeWidth: 168, nodeHeight: 64, layerGap: 56, rowGap: 20, margin: 8 };

/** Each node's layer: longest path from a source; a cycle or unknown input does not loop or fail. */
export function assignLayers(nodes: readonly GraphNodeInput[]): Map<string, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layers = new Map<string, number>();
  const visiting = new Set<string>();
  const orphans: string[] = [];

  const layerOf = (id: string): number => {
    const known = layers.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    if (node === undefined || visiting.has(id)) return -1;
    visiting.add(id);
    let layer = 0;
    for (const input of node.from) {
      if (input === id || !byId.has(input)) continue;
      layer = Math.max(layer, layerOf(input) + 1);
    }
    visiting.delete(id);
    layers.set(id, layer);
    return layer;
  };

  for (const node of nodes) {
    const hasInputs = node.from.some((input) => byId.has(input) && input !== node.id);
    if (!hasInputs && node.role !== undefined && node.role !== 'source') orphans.push(node.id);
    else layerOf(node.id);
  }
  const fed = nodes.filter((n) => !orphans.includes(n.id));
  const last = fed.length === 0 ? 0 : Math.max(0, ...fed.map((n) => layers.get(n.id) ?? 0));
  const orphanLayer = fed.length === 0 ? 0 : Math.max(1, last);
  for (const id of orphans) layers.set(id, orphanLayer);
  return layers;
}

/** Orders the nodes of each layer: sources in given order, later layers by the mean row of their inputs. */
function orderLayers(nodes: readonly GraphNodeInput[], layers: Map<string, number>): string[][] {
  const count = Math.max(-1, ...layers.values()) + 1;
  const columns: string[][] = Array.from({ length: count }, () => []);
  for (const node of nodes) columns[layers.get(node.id) ?? 0]?.push(node.id);
  const row = new Map<string, number>();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const given = new Map(nodes.map((n, i) => [n.id, i]));
  for (const column of columns) {
    const weight = (id: string): number => {
      const rows = (byId.get(id)?.from ?? []).map((input) => row.get(input)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    column.sort((a, b) => weight(a) - weight(b) || (given.get(a) ?? 0) - (given.get(b) ?? 0));
    column.forEach((id, i) => row.set(id, i));
  }
  return columns;
}

/** A horizontal S-curve between two points, for edges that read left to right. */
export function edgePath(x1: number, y1: number, x2: number, y2: number): string {
  const bend = Math.max(24, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}

/** Lays out the whole graph: layers left to right, each layer centred vertically. */
export function layoutGraph(nodes: readonly GraphNodeInput[], sizes: LayoutSizes = DEFAULT_SIZES): GraphLayout {
  const layers = assignLayers(nodes);
  const columns = orderLayers(nodes, layers);
  const tallest = Math.max(0, ...columns.map((c) => c.length));
  const columnHeight = (n: number): number => (n === 0 ? 0 : n * sizes.nodeHeight + (n - 1) * sizes.rowGap);
  const height = columnHeight(tallest) + 2 * sizes.margin;
  const width = columns.length === 0 ? 2 * sizes.margin : columns.length * sizes.nodeWidth + (columns.length - 1) * sizes.layerGap + 2 * sizes.margin;

  const placed = new Map<string, PlacedNode>();
  columns.forEach((column, layer) => {
    const top = sizes.margin + (columnHeight(tallest) - columnHeight(column.length)) / 2;
    column.forEach((id, order) => {
      placed.set(id, { id, layer, order, x: sizes.margin + layer * (sizes.nodeWidth + sizes.layerGap), y: top + order * (sizes.nodeHeight + sizes.rowGap) });
    });
  });

  const edges: PlacedEdge[] = [];
  for (const node of nodes) {
    const to = placed.get(node.id);
    if (to === undefined) continue;
    for (const input of new Set(node.from)) {
      const from = placed.get(input);
      if (from === undefined || input === node.id) continue;
      edges.push({
        from: input,
        to: node.id,
        path: edgePath(from.x + sizes.nodeWidth, from.y + sizes.nodeHeight / 2, to.x, to.y + sizes.nodeHeight / 2),
      });
    }
  }
  return { nodes: nodes.map((n) => placed.get(n.id)).filter((p): p is PlacedNode => p !== undefined), edges, width, height };
}
