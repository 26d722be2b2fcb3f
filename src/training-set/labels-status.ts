/**
 * What a `training-set-sink` publishes for the live summary and the dashboard: its rows, new-class
 * rows, and accuracy from labels overall and per class, over every row and over the randomly
 * explored rows alone (the estimate without selection bias).
 */
import { statusChannel } from '../core/metric-family.js';
import type { ClassFigures, LabelFigures, LabelsNodeStatus } from '../observability/api-types.js';

/** The status channel of `training-set-sink` nodes. */
export const LABELS_STATUS = statusChannel<LabelsNodeStatus>('labels');

/** Counts of one class while tallying. */
export interface ClassTally {
  labelled: number;
  predicted: number;
  correct: number;
}

/** Figures from per-class tallies: accuracy overall, precision and recall per class (null where undefined). */
export function labelFigures(tallies: ReadonlyMap<string, ClassTally>): LabelFigures {
  let labelled = 0;
  let correct = 0;
  const perClass: Record<string, ClassFigures> = {};
  for (const [cls, t] of tallies) {
    labelled += t.labelled;
    correct += t.correct;
    perClass[cls] = { ...t, precision: t.predicted === 0 ? null : t.correct / t.predicted, recall: t.labelled === 0 ? null : t.correct / t.labelled };
  }
  return { labelled, correct, accuracy: labelled === 0 ? null : correct / labelled, perClass };
}
