/**
 * A Prometheus histogram for the per-input hot path. prom-client's histogram validates and
 * hashes the labels on every observation, even through a bound child; at tens of thousands of
 * inputs a second that is measurable. Here each label set is bound once to a plain accumulator
 * (bucket counts, sum, count) and the registry reads it at scrape time through prom-client's
 * metric interface (`get()`), so an observation is a bucket search and three additions.
 */
import type { Metric, Registry, RegistryContentType } from 'prom-client';

/** One rendered sample, in the shape prom-client's registry reads from a metric's `get()`. */
export interface HistogramSample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One label set's accumulator. */
export interface HistogramChild {
  /** Records one value. */
  observe(value: number): void;
  /** Records the same value `n` times (e.g. one write's duration for each envelope it carried). */
  observeMany(value: number, n: number): void;
}

class Accumulator implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.observeMany(value, 1);
  }

  observeMany(value: number, n: number): void {
    if (!Number.isFinite(value) || n <= 0) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i += 1;
    (this.counts as { [index: number]: number })[i] = (this.counts[i] as number) + n;
    this.sum += value * n;
    this.count += n;
  }
}

export class FastHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly children = new Map<string, Accumulator>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry<RegistryContentType>,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The accumulator of one label set (created once, then reused). */
  labels(labels: Readonly<Record<string, string>>): HistogramChild {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let child = this.children.get(key);
    if (child === undefined) {
      child = new Accumulator({ ...labels }, this.bounds);
      this.children.set(key, child);
    }
    return child;
  }

  /** What prom-client renders: cumulative buckets, sum and count per label set. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: HistogramSample[]; aggregator: 'sum' }> {
    const values: HistogramSample[] = [];
    for (const child of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i += 1) {
        cumulative += child.counts[i] as number;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...child.labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...child.labels }, value: child.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...child.labels }, value: child.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Zeroes every observation (the registry's resetMetrics); bound children stay valid. */
  reset(): void {
    for (const child of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
