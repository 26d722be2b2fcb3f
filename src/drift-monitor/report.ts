/**
 * A window's drift report: each monitored feature against the reference profile (Evidently's
 * methods on the window's values in `evidently` mode, binned methods over the profile's edges in
 * `streaming` mode, counts for categorical features in both), embedding drift, and dataset drift
 * over the feature columns, and the accuracy of the window's labelled predictions. Features without
 * a value in the window are listed as skipped. A report read back from Kafka or a file (JSON, or
 * Avro decoded) is checked by `parseReportRecord` before it drives a retrain trigger.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { columnDrift } from '../drift/column-drift.js';
import { binnedDrift, categoricalDriftFromCounts } from '../drift/counts-drift.js';
import { summarizeDatasetDrift } from '../drift/dataset-drift.js';
import type { DatasetDriftSummary } from '../drift/dataset-drift.js';
import { DRIFT_METHODS, isDrifted } from '../drift/methods.js';
import { embeddingDrift } from '../drift/embedding-drift.js';
import type { EmbeddingDriftResult } from '../drift/embedding-drift.js';
import { DriftInputError } from '../drift/errors.js';
import { CategoryCountsState } from '../drift/state/category-counts-state.js';
import { HistogramState } from '../drift/state/histogram-state.js';
import { ReservoirState } from '../drift/state/reservoir-state.js';
import type { Category, ColumnDriftResult, DriftMethodId } from '../drift/types.js';
import { thresholdAt } from './thresholds.js';
import type { FeatureThresholds, ModeCalibration } from './thresholds.js';
import { isOutputFeature } from './features.js';
import type { ReferenceProfile } from './profile.js';
import type { WindowMode, WindowState } from './window-state.js';

/** Which window a report covers: event-time milliseconds, or input ordinals for count windows. */
export interface WindowRef {
  readonly kind: 'time' | 'count';
  readonly start: number;
  readonly end: number;
}

/** Where a verdict's threshold came from: the profile's calibration, the topology, or Evidently's default. */
export type ThresholdSource = 'calibrated' | 'configured' | 'evidently';

/** One feature's result in a report. */
export type ReportColumn = ColumnDriftResult & {
  readonly name: string;
  /** False when an `evidently`-mode window held more values than its cap (the score is an estimate). */
  readonly exact: boolean;
  readonly thresholdSource: ThresholdSource;
  /** Calibrated: the threshold of the dataset rule (any feature past it drifts the dataset). */
  readonly datasetThreshold?: number;
  /** Calibrated, model outputs only: the threshold of the outputs rule. */
  readonly outputsThreshold?: number;
};

/** The outputs signal: model outputs (class shares, confidence, probabilities) drifted. */
export interface OutputsDrift {
  readonly drifted: boolean;
  /** The output features past their outputs threshold (calibrated) or drifted (Evidently's thresholds). */
  readonly columns: readonly string[];
}

/** The dataset verdict of a report: Evidently's share rule, or the calibrated any-feature rule. */
export type ReportDataset = DatasetDriftSummary & {
  /** `share`: share of drifted features ≥ driftShare (Evidently); `calibrated`: some feature past its dataset threshold. */
  readonly rule: 'share' | 'calibrated';
};

/** Accuracy of a window's labelled predictions (inputs with a ground-truth label and a prediction). */
export interface WindowAccuracy {
  readonly labelled: number;
  readonly correct: number;
  /** correct / labelled. */
  readonly ratio: number;
  /** The reference profile's accuracy, when the profile records one; null otherwise. */
  readonly reference: number | null;
}

