/**
 * The labels panel: for each `training-set-sink`, the training set's rows and new-class rows, the
 * accuracy from labels over every labelled row and over the randomly explored rows alone (the
 * estimate without selection bias), and per class its rows, precision and recall in both. Without
 * a training-set sink it says what makes it appear.
 */
import { h } from './dom.js';
import { formatCount, formatPercent } from './lib/format.js';
import type { LabelFigures, LabelsNodeStatus, LabelsSummary } from './lib/api-types.js';

export const LABELS_NOTE = 'Accuracy from labels appears when the topology has a training-set-sink (labels from Label Studio or Kafka).';

function percent(value: number | null): string {
  return value === null ? '–' : formatPercent(value);
}

function overall(name: string, f: LabelFigures): string {
  return `${name}: ${percent(f.accuracy)} (${formatCount(f.correct)} of ${formatCount(f.labelled)})`;
}

function nodeView(n: LabelsNodeStatus): HTMLElement {
  const head = h('p', {}, [
    `${n.node} · ${formatCount(n.rows)} rows, ${formatCount(n.newClassRows)} of a new class · `,
    h('strong', {}, [overall('explored (unbiased)', n.exploration)]),
    ` · ${overall('all labels', n.all)}`,
  ]);
  const header = h('tr', {}, ['class', 'rows', 'precision', 'recall', 'explored rows', 'explored precision', 'explored recall'].map((t) => h('th', {}, [t])));
  const rows = Object.entries(n.all.perClass).map(([cls, c]) => {
    const e = n.exploration.perClass[cls];
    return h('tr', {}, [
      h('th', {}, [cls]),
      h('td', {}, [formatCount(c.labelled)]),
      h('td', {}, [percent(c.precision)]),
      h('td', {}, [percent(c.recall)]),
      h('td', {}, [formatCount(e?.labelled ?? 0)]),
      h('td', {}, [percent(e?.precision ?? null)]),
      h('td', {}, [percent(e?.recall ?? null)]),
    ]);
  });
  return h('div', {}, [head, h('table', { class: 'fields' }, [h('thead', {}, [header]), h('tbody', {}, rows)])]);
}

export class LabelsPanel {
  private readonly body = h('div', { class: 'panel-body' });
  private signature: string | undefined;

  constructor(container: HTMLElement) {
    container.append(h('section', { class: 'card panel', 'data-panel': 'labels' }, [h('h2', {}, ['Accuracy from labels']), this.body]));
    this.update(null);
  }

  /** Draws each training set's figures, or the note when there is none. */
  update(labels: LabelsSummary | null): void {
    const signature = JSON.stringify(labels);
    if (signature === this.signature) return;
    this.signature = signature;
    if (labels === null || labels.nodes.length === 0) {
      this.body.replaceChildren(h('p', { class: 'note' }, [LABELS_NOTE]));
      return;
    }
    this.body.replaceChildren(...labels.nodes.map(nodeView));
  }
}
