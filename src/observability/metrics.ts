/**
 * Centaur's Prometheus metrics (prom-client): one registry per running topology with every family
 * in docs/METRICS.md, the Node.js default metrics, and rendering in the Prometheus text format or
 * OpenMetrics. Labels are bound once per node so the hot path does no label lookups.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RegistryContentType } from 'prom-client';
import { LATENCY_BUCKETS } from '../core/metric-family.js';
import type { LabelValues, MetricFamily, NodeMetrics, StatusChannel } from '../core/metric-family.js';
import { DRIFT_STATUS } from '../drift-monitor/drift-metrics.js';
import { LABELS_STATUS } from '../training-set/labels-status.js';
import type { DriftSummary, LabelsSummary } from './api-types.js';
import { FastHistogram } from './fast-histogram.js';
import type { HistogramChild } from './fast-histogram.js';

export { LATENCY_BUCKETS };

/**
 * Families of components that the status API reads (by name, as a Prometheus query would); a test
 * checks that a component declares each with these labels.
 */
export const STATUS_FAMILIES = {
  /** Gauge, value 1 for the model version each infer node runs; labels model, version. */
  modelInfo: 'centaur_model_info',
  /** Gauge per assigned partition; labels topic, partition. */
  consumerLag: 'centaur_kafka_consumer_lag',
  /** Histogram of batch size over maximum batch size. */
  batchFill: 'centaur_batch_fill_ratio',
} as const;

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
  totals(): {
    readonly completed: number;
    readonly deadLetters: number;
    readonly correct: number;
    readonly labelled: number;
    /** Per class: inputs labelled with it, predictions of it among labelled inputs, correct ones. */
    readonly perClass?: ReadonlyMap<string, { readonly labelled: number; readonly predicted: number; readonly correct: number }>;
  };
}

/** Short-window figures for the status API, kept beside the Prometheus families. */
interface WindowStats {
  count: number;
  sum: number;
}

export class CentaurMetrics {
  readonly registry = new Registry<RegistryContentType>();
  private readonly topology: string;
  private readonly endToEnd: HistogramChild;
  private readonly processing: HistogramChild;
  private readonly nodeProcessing: FastHistogram;
  private readonly pauses: Counter;
  private readonly deadLetters: Counter;
  private readonly commits: Counter;
  private readonly commitSeconds: Histogram;
  /** The families components declared, by name. */
  private readonly families = new Map<string, { readonly family: MetricFamily; readonly metric: Counter | Gauge | Histogram }>();
  /** The current value of each gauge series, by family name, then node and label values. */
  private readonly gaugeValues = new Map<string, Map<string, { node: string; labels: Record<string, string>; value: number }>>();
  /** Observations of each component histogram since the last `takeMean`. */
  private readonly histogramWindows = new Map<string, WindowStats>();
  /** The last status of each node, by channel. */
  private readonly statuses = new Map<string, Map<string, unknown>>();
  private renderChain: Promise<unknown> = Promise.resolve();

  constructor(topology: string, version: string, nodes: readonly NodeCountSource[], gauges: RuntimeGaugeSource, families: readonly MetricFamily[] = []) {
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
    for (const [name, help, field] of [
      ['centaur_class_labelled_total', 'Labelled predictions by true class (the model\'s classes, `other` for a label outside them): recall = correct / labelled.', 'labelled'],
      ['centaur_class_predicted_total', 'Labelled predictions by predicted class: precision = correct / predicted.', 'predicted'],
      ['centaur_class_correct_total', 'Correct labelled predictions by class.', 'correct'],
    ] as const) {
      new Counter({
        name,
        help,
        labelNames: ['topology', 'class'],
        registers,
        collect() {
          this.reset();
          for (const [cls, counts] of gauges.totals().perClass ?? new Map<string, { labelled: number; predicted: number; correct: number }>()) this.inc({ topology, class: cls }, counts[field]);
        },
      });
    }
    this.endToEnd = new FastHistogram('centaur_end_to_end_latency_seconds', "From an input's event time to its last sink acknowledgement.", ['topology'], LATENCY_BUCKETS, this.registry).labels(t);
    this.processing = new FastHistogram('centaur_processing_latency_seconds', 'From admission by the source to the last sink acknowledgement.', ['topology'], LATENCY_BUCKETS, this.registry).labels(t);
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
    this.commitSeconds = new Histogram({ name: 'centaur_source_commit_seconds', help: 'Time one position commit took.', labelNames: ['topology', 'node'], buckets: [...LATENCY_BUCKETS], registers });
    this.pauses.inc(t, 0);
    for (const family of families) this.family(family);
  }

