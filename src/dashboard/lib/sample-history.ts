/**
 * The last few minutes of `summary` events as chart samples: one sample per event, kept in a ring
 * buffer, turned into aligned columns (time, then one array per series) for the charts.
 */
import { RingBuffer } from './ring-buffer.js';
import type { HistoryPoint } from './api-types.js';

/** The charted values of one summary; `null` where the server had none. */
export interface Sample {
  /** Seconds since the epoch. */
  readonly time: number;
  readonly inputs: number | null;
  readonly completed: number | null;
  readonly deadLetters: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly batchFill: number | null;
  readonly lag: number | null;
  /** The process: CPU (cores busy), resident and heap memory (bytes), event-loop delay p99 (seconds). */
  readonly cpu: number | null;
  readonly rss: number | null;
  readonly heap: number | null;
  readonly loopDelay: number | null;
  /** The GPUs, where the machine shows any: mean utilisation (0–1) and memory used (bytes, summed). */
  readonly gpuUtilization: number | null;
  readonly gpuMemory: number | null;
}

/** The names of the charted values. */
export type SeriesKey = Exclude<keyof Sample, 'time'>;

/** Aligned columns: times in seconds, then one array per requested series. */
export type Columns = [number[], ...(number | null)[][]];

/** The default window: five minutes of one-per-second summaries. */
export const WINDOW_SECONDS = 300;

/** The shortest time span a chart shows, so the first samples are not squeezed into a corner. */
export const MIN_SPAN_SECONDS = 60;

/**
 * The time range a chart shows for samples from `first` to `last` (seconds): it ends at the newest
 * sample and grows with the data from `minSpan` up to the window, then slides.
 */
export function visibleRange(first: number | undefined, last: number | undefined, windowSeconds = WINDOW_SECONDS, minSpan = MIN_SPAN_SECONDS): [number, number] {
  const end = last ?? Date.now() / 1000;
  const span = Math.min(windowSeconds, Math.max(minSpan, end - (first ?? end)));
  return [end - span, end];
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Extracts the charted values from a summary or a history point, turning missing or non-finite numbers into gaps. */
export function sampleOf(summary: HistoryPoint): Sample {
  const gpus = summary.gpus ?? [];
  return {
    time: summary.time / 1000,
    inputs: finiteOrNull(summary.throughput?.inputs),
    completed: finiteOrNull(summary.throughput?.completed),
    deadLetters: finiteOrNull(summary.throughput?.deadLetters),
    p50: finiteOrNull(summary.latencySeconds?.p50),
    p95: finiteOrNull(summary.latencySeconds?.p95),
    p99: finiteOrNull(summary.latencySeconds?.p99),
    batchFill: finiteOrNull(summary.batchFill),
    lag: finiteOrNull(summary.lag),
    cpu: finiteOrNull(summary.process?.cpuCores),
    rss: finiteOrNull(summary.process?.rssBytes),
    heap: finiteOrNull(summary.process?.heapUsedBytes),
    loopDelay: finiteOrNull(summary.process?.eventLoopDelaySeconds?.p99),
    gpuUtilization: gpus.length === 0 ? null : finiteOrNull(gpus.reduce((sum, g) => sum + g.utilization, 0) / gpus.length),
    gpuMemory: gpus.length === 0 ? null : finiteOrNull(gpus.reduce((sum, g) => sum + g.memoryUsedBytes, 0)),
  };
}

/** The samples of the last window, oldest first, with columns for the charts. */
export class SampleHistory {
  private readonly samples: RingBuffer<Sample>;

  /** Keeps at most `capacity` samples (a little more than the window, for late or extra events). */
  constructor(readonly windowSeconds = WINDOW_SECONDS, capacity = windowSeconds + 60) {
    this.samples = new RingBuffer<Sample>(capacity);
  }

  /** Number of samples held. */
  get size(): number {
    return this.samples.size;
  }

  /** The newest sample's time in seconds, or undefined when empty. */
  get latestTime(): number | undefined {
    return this.samples.at(-1)?.time;
  }

  /** Adds a sample; one not newer than the latest is ignored, so a replayed event is not drawn twice. */
  add(sample: Sample): boolean {
    const latest = this.latestTime;
    if (!Number.isFinite(sample.time) || (latest !== undefined && sample.time <= latest)) return false;
    this.samples.push(sample);
    return true;
  }

  /** Forgets every sample. */
  clear(): void {
    this.samples.clear();
  }

  /** Columns of the samples inside the window ending at the newest one, for a chart's data. */
  columns(keys: readonly SeriesKey[]): Columns {
    const latest = this.latestTime;
    const kept = latest === undefined ? [] : this.samples.toArray().filter((s) => s.time > latest - this.windowSeconds);
    const columns: Columns = [kept.map((s) => s.time)];
    for (const key of keys) columns.push(kept.map((s) => s[key]));
    return columns;
  }

  /** Whether any sample in the window has a value for `key`: a chart with none shows why instead. */
  hasValues(key: SeriesKey): boolean {
    const [, values] = this.columns([key]);
    return (values ?? []).some((v) => v !== null);
  }
}
