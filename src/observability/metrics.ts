/**
 * Centaur's Prometheus metrics (prom-client): one registry per running topology with every family
 * in docs/METRICS.md, the Node.js default metrics, and rendering in the Prometheus text format or
 * OpenMetrics. Labels are bound once per node so the hot path does no label lookups.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RegistryContentType } from 'prom-client';
import type { DriftWindowFigures, NodeMetrics } from '../core/node-metrics.js';
import type { DriftNodeStatus, DriftSummary } from './api-types.js';
import { FastHistogram } from './fast-histogram.js';
import type { HistogramChild } from './fast-histogram.js';

/** Latency buckets in seconds: sub-millisecond stages up to slow end-to-end paths. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Batch-size buckets: powers of two up to 256. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Batch-fill buckets: tenths. */
export const FILL_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Counters the runtime keeps for a node, read at scrape time instead of being incremented twice. */
export interface NodeCountSource {
  readonly id: string;
  readonly kind: string;
  readonly role: 'source' | 'operator' | 'sink';
  counts(): { readonly received: number; readonly sent: number; readonly failed: number };
}

/** Live figures the runtime exposes, read at scrape time. */
export interface RuntimeGaugeSource {
  inFlight(): { count: number; bytes: number; paused: boolean };
  ready(): boolean;
  running(): boolean;
  /** Inputs finished (ok, dead-lettered) and labelled predictions (correct of labelled). */
  totals(): { readonly completed: number; readonly deadLetters: number; readonly correct: number; readonly labelled: number };
}

/** Short-window figures for the status API, kept beside the Prometheus families. */
interface WindowStats {
  batches: number;
  fillSum: number;
}

export class CentaurMetrics {
  readonly registry = new Registry<RegistryContentType>();
  private readonly topology: string;
  private readonly endToEnd: HistogramChild;
  private readonly processing: HistogramChild;
  private readonly nodeProcessing: FastHistogram;
  private readonly batchSize: Histogram;
  private readonly batchFill: Histogram;
  private readonly batchWait: Histogram;
  private readonly inferenceBatch: Histogram;
  private readonly inferenceImage: Histogram;
  private readonly inferenceImages: Counter;
  private readonly modelInfo: Gauge;
  private readonly pauses: Counter;
  private readonly deadLetters: Counter;
  private readonly commits: Counter;
  private readonly commitSeconds: Histogram;
  private readonly lag: Gauge;
  private readonly shadowPredictions: Counter;
  private readonly shadowSeconds: Histogram;
  private readonly shadowSkips: Counter;
  private readonly driftScore: Gauge;
  private readonly driftFeatureDetected: Gauge;
  private readonly driftDetected: Gauge;
  private readonly driftShare: Gauge;
  private readonly driftEmbedding: Gauge;
  private readonly driftWindows: Counter;
  private readonly driftLateInputs: Counter;
  private readonly retrainRequests: Counter;
  private readonly cacheLookupCounter: Counter;
  private readonly cacheStoreCounter: Counter;
  private readonly inferenceServerRetries: Counter;
  private readonly inferenceServerCircuitOpen: Gauge;
  private readonly driftByNode = new Map<string, DriftNodeStatus>();
  private readonly lagValues = new Map<string, number>();
  private readonly models = new Map<string, { model: string; version: string }>();
  private window: WindowStats = { batches: 0, fillSum: 0 };
  private renderChain: Promise<unknown> = Promise.resolve();

