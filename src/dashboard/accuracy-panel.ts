/** The accuracy panel: the share of labelled inputs predicted correctly, or why there is none yet. */
import { h, setText } from './dom.js';
import { formatCount, formatPercent } from './lib/format.js';
import type { Accuracy } from './lib/api-types.js';

export const ACCURACY_NOTE = 'Accuracy appears when inputs carry labels (e.g. files-source with labels: parent-folder, or a label field in Kafka messages).';

export class AccuracyPanel {
  private readonly value = h('div', { class: 'value' });
  private readonly detail = h('p', { class: 'detail' });
  private readonly note = h('p', { class: 'note' }, [ACCURACY_NOTE]);

  constructor(container: HTMLElement) {
    container.append(h('section', { class: 'card panel', 'data-panel': 'accuracy' }, [h('h2', {}, ['Accuracy']), this.note, this.value, this.detail]));
    this.update(null);
  }

  /** Shows the ratio and counts, or the note while no labelled input has arrived. */
  update(accuracy: Accuracy | null): void {
    const present = accuracy !== null && accuracy.labelled > 0;
    this.note.hidden = present;
    this.value.hidden = !present;
    this.detail.hidden = !present;
    if (!present) return;
    setText(this.value, formatPercent(accuracy.ratio));
    setText(this.detail, `${formatCount(accuracy.correct)} correct of ${formatCount(accuracy.labelled)} labelled`);
  }
}
