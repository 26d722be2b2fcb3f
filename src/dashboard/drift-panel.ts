/**
 * The drift panel. Drift monitoring is not defined yet: when a summary carries a `drift` object its
 * fields are listed as they come; otherwise the panel says what makes it appear.
 */
import { h } from './dom.js';

export const DRIFT_NOTE = 'Drift appears when the topology has a drift node.';

function show(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toPrecision(3);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

export class DriftPanel {
  private readonly body = h('div', { class: 'panel-body' });
  private signature: string | undefined;

  constructor(container: HTMLElement) {
    container.append(h('section', { class: 'card panel', 'data-panel': 'drift' }, [h('h2', {}, ['Drift']), this.body]));
    this.update(null);
  }

  /** Lists the drift fields, or shows the note when there is no drift data. */
  update(drift: Readonly<Record<string, unknown>> | null): void {
    const signature = JSON.stringify(drift);
    if (signature === this.signature) return;
    this.signature = signature;
    if (drift === null || typeof drift !== 'object' || Object.keys(drift).length === 0) {
      this.body.replaceChildren(h('p', { class: 'note' }, [DRIFT_NOTE]));
      return;
    }
    const rows = Object.entries(drift).map(([key, value]) => h('tr', {}, [h('th', {}, [key]), h('td', {}, [show(value)])]));
    this.body.replaceChildren(h('table', { class: 'fields' }, [h('tbody', {}, rows)]));
  }
}
