/** What a finished (or stopped) run reports: counts, throughput, latency, accuracy, memory. */
export interface RunSummary {
  readonly topology: string;
  /** Inputs the sources emitted (including those the sources themselves failed). */
  readonly inputs: number;
  /** Inputs that reached their sinks with a prediction. */
  readonly predictions: number;
  /** Inputs acknowledged by every sink (with or without a prediction). */
  readonly completed: number;
  readonly deadLetters: number;
  /** Inputs still in flight when the run ended (non-zero only after a drain timeout). */
  readonly unfinished: number;
  readonly durationSeconds: number;
  readonly imagesPerSecond: number;
  /** Source emission to last acknowledgement, per input. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Predictions compared with ground-truth labels, when the source had labels. */
  readonly accuracy?: {
    readonly correct: number;
    readonly labelled: number;
    readonly ratio: number;
    /** Per class (the model's, and `other` for labels outside its list): counts, precision and recall. */
    readonly perClass?: Readonly<Record<string, { readonly labelled: number; readonly predicted: number; readonly correct: number; readonly precision: number | null; readonly recall: number | null }>>;
  };
  readonly peakRssBytes: number;
  readonly peakInFlight: number;
  readonly drainTimedOut: boolean;
}

/** Formats a summary as a few lines for people. */
export function formatSummary(s: RunSummary): string {
  const lines = [
    `topology ${s.topology}: ${s.inputs} inputs, ${s.predictions} predictions, ${s.deadLetters} dead letters in ${s.durationSeconds.toFixed(2)} s (${s.imagesPerSecond.toFixed(1)} images/s)`,
    `latency p50 ${s.latencyMs.p50.toFixed(1)} ms, p95 ${s.latencyMs.p95.toFixed(1)} ms, p99 ${s.latencyMs.p99.toFixed(1)} ms; peak RSS ${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB; peak in flight ${s.peakInFlight}`,
  ];
  if (s.accuracy !== undefined) {
    lines.push(`accuracy against labels: ${(s.accuracy.ratio * 100).toFixed(1)}% (${s.accuracy.correct}/${s.accuracy.labelled})`);
    const classes = Object.entries(s.accuracy.perClass ?? {});
    const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
    if (classes.length > 0 && classes.length <= 10) lines.push(`per class: ${classes.map(([name, c]) => `${name} precision ${pct(c.precision)} recall ${pct(c.recall)}`).join('; ')}`);
  }
  if (s.unfinished > 0) lines.push(`${s.unfinished} inputs were still in flight when the drain timed out; they will be read again on restart`);
  return lines.join('\n');
}