/** A window's drift report (docs/DRIFT.md, schemas/avro/drift-report.avsc). */
export interface DriftReport {
  readonly topology: string;
  readonly node: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly mode: WindowMode;
  readonly window: WindowRef;
  /** Inputs counted in the window, and the event-time range they span (null for an empty window). */
  readonly inputs: number;
  readonly eventTimeMin: number | null;
  readonly eventTimeMax: number | null;
  /** Inputs that arrived after every window they belong to had closed, since the previous report. */
  readonly late: number;
  readonly columns: readonly ReportColumn[];
  /** Features left out for lack of values in the window. */
  readonly skipped: readonly string[];
  readonly embedding: (EmbeddingDriftResult & { readonly thresholdSource: ThresholdSource }) | null;
  readonly dataset: ReportDataset | null;
  /** Model outputs drifted, or null when no output feature was compared. */
  readonly outputs: OutputsDrift | null;
  /** Which thresholds the verdicts use, and the calibration's false-alarm rate (null with Evidently's). */
  readonly thresholds: 'calibrated' | 'evidently';
  readonly falseAlarmRate: number | null;
  /** Accuracy of the labelled inputs, or null when the window had none. */
  readonly accuracy: WindowAccuracy | null;
  /** How many instance partials the report merges (1 for a single instance). */
  readonly instances: number;
  /** Wall-clock time the report was made, ms since the epoch. */
  readonly createdAt: number;
}

/** Per-feature method and threshold asked for in the topology. */
export interface ColumnChoice {
  readonly method?: DriftMethodId;
  readonly threshold?: number;
}

/** Everything a report needs besides the window's state. */
export interface ReportContext {
  readonly topology: string;
  readonly node: string;
  readonly window: WindowRef;
  readonly late: number;
  readonly instances: number;
  readonly driftShare: number;
  readonly columns: Readonly<Record<string, ColumnChoice>>;
  /** A configured embedding threshold (else the calibrated one, else Evidently's 0.2). */
  readonly embeddingThreshold?: number;
  readonly now: number;
}

function countsMap(pairs: readonly (readonly [Category, number])[]): Map<Category, number> {
  return new Map(pairs.map(([c, n]) => [c, n]));
}

/**
 * The reference accuracy a profile records, as `accuracy: { labelled, correct }` (optional in the
 * profile format), or null; why: the accuracy-drop condition compares windows with it.
 */
export function referenceAccuracy(profile: ReferenceProfile): number | null {
  const a = (profile as { readonly accuracy?: unknown }).accuracy;
  if (typeof a !== 'object' || a === null) return null;
  const { labelled, correct } = a as { labelled?: unknown; correct?: unknown };
  if (typeof labelled !== 'number' || typeof correct !== 'number' || !(labelled > 0) || !(correct >= 0) || correct > labelled) return null;
  return correct / labelled;
}

/** The thresholds of one feature at a window comparing `n` values, or undefined where the calibration has none. */
function calibratedAt(calibration: ModeCalibration | undefined, name: string, n: number): { method: DriftMethodId; threshold: number; dataset: number; outputs?: number } | undefined {
  if (calibration === undefined) return undefined;
  const method = calibration.sizes.find((s) => s.features[name] !== undefined)?.features[name]?.method;
  if (method === undefined) return undefined;
  const distance = DRIFT_METHODS[method].comparison === '>=';
  const at = (pick: (f: FeatureThresholds) => number | undefined): number | undefined => thresholdAt(calibration, n, (s) => {
    const f = s.features[name];
    return f === undefined || f.method !== method ? undefined : pick(f);
  }, distance);
  const threshold = at((f) => f.threshold);
  const dataset = at((f) => f.dataset);
  const outputs = at((f) => f.outputs);
  if (threshold === undefined || dataset === undefined) return undefined;
  return { method, threshold, dataset, ...(outputs === undefined ? {} : { outputs }) };
}

/** Applies a calibrated (or configured) threshold to a result computed with Evidently's. */
function withThreshold(result: ColumnDriftResult, threshold: number): ColumnDriftResult {
  return { ...result, threshold, drifted: isDrifted(result.method, result.score, threshold) };
}

