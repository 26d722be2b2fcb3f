/**
 * The drift monitor's metrics and live status, declared here next to the code that records them:
 * per-feature scores and verdicts, dataset and embedding drift, windows, late inputs and retrain
 * requests (docs/METRICS.md), and the last window of each drift node for the status API.
 */
import { counterFamily, gaugeFamily, statusChannel } from '../core/metric-family.js';
import type { MetricFamily, NodeCounter, NodeGauge, NodeMetrics } from '../core/metric-family.js';
import type { DriftNodeStatus } from '../observability/api-types.js';

/** One closed drift window as metrics and the live summary see it. */
export interface DriftWindowFigures {
  readonly model: string;
  readonly version: string;
  readonly mode: string;
  readonly window: DriftNodeStatus['window'];
  readonly inputs: number;
  readonly late: number;
  readonly instances: number;
  /** As in the status, but a score may be NaN here (the status carries it as null). */
  readonly columns: readonly (Omit<DriftNodeStatus['columns'][number], 'score'> & { readonly score: number })[];
  readonly embedding: DriftNodeStatus['embedding'];
  /** Share of drifted columns, the share that makes dataset drift, and the verdict (null without columns). */
  readonly dataset: { readonly share: number; readonly driftShare: number; readonly drifted: boolean } | null;
  readonly closedAt: number;
}

/** Why a drift node following model versions left an input out of its windows. */
export type UnmonitoredReason = 'warm_up' | 'loading' | 'retired_version' | 'no_reference';

/** Where drift nodes publish their last window for the status API. */
export const DRIFT_STATUS = statusChannel<DriftNodeStatus>('drift');

const score = gaugeFamily('centaur_drift_score', "A feature's drift score in the last closed window (a p-value or a distance, per method).", ['feature', 'method']);
const featureDetected = gaugeFamily('centaur_drift_feature_detected', '1 when the feature drifted in the last closed window, else 0.', ['feature']);
const detected = gaugeFamily('centaur_drift_detected', "1 while the last closed window's dataset drift is detected, else 0.", ['model', 'version']);
const share = gaugeFamily('centaur_drift_share', 'Share of drifted feature columns in the last closed window.', ['model', 'version']);
const embeddingDistance = gaugeFamily(
  'centaur_drift_embedding_distance',
  'Embedding drift of the last closed window: Euclidean (method distance) and cosine distance between the reference and window centroids.',
  ['distance'],
);
const windows = counterFamily('centaur_drift_windows_total', 'Drift windows closed, by outcome (drift, no_drift).', ['outcome']);
const lateInputs = counterFamily('centaur_drift_late_inputs_total', 'Inputs that reached a drift node after all their windows had closed (left out of the statistics).');
const retrainRequests = counterFamily('centaur_retrain_requests_total', 'Retrain requests from the drift trigger, by outcome (sent, suppressed by the cooldown).', ['model', 'version', 'outcome']);

const unmonitored = counterFamily(
  'centaur_drift_unmonitored_inputs_total',
  'Inputs a drift node following model versions left out of its windows, by reason (warm_up: building the version\'s reference; loading; retired_version: a straggler of a version already replaced; no_reference: the version\'s reference could not be used).',
  ['reason'],
);

/** The families a drift window updates (drift operator, drift-merge-source). */
export const DRIFT_WINDOW_FAMILIES: readonly MetricFamily[] = [score, featureDetected, detected, share, embeddingDistance, windows, lateInputs, retrainRequests];
/** The families of a drift node that follows model versions (the `drift` operator). */
export const DRIFT_NODE_FAMILIES: readonly MetricFamily[] = [...DRIFT_WINDOW_FAMILIES, unmonitored];
/** The family a retrain trigger updates (retrain-trigger-sink). */
export const RETRAIN_FAMILIES: readonly MetricFamily[] = [retrainRequests];

