/**
 * One row of the training set: an input's stored embedding and prediction joined with every label
 * given to it, and the label the row is trained on. Written to Parquet by `training-set-sink`
 * (`training-set-table.ts`); read by pyarrow, pandas and the trainer.
 *
 * - **Annotations** are kept per annotator: a repeated label from the same annotator replaces the
 *   earlier one; different annotators are all recorded (`annotators`, `annotator_labels`, …).
 * - **The label** is chosen by the policy: `latest` (the most recent annotation) or `majority`
 *   (the most frequent label, ties broken by the most recent). A `ground-truth` annotation wins
 *   over people under both policies. `agreement` is the share of annotators who gave it.
 * - **The split** is a stable hash of the input id (SHA-256), assigned when the row is first
 *   written and kept afterwards, so the holdout never moves between retrains.
 */
import { createHash } from 'node:crypto';
import { LABEL_ORIGINS, isOneOf, SELECTION_STRATEGIES } from '../core/envelope.js';
import type { Annotation, LabellingMark } from '../core/envelope.js';
import type { ParquetColumn } from '../formats/parquet.js';
import type { StoredFeatures } from '../feature-store/feature-row.js';

/** The version of the row layout, stored in every row (`schema_version`). */
export const TRAINING_SET_SCHEMA_VERSION = 1;

export type Split = 'train' | 'validation' | 'holdout';
export type LabelPolicy = 'latest' | 'majority';

/** Shares of the validation and holdout splits; the rest is train. */
export interface SplitShares {
  readonly validation: number;
  readonly holdout: number;
}

/** One input's row, as held in memory. */
export interface TrainingRow {
  readonly inputId: string;
  readonly split: Split;
  /** Every annotator's latest annotation, in the order first seen. */
  readonly annotations: readonly Annotation[];
  /** Why the input was picked for labelling: from the first label event that said so, never cleared. */
  readonly selection?: LabellingMark['strategy'];
  readonly features: StoredFeatures;
  /** When the row was last written, ms since the epoch. */
  readonly updatedTime: number;
}

/** The label a row is trained on, and how it was chosen. */
export interface ChosenLabel {
  readonly annotation: Annotation;
  /** Share of the annotations that gave this label. */
  readonly agreement: number;
}

/** The split of an input id: the first 32 bits of SHA-256(id) as a fraction, holdout first, then validation. */
export function splitOf(inputId: string, shares: SplitShares): Split {
  const u = createHash('sha256').update(inputId, 'utf8').digest().readUInt32BE(0) / 2 ** 32;
  if (u < shares.holdout) return 'holdout';
  if (u < shares.holdout + shares.validation) return 'validation';
  return 'train';
}

/** The annotations with `next` added: it replaces the same annotator's earlier annotation, unless that one is newer. */
export function withAnnotation(annotations: readonly Annotation[], next: Annotation): { readonly annotations: Annotation[]; readonly outcome: 'added' | 'replaced' | 'unchanged' } {
  const i = annotations.findIndex((a) => a.annotator === next.annotator);
  if (i < 0) return { annotations: [...annotations, next], outcome: 'added' };
  const old = annotations[i] as Annotation;
  if (old.labelTime > next.labelTime) return { annotations: [...annotations], outcome: 'unchanged' };
  const same = old.label === next.label && old.labelTime === next.labelTime && old.origin === next.origin;
  const list = [...annotations];
  list[i] = next;
  return { annotations: list, outcome: same ? 'unchanged' : 'replaced' };
}

/** The label chosen under the policy (`annotations` must not be empty). */
export function chooseLabel(annotations: readonly Annotation[], policy: LabelPolicy): ChosenLabel {
  const truth = annotations.filter((a) => a.origin === 'ground-truth');
  const pool = truth.length > 0 ? truth : annotations;
  const latest = (list: readonly Annotation[]): Annotation =>
    list.reduce((best, a) => (a.labelTime > best.labelTime || (a.labelTime === best.labelTime && a.annotator > best.annotator) ? a : best));
  let chosen: Annotation;
  if (policy === 'latest') {
    chosen = latest(pool);
  } else {
    const counts = new Map<string, number>();
    for (const a of pool) counts.set(a.label, (counts.get(a.label) ?? 0) + 1);
    const top = Math.max(...counts.values());
    chosen = latest(pool.filter((a) => counts.get(a.label) === top));
  }
  return { annotation: chosen, agreement: annotations.filter((a) => a.label === chosen.label).length / annotations.length };
}

/** Why the input was picked for labelling: the row's, else the first annotation that says so. */
export function selectionOf(row: Pick<TrainingRow, 'annotations' | 'selection'>): LabellingMark['strategy'] | undefined {
  return row.selection ?? row.annotations.find((a) => a.selection !== undefined)?.selection;
}

