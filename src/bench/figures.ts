/** The figures a benchmark reports for one measured thing over several runs: median and spread, and every run. */

export interface Figures {
  /** One figure per run, in run order. */
  readonly runs: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median, min and max of the runs (the median of an even count is the mean of the middle two). */
export function summarize(runs: readonly number[]): Figures {
  if (runs.length === 0) throw new RangeError('no runs to summarize');
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? (sorted[Math.floor(middle)] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { runs: [...runs], median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}