  constructor(topology: string, version: string, nodes: readonly NodeCountSource[], gauges: RuntimeGaugeSource) {
    this.topology = topology;
    const registers = [this.registry];
    const t = { topology };
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'centaur_build_info', help: "Centaur's package version.", labelNames: ['version'], registers }).set({ version }, 1);
    new Gauge({
      name: 'centaur_up',
      help: '1 while the topology runs.',
      labelNames: ['topology'],
      registers,
      collect() {
        this.set(t, gauges.running() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'centaur_ready',
      help: '1 when /readyz answers 200.',
      labelNames: ['topology'],
      registers,
      collect() {
        this.set(t, gauges.ready() ? 1 : 0);
      },
    });
    const nodeCounter = (suffix: 'received' | 'sent' | 'failed', help: string): void => {
      new Counter({
        name: `centaur_node_${suffix}_total`,
        help,
        labelNames: ['topology', 'node', 'kind'],
        registers,
        collect() {
          this.reset();
          for (const n of nodes) this.inc({ topology, node: n.id, kind: n.kind }, n.counts()[suffix]);
        },
      });
    };
    nodeCounter('received', 'Envelopes into a node.');
    nodeCounter('sent', 'Envelopes out of a node (for sinks: written).');
    nodeCounter('failed', 'Envelopes a node failed; they become dead letters.');
    // Per-input families: plain counters the runtime keeps, and histograms bound once (FastHistogram).
    this.nodeProcessing = new FastHistogram('centaur_node_processing_seconds', 'Time an envelope spent in a node (for micro-batch: waiting for its batch).', ['topology', 'node', 'kind'], LATENCY_BUCKETS, this.registry);
    new Counter({
      name: 'centaur_inputs_total',
      help: 'Inputs admitted from each source.',
      labelNames: ['topology', 'node'],
      registers,
      collect() {
        this.reset();
        for (const n of nodes) {
          if (n.role !== 'source') continue;
          const c = n.counts();
          this.inc({ topology, node: n.id }, c.sent + c.failed);
        }
      },
    });
    new Counter({
      name: 'centaur_inputs_completed_total',
      help: 'Inputs finished end to end, by outcome (ok, dead_letter).',
      labelNames: ['topology', 'outcome'],
      registers,
      collect() {
        const totals = gauges.totals();
        this.reset();
        this.inc({ topology, outcome: 'ok' }, totals.completed);
        this.inc({ topology, outcome: 'dead_letter' }, totals.deadLetters);
      },
    });
    new Counter({
      name: 'centaur_labelled_predictions_total',
      help: 'Predictions of inputs with a known label, by outcome (correct, wrong).',
      labelNames: ['topology', 'outcome'],
      registers,
      collect() {
        const totals = gauges.totals();
        this.reset();
        this.inc({ topology, outcome: 'correct' }, totals.correct);
        this.inc({ topology, outcome: 'wrong' }, totals.labelled - totals.correct);
      },
    });
    this.endToEnd = new FastHistogram('centaur_end_to_end_latency_seconds', "From an input's event time to its last sink acknowledgement.", ['topology'], LATENCY_BUCKETS, this.registry).labels(t);
    this.processing = new FastHistogram('centaur_processing_latency_seconds', 'From admission by the source to the last sink acknowledgement.', ['topology'], LATENCY_BUCKETS, this.registry).labels(t);
    this.batchSize = new Histogram({ name: 'centaur_batch_size', help: 'Envelopes per batch.', labelNames: ['topology', 'node'], buckets: BATCH_SIZE_BUCKETS, registers });
    this.batchFill = new Histogram({ name: 'centaur_batch_fill_ratio', help: 'Batch size divided by the maximum batch size.', labelNames: ['topology', 'node'], buckets: FILL_BUCKETS, registers });
    this.batchWait = new Histogram({
      name: 'centaur_batch_wait_seconds',
      help: "How long a batch's first envelope waited for the batch to close.",
      labelNames: ['topology', 'node'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const modelLabels = ['topology', 'node', 'model', 'version'];
    this.inferenceBatch = new Histogram({ name: 'centaur_inference_batch_seconds', help: 'One backend call for one batch.', labelNames: modelLabels, buckets: LATENCY_BUCKETS, registers });
    this.inferenceImage = new Histogram({
      name: 'centaur_inference_image_seconds',
      help: "A batch's inference time divided by its size, observed once per batch.",
      labelNames: modelLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inferenceImages = new Counter({ name: 'centaur_inference_images_total', help: 'Images inferred.', labelNames: modelLabels, registers });
    this.modelInfo = new Gauge({ name: 'centaur_model_info', help: 'The model version each infer node runs (value 1).', labelNames: modelLabels, registers });
    new Gauge({
      name: 'centaur_in_flight_envelopes',
      help: 'Inputs admitted and not yet finished.',
      labelNames: ['topology'],
      registers,
      collect() {
        this.set(t, gauges.inFlight().count);
      },
    });
    new Gauge({
      name: 'centaur_in_flight_bytes',
      help: 'Input bytes of the inputs in flight.',
      labelNames: ['topology'],
      registers,
      collect() {
        this.set(t, gauges.inFlight().bytes);
      },
    });
    new Gauge({
      name: 'centaur_backpressure_paused',
      help: '1 while sources are paused by the in-flight limits.',
      labelNames: ['topology'],
      registers,
      collect() {
        this.set(t, gauges.inFlight().paused ? 1 : 0);
      },
    });
    this.pauses = new Counter({ name: 'centaur_backpressure_pauses_total', help: 'Times the sources were paused by the in-flight limits.', labelNames: ['topology'], registers });
    this.deadLetters = new Counter({
      name: 'centaur_dead_letters_total',
      help: 'Dead letters written, by the node that failed and the error code.',
      labelNames: ['topology', 'node', 'reason'],
      registers,
    });
    this.commits = new Counter({ name: 'centaur_source_commits_total', help: 'Position commits, by outcome (ok, error).', labelNames: ['topology', 'node', 'outcome'], registers });
    this.commitSeconds = new Histogram({ name: 'centaur_source_commit_seconds', help: 'Time one position commit took.', labelNames: ['topology', 'node'], buckets: LATENCY_BUCKETS, registers });
    this.shadowPredictions = new Counter({
      name: 'centaur_shadow_predictions_total',
      help: "Predictions of a shadow (candidate) version on sampled batches, by agreement with the serving version's top class.",
      labelNames: ['topology', 'node', 'model', 'version', 'outcome'],
      registers,
    });
    this.shadowSeconds = new Histogram({
      name: 'centaur_shadow_inference_batch_seconds',
      help: 'One shadow (candidate) backend call for one sampled batch.',
      labelNames: modelLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.shadowSkips = new Counter({ name: 'centaur_shadow_skipped_total', help: 'Sampled batches not shadowed, by reason (busy, failed).', labelNames: ['topology', 'node', 'reason'], registers });
    this.lag = new Gauge({
      name: 'centaur_kafka_consumer_lag',
      help: 'High watermark minus the next offset to read, per assigned partition.',
      labelNames: ['topology', 'node', 'topic', 'partition'],
      registers,
    });
    this.driftScore = new Gauge({
      name: 'centaur_drift_score',
      help: "A feature's drift score in the last closed window (a p-value or a distance, per method).",
      labelNames: ['topology', 'node', 'feature', 'method'],
      registers,
    });
    this.driftFeatureDetected = new Gauge({ name: 'centaur_drift_feature_detected', help: '1 when the feature drifted in the last closed window, else 0.', labelNames: ['topology', 'node', 'feature'], registers });
    this.driftDetected = new Gauge({
      name: 'centaur_drift_detected',
      help: "1 while the last closed window's dataset drift is detected, else 0.",
      labelNames: ['topology', 'node', 'model', 'version'],
      registers,
    });
    this.driftShare = new Gauge({ name: 'centaur_drift_share', help: 'Share of drifted feature columns in the last closed window.', labelNames: ['topology', 'node', 'model', 'version'], registers });
    this.driftEmbedding = new Gauge({
      name: 'centaur_drift_embedding_distance',
      help: 'Embedding drift of the last closed window: Euclidean (method distance) and cosine distance between the reference and window centroids.',
      labelNames: ['topology', 'node', 'distance'],
      registers,
    });
    this.driftWindows = new Counter({ name: 'centaur_drift_windows_total', help: 'Drift windows closed, by outcome (drift, no_drift).', labelNames: ['topology', 'node', 'outcome'], registers });
    this.driftLateInputs = new Counter({ name: 'centaur_drift_late_inputs_total', help: 'Inputs that reached a drift node after all their windows had closed (left out of the statistics).', labelNames: ['topology', 'node'], registers });
    this.retrainRequests = new Counter({
      name: 'centaur_retrain_requests_total',
      help: 'Retrain requests from the drift trigger, by outcome (sent, suppressed by the cooldown).',
      labelNames: ['topology', 'node', 'model', 'version', 'outcome'],
      registers,
    });
    this.cacheLookupCounter = new Counter({
      name: 'centaur_cache_lookups_total',
      help: 'Cache lookups, by outcome (hit, miss, bypass: Redis unavailable).',
      labelNames: ['topology', 'node', 'outcome'],
      registers,
    });
    this.cacheStoreCounter = new Counter({
      name: 'centaur_cache_stores_total',
      help: 'Predictions written to the cache, by outcome (ok, error: Redis failed or unavailable).',
      labelNames: ['topology', 'node', 'outcome'],
      registers,
    });
    this.inferenceServerRetries = new Counter({
      name: 'centaur_inference_server_retries_total',
      help: 'Requests to an inference server tried again, by the error of the failed attempt.',
      labelNames: ['topology', 'node', 'server', 'code'],
      registers,
    });
    this.inferenceServerCircuitOpen = new Gauge({
      name: 'centaur_inference_server_circuit_open',
      help: 'Whether the circuit breaker towards an inference server is open (1: requests fail fast or wait for a trial call) or closed (0).',
      labelNames: ['topology', 'node', 'server'],
      registers,
    });
    this.pauses.inc(t, 0);
  }

  /** Records a closed drift window of `node`: gauges, counters and the live summary. */
  private recordDriftWindow(node: string, f: DriftWindowFigures): void {
    const topology = this.topology;
    const previous = this.driftByNode.get(node);
    if (previous !== undefined && (previous.model !== f.model || previous.version !== f.version)) {
      this.driftDetected.remove({ topology, node, model: previous.model, version: previous.version });
      this.driftShare.remove({ topology, node, model: previous.model, version: previous.version });
    }
    for (const c of f.columns) {
      this.driftScore.set({ topology, node, feature: c.feature, method: c.method }, Number.isFinite(c.score) ? c.score : Number.NaN);
      this.driftFeatureDetected.set({ topology, node, feature: c.feature }, c.drifted ? 1 : 0);
    }
    const modelLabels = { topology, node, model: f.model, version: f.version };
    if (f.dataset !== null) {
      this.driftDetected.set(modelLabels, f.dataset.drifted ? 1 : 0);
      this.driftShare.set(modelLabels, f.dataset.share);
    }
    if (f.embedding !== null) {
      this.driftEmbedding.set({ topology, node, distance: 'euclidean' }, f.embedding.score);
      this.driftEmbedding.set({ topology, node, distance: 'cosine' }, f.embedding.cosineDistance);
    }
    const drifted = f.dataset?.drifted === true;
    this.driftWindows.inc({ topology, node, outcome: drifted ? 'drift' : 'no_drift' });
    this.driftByNode.set(node, {
      node,
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
    });
  }

  /** The last drift window of every drift node, for the live summary (null without drift nodes). */
  driftSummary(): DriftSummary | null {
    if (this.driftByNode.size === 0) return null;
    return { nodes: [...this.driftByNode.values()] };
  }

  /** The bound recorder a node's component reports into. */
  forNode(node: string): NodeMetrics {
    const topology = this.topology;
    const size = this.batchSize.labels({ topology, node });
    const fill = this.batchFill.labels({ topology, node });
    const wait = this.batchWait.labels({ topology, node });
    return {
      batch: (n, max, waitSeconds) => {
        size.observe(n);
        const ratio = max > 0 ? Math.min(1, n / max) : 1;
        fill.observe(ratio);
        wait.observe(waitSeconds);
        this.window.batches += 1;
        this.window.fillSum += ratio;
      },
      inference: (model, version, images, seconds) => {
        const labels = { topology, node, model, version };
        this.inferenceBatch.observe(labels, seconds);
        if (images > 0) this.inferenceImage.observe(labels, seconds / images);
        this.inferenceImages.inc(labels, images);
      },
      modelVersion: (model, version) => {
        const previous = this.models.get(node);
        if (previous !== undefined) this.modelInfo.remove({ topology, node, ...previous });
        this.models.set(node, { model, version });
        this.modelInfo.set({ topology, node, model, version }, 1);
      },
      consumerLag: (topic, partition, lag) => {
        this.lag.set({ topology, node, topic, partition: String(partition) }, lag);
        this.lagValues.set(`${node}\u0000${topic}\u0000${partition}`, lag);
      },
      shadowCompared: (model, version, agreed, disagreed, seconds) => {
        this.shadowPredictions.inc({ topology, node, model, version, outcome: 'agree' }, agreed);
        this.shadowPredictions.inc({ topology, node, model, version, outcome: 'disagree' }, disagreed);
        this.shadowSeconds.observe({ topology, node, model, version }, seconds);
      },
      shadowSkipped: (reason) => this.shadowSkips.inc({ topology, node, reason }),
      driftWindow: (figures) => this.recordDriftWindow(node, figures),
      driftLate: (count) => this.driftLateInputs.inc({ topology, node }, count),
      retrainRequest: (model, version, outcome) => {
        this.retrainRequests.inc({ topology, node, model, version, outcome });
        const status = this.driftByNode.get(node);
        if (status !== undefined && outcome === 'sent') this.driftByNode.set(node, { ...status, retrainRequests: status.retrainRequests + 1 });
      },
      cacheLookups: (outcome, count) => this.cacheLookupCounter.inc({ topology, node, outcome }, count),
      cacheStores: (outcome, count) => this.cacheStoreCounter.inc({ topology, node, outcome }, count),
      inferenceServerRetry: (server, code) => this.inferenceServerRetries.inc({ topology, node, server, code }),
      inferenceServerCircuit: (server, open) => this.inferenceServerCircuitOpen.set({ topology, node, server }, open ? 1 : 0),
      forgetPartition: (topic, partition) => {
        this.lag.remove({ topology, node, topic, partition: String(partition) });
        this.lagValues.delete(`${node}\u0000${topic}\u0000${partition}`);
      },
    };
  }

  /** A per-node processing-time recorder for the runtime's hot path. */
  nodeTimer(node: string, kind: string): HistogramChild {
    return this.nodeProcessing.labels({ topology: this.topology, node, kind });
  }

  /** An input finished: its latencies in seconds (its outcome is counted by the runtime). */
  inputCompleted(endToEndSeconds: number, processingSeconds: number): void {
    if (endToEndSeconds >= 0) this.endToEnd.observe(endToEndSeconds);
    this.processing.observe(processingSeconds);
  }

  /** A dead letter was written for a failure at `node` with error `code`. */
  deadLetter(node: string, code: string): void {
    this.deadLetters.inc({ topology: this.topology, node, reason: code });
  }

  /** The in-flight limits paused the sources. */
  backpressurePaused(): void {
    this.pauses.inc({ topology: this.topology });
  }

  /** A position commit of `node` finished. */
  commit(node: string, ok: boolean, seconds: number): void {
    this.commits.inc({ topology: this.topology, node, outcome: ok ? 'ok' : 'error' });
    this.commitSeconds.observe({ topology: this.topology, node }, seconds);
  }

  /** The model version of each infer node, for the status API. */
  modelVersions(): { node: string; model: string; version: string }[] {
    return [...this.models].map(([node, m]) => ({ node, ...m }));
  }

  /** Summed consumer lag over every assigned partition, or null without Kafka sources. */
  totalLag(): number | null {
    if (this.lagValues.size === 0) return null;
    let sum = 0;
    for (const v of this.lagValues.values()) sum += v;
    return sum;
  }

  /** Mean batch fill since the last call (null when no batch closed), for per-second summaries. */
  takeBatchFill(): number | null {
    const { batches, fillSum } = this.window;
    this.window = { batches: 0, fillSum: 0 };
    return batches === 0 ? null : fillSum / batches;
  }

  /**
   * Renders every family, as OpenMetrics when asked. prom-client renames counters in place while
   * it renders OpenMetrics, so renders run one at a time and the names are restored after each.
   */
  render(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const next = this.renderChain.then(async () => {
      if (!openMetrics) return { contentType: PROMETHEUS_CONTENT_TYPE, body: await this.registry.metrics() };
      const metrics = this.registry.getMetricsAsArray() as unknown as { name: string }[];
      const names = metrics.map((m) => m.name);
      this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      try {
        return { contentType: OPENMETRICS_CONTENT_TYPE, body: await this.registry.metrics() };
      } finally {
        this.registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
        metrics.forEach((m, i) => (m.name = names[i] as string));
      }
    });
    this.renderChain = next.catch(() => undefined);
    return next;
  }
}