/** Computes the report of a closed window; why: the unit of metrics, Kafka records and the retrain trigger. */
export function windowReport(state: WindowState, context: ReportContext): DriftReport {
  const { profile, mode, calibration } = state.setup;
  const columns: ReportColumn[] = [];
  const skipped: string[] = [];
  for (const spec of state.setup.features) {
    const reference = profile.features[spec.name]!;
    const current = state.states.get(spec.name)!;
    const choice = context.columns[spec.name] ?? {};
    const n = current instanceof ReservoirState ? current.values.length : current.count;
    const calibrated = choice.threshold === undefined && (choice.method === undefined || choice.method === calibratedAt(calibration, spec.name, n)?.method) ? calibratedAt(calibration, spec.name, n) : undefined;
    const forceable = calibrated !== undefined && DRIFT_METHODS[calibrated.method].kinds.includes(reference.kind);
    const method = choice.method ?? (forceable ? calibrated.method : undefined);
    const options = { name: spec.name, ...(method === undefined ? {} : { method }), ...(choice.threshold === undefined ? {} : { threshold: choice.threshold }) };
    let result: ColumnDriftResult & { exact: boolean };
    if (current instanceof CategoryCountsState) {
      if (current.count === 0 || reference.kind !== 'categorical') {
        skipped.push(spec.name);
        continue;
      }
      const cur = countsMap(current.toJSON().counts);
      result = { exact: true, ...categoricalDriftFromCounts(countsMap(reference.categories), cur, options) };
    } else if (current instanceof HistogramState) {
      if (current.count === 0 || reference.kind !== 'numerical') {
        skipped.push(spec.name);
        continue;
      }
      result = { exact: true, ...binnedDrift([0, ...reference.counts, 0], current.countsWithOutOfRange(), options) };
    } else {
      if (current.seen === 0 || reference.kind !== 'numerical') {
        skipped.push(spec.name);
        continue;
      }
      const computed = columnDrift({ kind: 'numerical', reference: reference.sample, current: current.values, integer: reference.integer }, options);
      result = { exact: current.exact && reference.sample.length === reference.count, ...computed };
    }
    if (choice.threshold !== undefined) {
      columns.push({ name: spec.name, thresholdSource: 'configured', ...result });
    } else if (calibrated !== undefined && result.method === calibrated.method) {
      columns.push({
        name: spec.name,
        thresholdSource: 'calibrated',
        ...withThreshold(result, calibrated.threshold),
        exact: result.exact,
        datasetThreshold: calibrated.dataset,
        ...(calibrated.outputs === undefined ? {} : { outputsThreshold: calibrated.outputs }),
      });
    } else {
      columns.push({ name: spec.name, thresholdSource: 'evidently', ...result });
    }
  }
  let embedding: DriftReport['embedding'] = null;
  const e = profile.embedding;
  if (state.embedding !== null && e !== null && state.embedding.count > 0) {
    const count = state.embedding.count;
    const tuned = calibration === undefined ? undefined : thresholdAt(calibration, count, (s) => s.embedding ?? undefined, true);
    const threshold = context.embeddingThreshold ?? tuned;
    const source: ThresholdSource = context.embeddingThreshold !== undefined ? 'configured' : tuned !== undefined ? 'calibrated' : 'evidently';
    embedding = { ...embeddingDrift({ mean: e.mean, count: e.count }, { mean: state.embedding.mean(), count }, threshold), thresholdSource: source };
  }
  const empty = state.count === 0;
  const past = (c: ReportColumn, t: number | undefined): boolean => (t === undefined ? c.drifted : isDrifted(c.method, c.score, t));
  let dataset: ReportDataset | null = null;
  if (columns.length > 0) {
    const summary = summarizeDatasetDrift(columns, context.driftShare);
    dataset = calibration === undefined ? { ...summary, rule: 'share' } : { ...summary, datasetDrift: columns.some((c) => past(c, c.datasetThreshold)), rule: 'calibrated' };
  }
  const outputColumns = columns.filter((c) => isOutputFeature(c.name));
  const outputsPast = outputColumns.filter((c) => past(c, calibration === undefined ? undefined : c.outputsThreshold)).map((c) => c.name);
  return {
    topology: context.topology,
    node: context.node,
    model: state.model ?? profile.model,
    mode,
    window: context.window,
    inputs: state.count,
    eventTimeMin: empty ? null : state.eventTimeMin,
    eventTimeMax: empty ? null : state.eventTimeMax,
    late: context.late,
    columns,
    skipped,
    embedding,
    dataset,
    outputs: outputColumns.length === 0 ? null : { drifted: outputsPast.length > 0, columns: outputsPast },
    thresholds: calibration === undefined ? 'evidently' : 'calibrated',
    falseAlarmRate: calibration === undefined ? null : (state.setup.falseAlarmRate ?? null),
    accuracy: state.labelled === 0 ? null : { labelled: state.labelled, correct: state.correct, ratio: state.correct / state.labelled, reference: referenceAccuracy(profile) },
    instances: context.instances,
    createdAt: context.now,
  };
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([Type.Null(), t]);
const ModelRecord = Type.Object({ name: Type.String(), version: Type.String() });

/** The fields of a report record a retrain trigger reads; others are kept as they are. */
const ReportRecordSchema = Type.Object({
  topology: Type.String(),
  node: Type.String(),
  model: Nullable(ModelRecord),
  mode: Type.Union([Type.Literal('evidently'), Type.Literal('streaming')]),
  window: Type.Object({ kind: Type.Union([Type.Literal('time'), Type.Literal('count')]), start: Type.Number(), end: Type.Number() }),
  inputs: Type.Number({ minimum: 0 }),
  columns: Type.Array(Type.Object({ name: Type.String(), method: Type.String(), score: Type.Number(), threshold: Type.Number(), drifted: Type.Boolean() })),
  embedding: Type.Optional(Nullable(Type.Object({ score: Type.Number(), drifted: Type.Boolean() }))),
  dataset: Type.Optional(Nullable(Type.Object({ shareOfDriftedColumns: Type.Number(), datasetDrift: Type.Boolean() }))),
  accuracy: Type.Optional(Nullable(Type.Object({ labelled: Type.Integer({ minimum: 1 }), correct: Type.Integer({ minimum: 0 }), ratio: Type.Number(), reference: Type.Optional(Nullable(Type.Number())) }))),
  createdAt: Type.Number(),
});
type ReportRecordFields = Static<typeof ReportRecordSchema>;

/**
 * Checks a report record read back (the JSON of `reportRecord`, or a decoded Avro DriftReport of
 * any released version) and returns it as a report; throws a DriftInputError naming the first
 * problem. Why: reports from a topic drive the retrain trigger, and a foreign record must not.
 */
export function parseReportRecord(value: unknown): DriftReport {
  if (!Value.Check(ReportRecordSchema, value)) {
    const first = Value.Errors(ReportRecordSchema, value).First();
    const where = first === undefined || first.path === '' ? 'the record' : `\`${first.path.slice(1).replaceAll('/', '.')}\``;
    throw new DriftInputError(`not a drift report: ${where}: ${first?.message ?? 'invalid'}`);
  }
  const r: ReportRecordFields = value;
  if (r.accuracy !== undefined && r.accuracy !== null && r.accuracy.correct > r.accuracy.labelled) throw new DriftInputError('not a drift report: `accuracy.correct` is above `accuracy.labelled`');
  const record = value as unknown as Partial<DriftReport> & ReportRecordFields;
  // Records of earlier versions lack the threshold fields: their verdicts used Evidently's thresholds.
  const columns: ReportColumn[] = (record.columns as readonly Partial<ReportColumn>[]).map((c) => ({ ...c, thresholdSource: c.thresholdSource ?? 'evidently' }) as ReportColumn);
  const outputColumns = columns.filter((c) => isOutputFeature(c.name));
  return {
    ...record,
    columns,
    outputs: record.outputs !== undefined ? record.outputs : outputColumns.length === 0 ? null : { drifted: outputColumns.some((c) => c.drifted), columns: outputColumns.filter((c) => c.drifted).map((c) => c.name) },
    thresholds: record.thresholds ?? 'evidently',
    falseAlarmRate: record.falseAlarmRate ?? null,
    eventTimeMin: record.eventTimeMin ?? null,
    eventTimeMax: record.eventTimeMax ?? null,
    late: record.late ?? 0,
    skipped: record.skipped ?? [],
    dataset: record.dataset === undefined || record.dataset === null ? null : { ...record.dataset, rule: record.dataset.rule ?? 'share' },
    embedding: record.embedding === undefined || record.embedding === null ? null : { ...record.embedding, thresholdSource: record.embedding.thresholdSource ?? 'evidently' },
    accuracy: r.accuracy === undefined || r.accuracy === null ? null : { labelled: r.accuracy.labelled, correct: r.accuracy.correct, ratio: r.accuracy.correct / r.accuracy.labelled, reference: r.accuracy.reference ?? null },
    instances: record.instances ?? 1,
  };
}
