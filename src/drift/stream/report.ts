/**
 * A window's drift report: each monitored feature against the reference profile (Evidently's
 * methods on the window's values in `evidently` mode, binned methods over the profile's edges in
 * `streaming` mode, counts for categorical features in both), embedding drift, and dataset drift
 * over the feature columns. Features without a value in the window are listed as skipped.
 */
import { columnDrift } from '../column-drift.js';
import { binnedDrift, categoricalDriftFromCounts } from '../counts-drift.js';
import { summarizeDatasetDrift } from '../dataset-drift.js';
import type { DatasetDriftSummary } from '../dataset-drift.js';
import { embeddingDrift } from '../embedding-drift.js';
import type { EmbeddingDriftResult } from '../embedding-drift.js';
import { CategoryCountsState } from '../state/category-counts-state.js';
import { HistogramState } from '../state/histogram-state.js';
import { ReservoirState } from '../state/reservoir-state.js';
import type { Category, ColumnDriftResult, DriftMethodId } from '../types.js';
import type { WindowMode, WindowState } from './window-state.js';

/** Which window a report covers: event-time milliseconds, or input ordinals for count windows. */
export interface WindowRef {
  readonly kind: 'time' | 'count';
  readonly start: number;
  readonly end: number;
}

/** One feature's result in a report. */
export type ReportColumn = ColumnDriftResult & {
  readonly name: string;
  /** False when an `evidently`-mode window held more values than its cap (the score is an estimate). */
  readonly exact: boolean;
};

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
  readonly embedding: EmbeddingDriftResult | null;
  readonly dataset: DatasetDriftSummary | null;
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
  readonly embeddingThreshold?: number;
  readonly now: number;
}

function countsMap(pairs: readonly (readonly [Category, number])[]): Map<Category, number> {
  return new Map(pairs.map(([c, n]) => [c, n]));
}

/** Computes the report of a closed window; why: the unit of metrics, Kafka records and the retrain trigger. */
export function windowReport(state: WindowState, context: ReportContext): DriftReport {
  const { profile, mode } = state.setup;
  const columns: ReportColumn[] = [];
  const skipped: string[] = [];
  for (const spec of state.setup.features) {
    const reference = profile.features[spec.name]!;
    const current = state.states.get(spec.name)!;
    const choice = context.columns[spec.name] ?? {};
    const options = { name: spec.name, ...(choice.method === undefined ? {} : { method: choice.method }), ...(choice.threshold === undefined ? {} : { threshold: choice.threshold }) };
    if (current instanceof CategoryCountsState) {
      if (current.count === 0 || reference.kind !== 'categorical') {
        skipped.push(spec.name);
        continue;
      }
      const cur = countsMap(current.toJSON().counts);
      columns.push({ name: spec.name, exact: true, ...categoricalDriftFromCounts(countsMap(reference.categories), cur, options) });
    } else if (current instanceof HistogramState) {
      if (current.count === 0 || reference.kind !== 'numerical') {
        skipped.push(spec.name);
        continue;
      }
      columns.push({ name: spec.name, exact: true, ...binnedDrift([0, ...reference.counts, 0], current.countsWithOutOfRange(), options) });
    } else if (current instanceof ReservoirState) {
      if (current.seen === 0 || reference.kind !== 'numerical') {
        skipped.push(spec.name);
        continue;
      }
      const result = columnDrift({ kind: 'numerical', reference: reference.sample, current: current.values, integer: reference.integer }, options);
      columns.push({ name: spec.name, exact: current.exact && reference.sample.length === reference.count, ...result });
    }
  }
  let embedding: EmbeddingDriftResult | null = null;
  const e = profile.embedding;
  if (state.embedding !== null && e !== null && state.embedding.count > 0) {
    embedding = embeddingDrift({ mean: e.mean, count: e.count }, { mean: state.embedding.mean(), count: state.embedding.count }, context.embeddingThreshold);
  }
  const empty = state.count === 0;
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
    dataset: columns.length === 0 ? null : summarizeDatasetDrift(columns, context.driftShare),
    instances: context.instances,
    createdAt: context.now,
  };
}
