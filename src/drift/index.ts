/** The drift library: Evidently's data drift methods, its automatic choice and verdicts, and mergeable window state. */
export type {
  Category,
  CategoryValue,
  ColumnData,
  ColumnDriftResult,
  ColumnKind,
  DriftMethodId,
  MethodScore,
  NumericValue,
} from './types.js';
export { DriftInputError } from './errors.js';
export { DRIFT_METHODS, isDrifted, isDriftMethodId, type DriftComparison, type DriftMethodSpec } from './methods.js';
export { defaultMethod } from './auto-method.js';
export { cleanColumn } from './clean.js';
export { columnDrift, type ColumnDriftOptions } from './column-drift.js';
export {
  datasetDrift,
  summarizeDatasetDrift,
  DEFAULT_DRIFT_SHARE,
  type DatasetColumn,
  type DatasetDriftResult,
  type DatasetDriftSummary,
} from './dataset-drift.js';
export { binnedShares, fillZeroes, type BinnedShares } from './binning.js';
export { sturgesEdges, histogramCounts } from './histogram.js';
export { psiFromShares } from './methods/psi.js';
export { klFromShares } from './methods/kl-divergence.js';
export { jensenShannonFromShares } from './methods/jensen-shannon.js';
export { wassersteinDistance, populationStd } from './methods/wasserstein.js';
export { ksTwoSample, type KsResult } from './methods/kolmogorov-smirnov.js';
export { chiSquareFromCounts } from './methods/chi-square.js';
export { zTestFromCounts } from './methods/z-test.js';
export { HistogramState, type HistogramStateJson } from './state/histogram-state.js';
export { CategoryCountsState, type CategoryCountsStateJson } from './state/category-counts-state.js';
export { ReservoirState, type ReservoirStateJson } from './state/reservoir-state.js';
export { Random, type RandomStateJson } from './state/random.js';
