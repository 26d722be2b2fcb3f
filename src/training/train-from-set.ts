/**
 * Training a new head from the training set in the lake, as `centaur train` runs it: the rows whose
 * embeddings the serving model makes (same fingerprint), the model's classes plus every new class
 * the labels name, class weights from the train split's counts, the head fitted on train with early
 * stopping on validation, and candidate and production judged on the same holdout (production's
 * answers are the predictions stored in each row). The split is the one the rows carry, assigned
 * when they were first labelled, so the holdout never moves between retrains.
 */
import { CentaurError } from '../core/errors.js';
import type { TrainingRow } from '../training-set/training-row.js';
import { chooseLabel } from '../training-set/training-row.js';
import type { LabelPolicy } from '../training-set/training-row.js';
import { classWeights } from './class-weights.js';
import type { ClassWeighting } from './class-weights.js';
import { evaluate } from './evaluation.js';
import type { Evaluation } from './evaluation.js';
import { headProbabilities, trainHead } from './head-trainer.js';
import type { HeadTrainingOptions, TrainedHead } from './head-trainer.js';

/** What to train and how: the trainer's settings (classes and weights are worked out here) and these. */
export interface TrainFromSetOptions extends Omit<HeadTrainingOptions, 'classes' | 'classWeights'> {
  /** The serving model's classes, in output order; new classes follow them. */
  readonly modelClasses: readonly string[];
  /** Rows of another fingerprint are left out; undefined keeps every row. */
  readonly fingerprint: string | undefined;
  readonly policy: LabelPolicy;
  readonly weighting: ClassWeighting;
  /** Fewest train examples a class needs; fewer stops the training with the reason. */
  readonly minPerClass: number;
  /** Fewest holdout examples a class needs for the new head to be judged; fewer stops the training with the reason (default 0). */
  readonly minHoldoutPerClass?: number;
}

/** The trained head and how it does. */
export interface TrainFromSetResult {
  readonly head: TrainedHead;
  readonly classes: readonly string[];
  readonly newClasses: readonly string[];
  readonly counts: Readonly<Record<'train' | 'validation' | 'holdout', Readonly<Record<string, number>>>>;
  readonly classWeights: readonly number[];
  /** Rows left out, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly candidate: Evaluation;
  /** Production's stored predictions on the same holdout, over the classes production knows. */
  readonly production: Evaluation;
  readonly trainingSeconds: number;
}

/** Trains a head on the rows; CONFIG_INVALID when a class has too few examples or nothing is left to train on. */
export async function trainFromSet(rows: readonly TrainingRow[], o: TrainFromSetOptions): Promise<TrainFromSetResult> {
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const usable = rows.filter((row) => {
    if (o.fingerprint !== undefined && row.features.modelFingerprint !== o.fingerprint) {
      skip(row.features.modelFingerprint === undefined ? 'no fingerprint' : 'another fingerprint');
      return false;
    }
    return true;
  });
  const labelled = usable.map((row) => ({ row, label: chooseLabel(row.annotations, o.policy).annotation.label }));
  const known = new Set(o.modelClasses);
  const newClasses = [...new Set(labelled.map((x) => x.label).filter((l) => !known.has(l)))].sort();
  const classes = [...o.modelClasses, ...newClasses];
  const index = new Map(classes.map((c, i) => [c, i]));
  const data: Record<'train' | 'validation' | 'holdout', { embeddings: Float32Array[]; labels: number[]; rows: TrainingRow[] }> = {
    train: { embeddings: [], labels: [], rows: [] },
    validation: { embeddings: [], labels: [], rows: [] },
    holdout: { embeddings: [], labels: [], rows: [] },
  };
  const dims = labelled[0]?.row.features.embedding.length;
  for (const { row, label } of labelled) {
    if (row.features.embedding.length !== dims) {
      skip('another embedding size');
      continue;
    }
    const part = data[row.split];
    part.embeddings.push(row.features.embedding);
    part.labels.push(index.get(label) as number);
    part.rows.push(row);
  }
  const countsOf = (labels: readonly number[]): Record<string, number> => Object.fromEntries(classes.map((c, i) => [c, labels.filter((l) => l === i).length]));
  const counts = { train: countsOf(data.train.labels), validation: countsOf(data.validation.labels), holdout: countsOf(data.holdout.labels) };
  if (data.train.embeddings.length === 0) throw new CentaurError('CONFIG_INVALID', `no training examples: ${rows.length} rows, ${JSON.stringify(skipped)} left out`);
  // Every class the head will answer needs examples, the model's own included.
  const missing = classes.filter((c) => (counts.train[c] ?? 0) < o.minPerClass);
  if (missing.length > 0) {
    throw new CentaurError('CONFIG_INVALID', `too few labelled train examples: ${missing.map((c) => `${c} ${counts.train[c] ?? 0}`).join(', ')} (at least ${o.minPerClass} each); label more, or lower the minimum`);
  }
  const unjudged = classes.filter((c) => (counts.holdout[c] ?? 0) < (o.minHoldoutPerClass ?? 0));
  if (unjudged.length > 0) {
    throw new CentaurError('CONFIG_INVALID', `too few labelled holdout examples to judge the head: ${unjudged.map((c) => `${c} ${counts.holdout[c] ?? 0}`).join(', ')} (at least ${o.minHoldoutPerClass ?? 0} each); label more, or lower the minimum`);
  }
  const weights = classWeights(classes.map((c) => counts.train[c] ?? 0), o.weighting);
  const started = performance.now();
  const head = await trainHead(data.train, data.validation, { ...o, classes: classes.length, classWeights: weights });
  const trainingSeconds = (performance.now() - started) / 1000;
  const holdout = data.holdout;
  const candidate = evaluate(holdout.embeddings.map((e) => headProbabilities(head, e)), holdout.labels, classes);
  // Production answered with its own classes: its stored prediction, as a one-hot over the candidate's classes.
  const production = evaluate(
    holdout.rows.map((row) => {
      const p = new Float64Array(classes.length);
      const i = index.get(row.features.predictedLabel);
      if (i !== undefined) p[i] = row.features.confidence;
      return p;
    }),
    holdout.labels,
    classes,
  );
  return { head, classes, newClasses, counts, classWeights: weights, skipped, candidate, production, trainingSeconds };
}
