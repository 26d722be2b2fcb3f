/** A log-bucketed latency histogram (≈2% relative precision) with constant memory, for percentiles. */
const GROWTH = 1.02;
const MIN_MS = 0.001;

export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private total = 0;
  private maxMs = 0;

  /** Records one duration in milliseconds. */
  record(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH));
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.total += 1;
    this.maxMs = Math.max(this.maxMs, ms);
  }

  /** Number of recorded durations. */
  get count(): number {
    return this.total;
  }

  /** The q-quantile (0..1) in milliseconds, or 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(this.maxMs, MIN_MS * GROWTH ** bucket);
    }
    return this.maxMs;
  }
}
