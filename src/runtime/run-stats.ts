/**
 * What a run has done so far: totals of inputs by outcome, processing latency, recent end-to-end
 * latency, peak memory; and the summary printed when the run ends.
 */
import { performance } from 'node:perf_hooks';
import type { DeliveryState } from './delivery-state.js';
import { LatencyHistogram } from './latency-histogram.js';
import { RecentLatency } from './recent-latency.js';
import type { RunSummary } from './run-summary.js';

/** Totals of a run so far, for the status API. */
export interface RunTotals {
  readonly inputs: number;
  readonly completed: number;
  readonly predictions: number;
  readonly deadLetters: number;
  readonly correct: number;
  readonly labelled: number;
}

/** Counts, latencies and memory of one run. */
export class RunStats {
  private readonly totals = { inputs: 0, completed: 0, predictions: 0, deadLetters: 0, correct: 0, labelled: 0 };
  private readonly latency = new LatencyHistogram();
  private readonly recent = new RecentLatency();
  private startedAt = 0;
  private peakRss = 0;
  private rssTimer: NodeJS.Timeout | undefined;

  /** Marks the start of input and samples memory until `stopSampling`. */
  start(): void {
    this.startedAt = performance.now();
    this.rssTimer = setInterval(() => this.sampleRss(), 100);
    this.rssTimer.unref();
  }

  /** Stops the memory sampler. */
  stopSampling(): void {
    clearInterval(this.rssTimer);
  }

  /** Counts one input a source emitted. */
  admitted(): void {
    this.totals.inputs += 1;
  }

  /** Records a finished input at monotonic time `now`; returns its end-to-end and processing seconds. */
  finished(state: DeliveryState, now: number): { endToEndSeconds: number; processingSeconds: number } {
    const processingMs = now - state.receivedAt;
    this.latency.record(processingMs);
    const endToEndSeconds = (Date.now() - state.eventTime) / 1000;
    const t = this.totals;
    if (state.deadLettered_) {
      t.deadLetters += 1;
    } else {
      this.recent.record(now, endToEndSeconds);
      t.completed += 1;
      if (state.predicted) t.predictions += 1;
      if (state.labelled) {
        t.labelled += 1;
        if (state.correct) t.correct += 1;
      }
    }
    return { endToEndSeconds, processingSeconds: processingMs / 1000 };
  }

  /** Totals so far (a live view: read, do not keep). */
  get current(): RunTotals {
    return this.totals;
  }

  /** Seconds since the sources started (0 before). */
  uptimeSeconds(): number {
    return this.startedAt === 0 ? 0 : (performance.now() - this.startedAt) / 1000;
  }

  /** End-to-end latency quantiles (seconds) of inputs finished in the last `windowMs`, or null when none. */
  recentLatencySeconds(windowMs: number): { p50: number; p95: number; p99: number } | null {
    return this.recent.quantiles(performance.now() - windowMs);
  }

  /** The summary of the run as it ends. */
  summary(topology: string, peakInFlight: number, drainTimedOut: boolean): RunSummary {
    this.sampleRss();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const t = this.totals;
    return {
      topology,
      inputs: t.inputs,
      predictions: t.predictions,
      completed: t.completed,
      deadLetters: t.deadLetters,
      unfinished: t.inputs - t.completed - t.deadLetters,
      durationSeconds: seconds,
      imagesPerSecond: seconds > 0 ? t.inputs / seconds : 0,
      latencyMs: { p50: this.latency.quantile(0.5), p95: this.latency.quantile(0.95), p99: this.latency.quantile(0.99) },
      ...(t.labelled > 0 ? { accuracy: { correct: t.correct, labelled: t.labelled, ratio: t.correct / t.labelled } } : {}),
      peakRssBytes: this.peakRss,
      peakInFlight,
      drainTimedOut,
    };
  }

  private sampleRss(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }
}