/** The columns of the training-set files. */
export const TRAINING_COLUMNS: readonly ParquetColumn[] = [
  { name: 'schema_version', type: 'int32' },
  { name: 'input_id', type: 'string' },
  { name: 'split', type: 'string' },
  { name: 'label', type: 'string' },
  { name: 'new_class', type: 'boolean' },
  { name: 'label_origin', type: 'string' },
  { name: 'annotator', type: 'string' },
  { name: 'label_time', type: 'timestamp-ms' },
  { name: 'agreement', type: 'float32' },
  { name: 'annotators', type: 'string-list' },
  { name: 'annotator_labels', type: 'string-list' },
  { name: 'annotation_origins', type: 'string-list' },
  { name: 'annotation_times', type: 'timestamp-ms-list' },
  { name: 'selection', type: 'string', nullable: true },
  { name: 'embedding', type: 'float32-list' },
  { name: 'predicted_label', type: 'string' },
  { name: 'confidence', type: 'float32' },
  { name: 'probabilities', type: 'float32-list', nullable: true },
  { name: 'model_name', type: 'string', nullable: true },
  { name: 'model_version', type: 'string' },
  { name: 'model_fingerprint', type: 'string', nullable: true },
  { name: 'event_time', type: 'timestamp-ms' },
  { name: 'updated_time', type: 'timestamp-ms' },
];

/** The Parquet row of a training row, its label chosen under the policy; `classes` are the model's (for `new_class`). */
export function toParquetRow(row: TrainingRow, policy: LabelPolicy, classes: ReadonlySet<string>): Record<string, unknown> {
  const { annotation, agreement } = chooseLabel(row.annotations, policy);
  const f = row.features;
  return {
    schema_version: TRAINING_SET_SCHEMA_VERSION,
    input_id: row.inputId,
    split: row.split,
    label: annotation.label,
    new_class: !classes.has(annotation.label),
    label_origin: annotation.origin,
    annotator: annotation.annotator,
    label_time: annotation.labelTime,
    agreement,
    annotators: row.annotations.map((a) => a.annotator),
    annotator_labels: row.annotations.map((a) => a.label),
    annotation_origins: row.annotations.map((a) => a.origin),
    annotation_times: row.annotations.map((a) => a.labelTime),
    selection: selectionOf(row) ?? null,
    embedding: f.embedding,
    predicted_label: f.predictedLabel,
    confidence: f.confidence,
    probabilities: f.probabilities ?? null,
    model_name: f.modelName ?? null,
    model_version: f.modelVersion,
    model_fingerprint: f.modelFingerprint ?? null,
    event_time: f.eventTime,
    updated_time: row.updatedTime,
  };
}

const SPLITS: readonly string[] = ['train', 'validation', 'holdout'];

/** A training row read back from a file, or undefined when the row is not one this version wrote. */
export function fromParquetRow(r: Readonly<Record<string, unknown>>): TrainingRow | undefined {
  const annotators = r.annotators;
  const labels = r.annotator_labels;
  const origins = r.annotation_origins;
  const times = r.annotation_times;
  if (
    r.schema_version !== TRAINING_SET_SCHEMA_VERSION ||
    typeof r.input_id !== 'string' ||
    typeof r.split !== 'string' ||
    !SPLITS.includes(r.split) ||
    !Array.isArray(annotators) ||
    !Array.isArray(labels) ||
    !Array.isArray(origins) ||
    !Array.isArray(times) ||
    annotators.length === 0 ||
    labels.length !== annotators.length ||
    origins.length !== annotators.length ||
    times.length !== annotators.length ||
    !(r.embedding instanceof Float32Array) ||
    typeof r.predicted_label !== 'string' ||
    typeof r.confidence !== 'number' ||
    typeof r.model_version !== 'string' ||
    typeof r.event_time !== 'number'
  ) {
    return undefined;
  }
  const selection = isOneOf(SELECTION_STRATEGIES, r.selection) ? r.selection : undefined;
  const annotations: Annotation[] = annotators.map((annotator, i) => ({
    annotator: String(annotator),
    label: String(labels[i]),
    origin: isOneOf(LABEL_ORIGINS, origins[i]) ? origins[i] : 'kafka',
    labelTime: Number(times[i]),
  }));
  return {
    inputId: r.input_id,
    split: r.split as Split,
    annotations,
    ...(selection === undefined ? {} : { selection }),
    features: {
      entity: r.input_id,
      eventTime: r.event_time,
      modelVersion: r.model_version,
      embedding: r.embedding,
      predictedLabel: r.predicted_label,
      confidence: r.confidence,
      ...(typeof r.model_name === 'string' ? { modelName: r.model_name } : {}),
      ...(r.probabilities instanceof Float32Array ? { probabilities: r.probabilities } : {}),
      ...(typeof r.model_fingerprint === 'string' ? { modelFingerprint: r.model_fingerprint } : {}),
    },
    updatedTime: typeof r.updated_time === 'number' ? r.updated_time : 0,
  };
}
