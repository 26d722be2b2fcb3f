/**
 * The end-to-end latencies of the most recently finished inputs, in a fixed ring (constant memory,
 * constant time per record), for the status API's "last 10 seconds" percentiles.
 */
export class RecentLatency {
  private readonly at: Float64Array;
  private readonly seconds: Float64Array;
  private next = 0;
  private size = 0;

  constructor(private readonly capacity = 10000) {
    this.at = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity);
  }

  /** Records a latency observed at monotonic time `atMs`. */
  record(atMs: number, seconds: number): void {
    this.at[this.next] = atMs;
    this.seconds[this.next] = seconds;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size += 1;
  }

  /** p50/p95/p99 (seconds) of the latencies recorded at or after `sinceMs`, or null when none. */
  quantiles(sinceMs: number): { p50: number; p95: number; p99: number } | null {
    const values: number[] = [];
    for (let i = 0; i < this.size; i += 1) if ((this.at[i] as number) >= sinceMs) values.push(this.seconds[i] as number);
    if (values.length === 0) return null;
    values.sort((a, b) => a - b);
    const q = (p: number): number => values[Math.min(values.length - 1, Math.max(0, Math.ceil(p * values.length) - 1))] as number;
    return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
  }
}
