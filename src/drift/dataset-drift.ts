/**
 * Dataset drift as Evidently's DriftedColumnsCount / DatasetDriftMetric: the share of columns that
 * drift, and dataset drift when that share is at least `driftShare` (default 0.5; share ≥ threshold).
 */
import { columnDrift } from './column-drift.js';
import { DriftInputError } from './errors.js';
import type { ColumnData, ColumnDriftResult, DriftMethodId } from './types.js';

/** Evidently's default share of drifted columns that makes the dataset drift. */
export const DEFAULT_DRIFT_SHARE = 0.5;

/** A named column of a dataset, with an optional method and threshold of its own. */
export type DatasetColumn = ColumnData & {
  readonly name: string;
  readonly method?: DriftMethodId;
  readonly threshold?: number;
};

/** The dataset-level verdict. */
export interface DatasetDriftSummary {
  readonly numberOfColumns: number;
  readonly numberOfDriftedColumns: number;
  readonly shareOfDriftedColumns: number;
  readonly driftShare: number;
  readonly datasetDrift: boolean;
}

/** Every column's result and the dataset verdict. */
export interface DatasetDriftResult extends DatasetDriftSummary {
  readonly columns: readonly (ColumnDriftResult & { readonly name: string })[];
}

/** Share of drifted columns and the verdict (share ≥ driftShare); why: also merges per-column verdicts from elsewhere. */
export function summarizeDatasetDrift(
  columns: readonly { readonly drifted: boolean }[],
  driftShare: number = DEFAULT_DRIFT_SHARE,
): DatasetDriftSummary {
  if (columns.length === 0) throw new DriftInputError('dataset drift needs at least one column');
  const drifted = columns.filter((c) => c.drifted).length;
  const share = drifted / columns.length;
  return {
    numberOfColumns: columns.length,
    numberOfDriftedColumns: drifted,
    shareOfDriftedColumns: share,
    driftShare,
    datasetDrift: share >= driftShare,
  };
}

/** Drift of every column and of the dataset, as Evidently's DataDriftPreset; why: the report a window produces. */
export function datasetDrift(
  columns: readonly DatasetColumn[],
  options: { readonly driftShare?: number } = {},
): DatasetDriftResult {
  const results = columns.map((c) => ({
    name: c.name,
    ...columnDrift(c, { name: c.name, method: c.method, threshold: c.threshold }),
  }));
  return { ...summarizeDatasetDrift(results, options.driftShare ?? DEFAULT_DRIFT_SHARE), columns: results };
}
