/**
 * How a classifier does on labelled examples: accuracy, per-class precision, recall and F1, macro
 * F1, the confusion matrix and the expected calibration error (ECE: the gap between confidence and
 * accuracy, averaged over 10 equal-width confidence bins weighted by their size, as Guo et al. 2017
 * define it). Candidate and production are judged on the same holdout with these figures.
 */

/** Figures of one class. */
export interface ClassMetrics {
  readonly support: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
}

/** Figures of a classifier on a set of examples. */
export interface Evaluation {
  readonly examples: number;
  readonly accuracy: number | null;
  readonly macroF1: number | null;
  readonly ece: number | null;
  readonly perClass: Readonly<Record<string, ClassMetrics>>;
  /** `confusion[t][p]`: examples of true class t predicted as p, in `classes` order. */
  readonly confusion: readonly (readonly number[])[];
  readonly classes: readonly string[];
}

/** Evaluates predicted probabilities (one row per example, `classes` order) against true class indices. */
export function evaluate(probabilities: readonly ArrayLike<number>[], truth: readonly number[], classes: readonly string[], bins = 10): Evaluation {
  const k = classes.length;
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  const binCount = new Array<number>(bins).fill(0);
  const binConfidence = new Array<number>(bins).fill(0);
  const binCorrect = new Array<number>(bins).fill(0);
  let correct = 0;
  probabilities.forEach((p, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if ((p[j] as number) > (p[best] as number)) best = j;
    const t = truth[i] as number;
    const row = confusion[t] as number[];
    row[best] = (row[best] as number) + 1;
    if (best === t) correct += 1;
    const confidence = p[best] as number;
    const bin = Math.min(bins - 1, Math.floor(confidence * bins));
    binCount[bin] = (binCount[bin] as number) + 1;
    binConfidence[bin] = (binConfidence[bin] as number) + confidence;
    if (best === t) binCorrect[bin] = (binCorrect[bin] as number) + 1;
  });
  const n = probabilities.length;
  const perClass: Record<string, ClassMetrics> = {};
  const f1s: number[] = [];
  classes.forEach((name, c) => {
    const tp = (confusion[c] as number[])[c] as number;
    const support = (confusion[c] as number[]).reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + (row[c] as number), 0);
    const precision = predicted === 0 ? null : tp / predicted;
    const recall = support === 0 ? null : tp / support;
    const f1 = precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass[name] = { support, precision, recall, f1 };
    // scikit-learn's macro F1 counts a class with examples but no prediction as F1 0.
    if (support > 0) f1s.push(f1 ?? 0);
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) if ((binCount[b] as number) > 0) ece += Math.abs((binCorrect[b] as number) - (binConfidence[b] as number)) / n;
  return {
    examples: n,
    accuracy: n === 0 ? null : correct / n,
    macroF1: f1s.length === 0 ? null : f1s.reduce((a, b) => a + b, 0) / f1s.length,
    ece: n === 0 ? null : ece,
    perClass,
    confusion,
    classes,
  };
}
