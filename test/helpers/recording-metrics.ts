/**
 * A NodeMetrics that keeps what a component records, for unit tests of the component: the sum of
 * each counter series, the value of each gauge series, each histogram's observations, and the
 * statuses published, all keyed by family name and label values.
 */
import type { LabelValues, NodeMetrics } from '../../src/core/metric-family.js';

export interface Recorded {
  readonly metrics: NodeMetrics;
  /** Counter sums by `name{label=value,…}`. */
  readonly counters: Map<string, number>;
  /** Current gauge values by `name{label=value,…}` (removed series are absent). */
  readonly gauges: Map<string, number>;
  /** Observations by `name{label=value,…}`. */
  readonly histograms: Map<string, number[]>;
  /** The last status published on each channel. */
  readonly statuses: Map<string, unknown>;
}

/** `name{a=x,b=y}` with labels in the family's order (`name` alone without labels). */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** A recorder and what it recorded. */
export function recordingMetrics(): Recorded {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  const histograms = new Map<string, number[]>();
  const statuses = new Map<string, unknown>();
  const key = <L extends string>(name: string, order: readonly L[], labels: LabelValues<L>): string =>
    seriesKey(name, Object.fromEntries(order.map((l) => [l, labels[l]])));
  const metrics: NodeMetrics = {
    counter: (family) => ({
      inc: (labels, value = 1) => {
        const k = key(family.name, family.labels, labels);
        counters.set(k, (counters.get(k) ?? 0) + value);
      },
    }),
    gauge: (family) => ({
      set: (labels, value) => void gauges.set(key(family.name, family.labels, labels), value),
      remove: (labels) => void gauges.delete(key(family.name, family.labels, labels)),
    }),
    histogram: (family) => ({
      observe: (labels, value) => {
        const k = key(family.name, family.labels, labels);
        histograms.set(k, [...(histograms.get(k) ?? []), value]);
      },
    }),
    publish: (channel, status) => void statuses.set(channel.name, status),
  };
  return { metrics, counters, gauges, histograms, statuses };
}
