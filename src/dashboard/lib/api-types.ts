/**
 * The shapes of `/api/status` and of the `summary` events of `/api/events`, under the names the
 * page uses; the one definition is the server's (src/observability/api-types.ts).
 */
export type {
  Accuracy,
  DriftNodeStatus,
  DriftSummary,
  HistoryPoint,
  ProcessFigures,
  LabelFigures,
  LabelsNodeStatus,
  LabelsSummary,
  NodeRates,
  Readiness,
  StatusNode,
  ModelVersion as ModelInfo,
  LatencyQuantiles as Percentiles,
  StatusDocument as StatusSnapshot,
  SummaryEvent as Summary,
} from '../../observability/api-types.js';