  /** The prom-client metric of a declared family, created on first use; one name, one shape. */
  private family(family: MetricFamily): Counter | Gauge | Histogram {
    const known = this.families.get(family.name);
    if (known !== undefined) {
      const same = known.family.type === family.type && known.family.labels.join() === family.labels.join();
      if (!same) throw new Error(`metric family ${family.name} is declared twice with different types or labels`);
      return known.metric;
    }
    const config = { name: family.name, help: family.help, labelNames: ['topology', 'node', ...family.labels], registers: [this.registry] };
    const metric =
      family.type === 'counter' ? new Counter(config) : family.type === 'gauge' ? new Gauge(config) : new Histogram({ ...config, buckets: [...family.buckets] });
    this.families.set(family.name, { family, metric });
    return metric;
  }

  /** The recorder a node's component reports into: its declared families, labels `topology` and `node` bound. */
  forNode(node: string): NodeMetrics {
    const topology = this.topology;
    const series = <L extends string>(labels: LabelValues<L>): Record<string, string> => ({ topology, node, ...(labels as Record<string, string>) });
    const keyOf = (labels: Record<string, string>): string => Object.values(labels).join('\u0000');
    return {
      counter: (family) => {
        const counter = this.family(family) as Counter;
        return { inc: (labels, value = 1) => counter.inc(series(labels), value) };
      },
      gauge: (family) => {
        const gauge = this.family(family) as Gauge;
        const current = this.gaugeValues.get(family.name) ?? new Map<string, { node: string; labels: Record<string, string>; value: number }>();
        this.gaugeValues.set(family.name, current);
        return {
          set: (labels, value) => {
            const all = series(labels);
            gauge.set(all, value);
            current.set(keyOf(all), { node, labels: { ...(labels as Record<string, string>) }, value });
          },
          remove: (labels) => {
            const all = series(labels);
            gauge.remove(all);
            current.delete(keyOf(all));
          },
        };
      },
      histogram: (family) => {
        const histogram = this.family(family) as Histogram;
        const window = this.histogramWindows.get(family.name) ?? { count: 0, sum: 0 };
        this.histogramWindows.set(family.name, window);
        return {
          observe: (labels, value) => {
            histogram.observe(series(labels), value);
            window.count += 1;
            window.sum += value;
          },
        };
      },
      publish: <T>(channel: StatusChannel<T>, status: T) => {
        const byNode = this.statuses.get(channel.name) ?? new Map<string, unknown>();
        this.statuses.set(channel.name, byNode);
        byNode.set(node, status);
      },
    };
  }

  /** The current series of a component gauge family: node, its own labels, value. */
  private gaugeSeries(name: string): { node: string; labels: Record<string, string>; value: number }[] {
    return [...(this.gaugeValues.get(name)?.values() ?? [])];
  }

  /** The statuses nodes published on `channel`, in node order of first publication. */
  private published<T>(channel: StatusChannel<T>): T[] {
    return [...(this.statuses.get(channel.name)?.values() ?? [])] as T[];
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
    return this.gaugeSeries(STATUS_FAMILIES.modelInfo)
      .filter((s) => s.value === 1)
      .map((s) => ({ node: s.node, model: s.labels.model ?? '', version: s.labels.version ?? '' }));
  }

  /** Summed consumer lag over every assigned partition, or null without Kafka sources. */
  totalLag(): number | null {
    const series = this.gaugeSeries(STATUS_FAMILIES.consumerLag);
    return series.length === 0 ? null : series.reduce((sum, s) => sum + s.value, 0);
  }

  /** Mean batch fill since the last call (null when no batch closed), for per-second summaries. */
  takeBatchFill(): number | null {
    const window = this.histogramWindows.get(STATUS_FAMILIES.batchFill);
    if (window === undefined || window.count === 0) return null;
    const mean = window.sum / window.count;
    window.count = 0;
    window.sum = 0;
    return mean;
  }

  /** The last drift window of every drift node, for the live summary (null without drift nodes). */
  driftSummary(): DriftSummary | null {
    const nodes = this.published(DRIFT_STATUS);
    return nodes.length === 0 ? null : { nodes };
  }

  /** The training set of every `training-set-sink`, for the live summary (null without one). */
  labelsSummary(): LabelsSummary | null {
    const nodes = this.published(LABELS_STATUS);
    return nodes.length === 0 ? null : { nodes };
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