/** Records one drift node's windows, late inputs and retrain requests, and publishes its status. */
export class DriftMetrics {
  private readonly score: NodeGauge<'feature' | 'method'>;
  private readonly featureDetected: NodeGauge<'feature'>;
  private readonly detected: NodeGauge<'model' | 'version'>;
  private readonly share: NodeGauge<'model' | 'version'>;
  private readonly embedding: NodeGauge<'distance'>;
  private readonly windows: NodeCounter<'outcome'>;
  private readonly late: NodeCounter<never>;
  private readonly retrain: NodeCounter<'model' | 'version' | 'outcome'>;
  private readonly unmonitored: NodeCounter<'reason'>;
  private status: DriftNodeStatus | undefined;

  constructor(
    private readonly metrics: NodeMetrics,
    private readonly node: string,
  ) {
    this.score = metrics.gauge(score);
    this.featureDetected = metrics.gauge(featureDetected);
    this.detected = metrics.gauge(detected);
    this.share = metrics.gauge(share);
    this.embedding = metrics.gauge(embeddingDistance);
    this.windows = metrics.counter(windows);
    this.late = metrics.counter(lateInputs);
    this.retrain = metrics.counter(retrainRequests);
    this.unmonitored = metrics.counter(unmonitored);
  }

  /** A window closed: gauges, counters and the live status. */
  window(f: DriftWindowFigures): void {
    const previous = this.status;
    if (previous !== undefined && (previous.model !== f.model || previous.version !== f.version)) {
      this.detected.remove({ model: previous.model, version: previous.version });
      this.share.remove({ model: previous.model, version: previous.version });
    }
    for (const c of f.columns) {
      this.score.set({ feature: c.feature, method: c.method }, Number.isFinite(c.score) ? c.score : Number.NaN);
      this.featureDetected.set({ feature: c.feature }, c.drifted ? 1 : 0);
    }
    const model = { model: f.model, version: f.version };
    if (f.dataset !== null) {
      this.detected.set(model, f.dataset.drifted ? 1 : 0);
      this.share.set(model, f.dataset.share);
    }
    if (f.embedding !== null) {
      this.embedding.set({ distance: 'euclidean' }, f.embedding.score);
      this.embedding.set({ distance: 'cosine' }, f.embedding.cosineDistance);
    }
    const drifted = f.dataset?.drifted === true;
    this.windows.inc({ outcome: drifted ? 'drift' : 'no_drift' });
    this.status = {
      node: this.node,
      model: f.model,
      version: f.version,
      mode: f.mode,
      window: f.window,
      inputs: f.inputs,
      late: f.late,
      instances: f.instances,
      datasetDrift: f.dataset?.drifted ?? null,
      share: f.dataset?.share ?? null,
      driftShare: f.dataset?.driftShare ?? null,
      columns: f.columns.map((c) => ({ ...c, score: Number.isFinite(c.score) ? c.score : null })),
      embedding: f.embedding,
      closedAt: f.closedAt,
      windows: (previous?.windows ?? 0) + 1,
      driftedWindows: (previous?.driftedWindows ?? 0) + (drifted ? 1 : 0),
      retrainRequests: previous?.retrainRequests ?? 0,
    };
    this.metrics.publish(DRIFT_STATUS, this.status);
  }

  /** Inputs that arrived after every window they belong to had closed. */
  lateInputs(count: number): void {
    this.late.inc({}, count);
  }

  /** Inputs left out of every window while the node builds or loads a version's reference, or for another reason. */
  unmonitoredInputs(reason: UnmonitoredReason, count = 1): void {
    this.unmonitored.inc({ reason }, count);
  }

  /** The retrain trigger fired for a model version: `sent`, or `suppressed` by its cooldown. */
  retrainRequest(model: string, version: string, outcome: 'sent' | 'suppressed'): void {
    this.retrain.inc({ model, version, outcome });
    if (this.status !== undefined && outcome === 'sent') {
      this.status = { ...this.status, retrainRequests: this.status.retrainRequests + 1 };
      this.metrics.publish(DRIFT_STATUS, this.status);
    }
  }
}
