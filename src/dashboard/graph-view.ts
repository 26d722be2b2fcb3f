/**
 * The topology drawn as an SVG graph: one box per node (id, kind, sent/s, failed count) laid out
 * in layers, edges between them; failing nodes in red. Rebuilt only when the topology changes,
 * otherwise updated in place every second.
 */
import { h, setText, svg } from './dom.js';
import { DEFAULT_SIZES, layoutGraph } from './lib/graph-layout.js';
import { formatCount, formatRate } from './lib/format.js';
import type { NodeRates, StatusNode } from './lib/api-types.js';

interface NodeParts {
  readonly group: SVGGElement;
  readonly rate: SVGTextElement;
  readonly failed: SVGTextElement;
  readonly failedBadge: SVGRectElement;
  readonly title: SVGTitleElement;
}

const MAX_LABEL = 20;

function shorten(text: string, max = MAX_LABEL): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export class GraphView {
  private signature = '';
  private readonly parts = new Map<string, NodeParts>();
  private readonly kinds = new Map<string, string>();

  constructor(private readonly container: HTMLElement) {
    container.replaceChildren(h('p', { class: 'note' }, ['Waiting for the topology…']));
  }

  /** Draws the topology when its nodes or edges changed since the last call. */
  setTopology(nodes: readonly StatusNode[]): void {
    const signature = JSON.stringify(nodes.map((n) => [n.id, n.kind, n.role, n.from]));
    if (signature === this.signature) return;
    this.signature = signature;
    this.parts.clear();
    this.kinds.clear();
    if (nodes.length === 0) {
      this.container.replaceChildren(h('p', { class: 'note' }, ['The topology has no nodes.']));
      return;
    }
    const { nodeWidth: w, nodeHeight: ht } = DEFAULT_SIZES;
    const layout = layoutGraph(nodes);
    const root = svg('svg', { viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img', 'aria-label': 'Topology graph', class: 'graph' });
    // Scale with the page, but neither blow a small graph up nor shrink a large one past reading: it scrolls.
    root.style.maxWidth = `${layout.width * 1.25}px`;
    root.style.minWidth = `${Math.round(layout.width * 0.75)}px`;
    root.append(
      svg('defs', {}, [
        svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, [
          svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }),
        ]),
      ]),
    );
    for (const edge of layout.edges) {
      root.append(svg('path', { d: edge.path, class: 'edge', 'marker-end': 'url(#arrow)', 'data-from': edge.from, 'data-to': edge.to }));
    }
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const placed of layout.nodes) {
      const node = byId.get(placed.id);
      if (node === undefined) continue;
      const title = svg('title', {}, [`${node.id} (${node.kind})`]);
      const rate = svg('text', { x: 10, y: 54, class: 'node-rate' }, ['– sent/s']);
      const failedBadge = svg('rect', { x: w - 70, y: 41, width: 62, height: 17, rx: 8, class: 'failed-badge' });
      const failed = svg('text', { x: w - 39, y: 54, class: 'node-failed', 'text-anchor': 'middle' }, ['']);
      const group = svg('g', { transform: `translate(${placed.x},${placed.y})`, class: `node role-${node.role}`, 'data-node': node.id }, [
        title,
        svg('rect', { width: w, height: ht, rx: 8, class: 'node-box' }),
        svg('text', { x: 10, y: 19, class: 'node-id' }, [shorten(node.id)]),
        svg('text', { x: 10, y: 35, class: 'node-kind' }, [shorten(node.kind, 24)]),
        rate,
        failedBadge,
        failed,
      ]);
      root.append(group);
      this.parts.set(node.id, { group, rate, failed, failedBadge, title });
      this.kinds.set(node.id, node.kind);
    }
    this.container.replaceChildren(root);
    this.updateStatus(nodes);
  }

  /** Shows each node's state (failing in red, stopped dimmed) and its cumulative failure count. */
  updateStatus(nodes: readonly StatusNode[]): void {
    for (const node of nodes) {
      const parts = this.parts.get(node.id);
      if (parts === undefined) continue;
      parts.group.classList.toggle('failing', node.state === 'failing');
      parts.group.classList.toggle('stopped', node.state === 'stopped');
      parts.group.classList.toggle('has-failures', node.failed > 0);
      setText(parts.failed, node.failed > 0 ? `failed ${formatCount(node.failed)}` : '');
      const reason = node.reason === undefined ? '' : ` (${node.reason})`;
      setText(parts.title, `${node.id} (${this.kinds.get(node.id) ?? node.kind}): ${node.state}${reason}; received ${node.received}, sent ${node.sent}, failed ${node.failed}`);
    }
  }

  /** Shows each node's live sent rate from a summary. */
  updateRates(nodes: readonly ({ readonly id: string } & NodeRates)[]): void {
    for (const node of nodes) {
      const parts = this.parts.get(node.id);
      if (parts === undefined) continue;
      setText(parts.rate, `${formatRate(node.sent)} sent/s`);
      parts.group.classList.toggle('failing-now', node.failed > 0);
    }
  }
}
