/**
 * The drift panel: for each drift node, its last closed window — the dataset verdict and share,
 * each feature's method, score and threshold (drifted ones marked), embedding drift, and the counts
 * of windows, drifted windows and retrain requests. Without a drift node it says what makes it appear.
 */
import { h } from './dom.js';
import type { DriftNodeStatus, DriftSummary } from './lib/api-types.js';

/** How drifted rows and verdicts are marked (the stylesheet has no class for it). */
const DRIFTED = 'color: #c0392b; font-weight: 600';

export const DRIFT_NOTE = 'Drift appears when the topology has a drift node and its first window closes.';

function num(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  return Math.abs(value) >= 0.001 || value === 0 ? value.toPrecision(3) : value.toExponential(2);
}

function windowText(n: DriftNodeStatus): string {
  if (n.window.kind === 'count') return `inputs ${n.window.start}–${n.window.end}`;
  return `${new Date(n.window.start).toISOString().slice(11, 19)}–${new Date(n.window.end).toISOString().slice(11, 19)} UTC`;
}

function nodeView(n: DriftNodeStatus): HTMLElement {
  const verdict = n.datasetDrift === null ? 'no data' : n.datasetDrift ? 'DRIFT' : 'no drift';
  const head = h('p', {}, [
    `${n.node} · ${n.model} ${n.version} · ${windowText(n)} · ${n.inputs} inputs${n.late > 0 ? `, ${n.late} late` : ''} · `,
    h('strong', n.datasetDrift === true ? { style: DRIFTED } : {}, [`${verdict} (share ${num(n.share)} of ${num(n.driftShare)})`]),
    ` · windows ${n.windows}, drifted ${n.driftedWindows}, retrain requests ${n.retrainRequests}`,
  ]);
  const rows = n.columns.map((c) =>
    h('tr', c.drifted ? { style: DRIFTED } : {}, [h('th', {}, [c.feature]), h('td', {}, [c.method]), h('td', {}, [num(c.score)]), h('td', {}, [num(c.threshold)]), h('td', {}, [c.drifted ? 'drift' : ''])]),
  );
  if (n.embedding !== null) {
    const e = n.embedding;
    rows.push(h('tr', e.drifted ? { style: DRIFTED } : {}, [h('th', {}, ['embedding']), h('td', {}, [e.method]), h('td', {}, [num(e.score)]), h('td', {}, [num(e.threshold)]), h('td', {}, [`${e.drifted ? 'drift' : ''} cos ${num(e.cosineDistance)}`])]));
  }
  return h('div', {}, [head, h('table', { class: 'fields' }, [h('tbody', {}, rows)])]);
}

export class DriftPanel {
  private readonly body = h('div', { class: 'panel-body' });
  private signature: string | undefined;

  constructor(container: HTMLElement) {
    container.append(h('section', { class: 'card panel', 'data-panel': 'drift' }, [h('h2', {}, ['Drift']), this.body]));
    this.update(null);
  }

  /** Draws each drift node's last window, or the note when there is none. */
  update(drift: DriftSummary | null): void {
    const signature = JSON.stringify(drift);
    if (signature === this.signature) return;
    this.signature = signature;
    if (drift === null || drift.nodes.length === 0) {
      this.body.replaceChildren(h('p', { class: 'note' }, [DRIFT_NOTE]));
      return;
    }
    this.body.replaceChildren(...drift.nodes.map(nodeView));
  }
}
