/**
 * What a run has done so far: totals of inputs by outcome, processing latency, recent end-to-end
 * latency, peak memory; and the summary printed when the run ends.
 */
import { performance } from 'node:perf_hooks';
import type { DeliveryState } from './delivery-state.js';
import { LatencyHistogram } from './latency-histogram.js';
import { RecentLatency } from './recent-latency.js';
import type { RunSummary } from './run-summary.js';

/** The class a label outside the model's class list (a new class) is counted under. */
export const OTHER_CLASS = 'other';
/** Distinct classes counted at most; later ones count under {@link OTHER_CLASS} (bounded metric labels). */
export const MAX_COUNTED_CLASSES = 1000;

/** Labelled predictions of one class: inputs whose label is it, predictions of it among labelled inputs, and the correct ones. */
export interface ClassCounts {
  labelled: number;
  predicted: number;
  correct: number;
}

/** Totals of a run so far, for the status API. */
export interface RunTotals {
  readonly inputs: number;
  readonly completed: number;
  readonly predictions: number;
  readonly deadLetters: number;
  readonly correct: number;
  readonly labelled: number;
  /** Per class (precision = correct / predicted, recall = correct / labelled). */
  readonly perClass: ReadonlyMap<string, Readonly<ClassCounts>>;
}

/** Counts, latencies and memory of one run. */
export class RunStats {
  private readonly totals = { inputs: 0, completed: 0, predictions: 0, deadLetters: 0, correct: 0, labelled: 0, perClass: new Map<string, ClassCounts>() };
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
        if (state.trueClass !== undefined) this.countClass(state.trueClass).labelled += 1;
        if (state.predictedClass !== undefined) this.countClass(state.predictedClass).predicted += 1;
        if (state.correct && state.trueClass !== undefined) this.countClass(state.trueClass).correct += 1;
      }
    }
    return { endToEndSeconds, processingSeconds: processingMs / 1000 };
  }

  /** The counts of a class, created on first use (beyond {@link MAX_COUNTED_CLASSES}, those of `other`). */
  private countClass(name: string): ClassCounts {
    const map = this.totals.perClass;
    const key = map.has(name) || map.size < MAX_COUNTED_CLASSES ? name : OTHER_CLASS;
    let counts = map.get(key);
    if (counts === undefined) {
      counts = { labelled: 0, predicted: 0, correct: 0 };
      map.set(key, counts);
    }
    return counts;
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
      ...(t.labelled > 0 ? { accuracy: { correct: t.correct, labelled: t.labelled, ratio: t.correct / t.labelled, perClass: perClassFigures(t.perClass) } } : {}),
      peakRssBytes: this.peakRss,
      peakInFlight,
      drainTimedOut,
    };
  }

  private sampleRss(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }
}

/** Precision and recall per class from the counts (null where undefined: nothing predicted, or no label of it). */
export function perClassFigures(counts: ReadonlyMap<string, Readonly<ClassCounts>>): Record<string, { labelled: number; predicted: number; correct: number; precision: number | null; recall: number | null }> {
  const out: Record<string, { labelled: number; predicted: number; correct: number; precision: number | null; recall: number | null }> = {};
  for (const [name, c] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    out[name] = { ...c, precision: c.predicted === 0 ? null : c.correct / c.predicted, recall: c.labelled === 0 ? null : c.correct / c.labelled };
  }
  return out;
}
