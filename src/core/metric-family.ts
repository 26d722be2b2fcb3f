/**
 * Metrics a component declares about itself, next to its own code: a family is a Prometheus
 * counter, gauge or histogram with its name, help and the labels it adds. A spec lists the families
 * it records (`ComponentSpec.metrics`), so they are registered and documented before the first
 * input, and the component records into them through the `NodeMetrics` the runtime hands it (the
 * `topology` and `node` labels already bound). Core names no component's metric.
 */

/** The label values of one series, beyond `topology` and `node`. */
export type LabelValues<L extends string> = { readonly [K in L]: string };

interface FamilyBase<L extends string> {
  /** The full Prometheus name, e.g. `centaur_cache_lookups_total`. */
  readonly name: string;
  readonly help: string;
  /** The labels the family adds to `topology` and `node`, in order. */
  readonly labels: readonly L[];
}

export interface CounterFamily<L extends string = string> extends FamilyBase<L> {
  readonly type: 'counter';
}

export interface GaugeFamily<L extends string = string> extends FamilyBase<L> {
  readonly type: 'gauge';
}

export interface HistogramFamily<L extends string = string> extends FamilyBase<L> {
  readonly type: 'histogram';
  readonly buckets: readonly number[];
}

export type MetricFamily = CounterFamily | GaugeFamily | HistogramFamily;

/** Declares a counter family. */
export function counterFamily<const L extends string = never>(name: string, help: string, labels: readonly L[] = []): CounterFamily<L> {
  return { type: 'counter', name, help, labels };
}

/** Declares a gauge family. */
export function gaugeFamily<const L extends string = never>(name: string, help: string, labels: readonly L[] = []): GaugeFamily<L> {
  return { type: 'gauge', name, help, labels };
}

/** Declares a histogram family with its bucket bounds. */
export function histogramFamily<const L extends string = never>(name: string, help: string, buckets: readonly number[], labels: readonly L[] = []): HistogramFamily<L> {
  return { type: 'histogram', name, help, labels, buckets };
}

/** Latency buckets in seconds: sub-millisecond stages up to slow end-to-end paths. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface NodeCounter<L extends string> {
  inc(labels: LabelValues<L>, value?: number): void;
}

export interface NodeGauge<L extends string> {
  set(labels: LabelValues<L>, value: number): void;
  /** Drops the series (e.g. a partition no longer assigned, a model version replaced). */
  remove(labels: LabelValues<L>): void;
}

export interface NodeHistogram<L extends string> {
  observe(labels: LabelValues<L>, value: number): void;
}

/** A typed channel a node publishes its live status on (e.g. the last drift window), for the status API. */
export interface StatusChannel<T> {
  readonly name: string;
  /** Never set: carries the status type. */
  readonly __status?: T;
}

/** Declares a status channel. */
export function statusChannel<T>(name: string): StatusChannel<T> {
  return { name };
}

/** Where one node records its families (labels `topology` and `node` bound) and publishes its status. */
export interface NodeMetrics {
  counter<L extends string>(family: CounterFamily<L>): NodeCounter<L>;
  gauge<L extends string>(family: GaugeFamily<L>): NodeGauge<L>;
  histogram<L extends string>(family: HistogramFamily<L>): NodeHistogram<L>;
  /** Replaces the node's status on `channel`. */
  publish<T>(channel: StatusChannel<T>, status: T): void;
}

const nothing = { inc: () => undefined, set: () => undefined, remove: () => undefined, observe: () => undefined };

/** Records nothing: for components created outside a runtime. */
export const NO_METRICS: NodeMetrics = {
  counter: () => nothing,
  gauge: () => nothing,
  histogram: () => nothing,
  publish: () => undefined,
};
