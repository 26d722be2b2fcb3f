/** The model panel: which model and version each `infer` node runs, and how many predictions were made. */
import { h, setText } from './dom.js';
import { formatCount } from './lib/format.js';
import type { ModelInfo } from './lib/api-types.js';

export class ModelPanel {
  private readonly body: HTMLElement;
  private readonly predictions: HTMLElement;
  private signature = '';

  constructor(container: HTMLElement) {
    this.body = h('div', { class: 'panel-body' }, [h('p', { class: 'note' }, ['Waiting for data…'])]);
    this.predictions = h('p', { class: 'detail' });
    container.append(h('section', { class: 'card panel', 'data-panel': 'model' }, [h('h2', {}, ['Model']), this.body, this.predictions]));
  }

  /** Shows the models (rebuilding the table only when they change) and the prediction count. */
  update(models: readonly ModelInfo[], predictions: number): void {
    setText(this.predictions, `${formatCount(predictions)} predictions`);
    const signature = JSON.stringify(models);
    if (signature === this.signature) return;
    this.signature = signature;
    if (models.length === 0) {
      this.body.replaceChildren(h('p', { class: 'note' }, ['No infer node in this topology.']));
      return;
    }
    const rows = models.map((m) => h('tr', {}, [h('td', {}, [m.node]), h('td', {}, [m.model]), h('td', { class: 'version' }, [m.version])]));
    this.body.replaceChildren(
      h('table', {}, [h('thead', {}, [h('tr', {}, [h('th', {}, ['Node']), h('th', {}, ['Model']), h('th', {}, ['Version'])])]), h('tbody', {}, rows)]),
    );
  }
}
