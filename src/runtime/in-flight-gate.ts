/**
 * Bounds what is in flight: counts envelopes and bytes between emission and completion, asks the
 * sources to pause above the high-water mark and to resume below the low-water mark.
 */
export interface GateLimits {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Resume when both count and bytes are below this fraction of their limits. */
  readonly lowWaterRatio: number;
}

export class InFlightGate {
  private count = 0;
  private bytes = 0;
  private paused = false;
  private peakCount = 0;
  private peakBytes = 0;

  constructor(
    private readonly limits: GateLimits,
    private readonly onPause: () => void,
    private readonly onResume: () => void,
  ) {}

  /** An envelope entered the graph. */
  add(bytes: number): void {
    this.count += 1;
    this.bytes += bytes;
    this.peakCount = Math.max(this.peakCount, this.count);
    this.peakBytes = Math.max(this.peakBytes, this.bytes);
    if (!this.paused && (this.count >= this.limits.maxCount || this.bytes >= this.limits.maxBytes)) {
      this.paused = true;
      this.onPause();
    }
  }

  /** An envelope completed (acknowledged or dead-lettered). */
  remove(bytes: number): void {
    this.count -= 1;
    this.bytes -= bytes;
    const low = this.limits.lowWaterRatio;
    if (this.paused && this.count <= this.limits.maxCount * low && this.bytes <= this.limits.maxBytes * low) {
      this.paused = false;
      this.onResume();
    }
  }

  /** Current and peak figures, for metrics and tests. */
  get stats(): { count: number; bytes: number; peakCount: number; peakBytes: number; paused: boolean } {
    return { count: this.count, bytes: this.bytes, peakCount: this.peakCount, peakBytes: this.peakBytes, paused: this.paused };
  }
}
