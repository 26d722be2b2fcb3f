/**
 * `centaur bench files|kafka --sweep axis=v1,v2 …`: the pipeline under test at every combination of
 * the settings named (batch, max-delay, decode-concurrency, infer-threads), each measured `runs`
 * times; rows ranked by median images/s, the best one printed as the flags to use.
 */
import { summarize } from './figures.js';
import type { Figures } from './figures.js';
import type { ChartRow } from './html-report.js';

/** The settings a sweep can vary, by their flag names. */
export const SWEEP_AXES = { batch: 'batch', 'max-delay': 'maxDelayMs', 'decode-concurrency': 'decodeConcurrency', 'infer-threads': 'inferThreads' } as const;
export type SweepAxis = keyof typeof SWEEP_AXES;
export type PipelineSettings = { readonly [K in (typeof SWEEP_AXES)[SweepAxis]]: number };

/** One combination and what it measured. */
export interface SweepRow {
  readonly settings: PipelineSettings;
  readonly imagesPerSecond: Figures;
}

/** The sweep's result, as `--json` writes it. */
export interface SweepResult {
  readonly scenario: 'sweep';
  readonly of: 'files' | 'kafka';
  readonly images: number;
  readonly runs: number;
  readonly axes: Readonly<Partial<Record<SweepAxis, readonly number[]>>>;
  /** Best first. */
  readonly rows: readonly SweepRow[];
}

/** Parses `axis=v1,v2` flags; throws a message for the user on a bad one. */
export function parseSweep(flags: readonly string[]): Partial<Record<SweepAxis, number[]>> {
  const axes: Partial<Record<SweepAxis, number[]>> = {};
  for (const flag of flags) {
    const match = /^([a-z-]+)=([\d,]+)$/.exec(flag);
    const axis = match?.[1];
    if (match === null || axis === undefined || !(axis in SWEEP_AXES)) {
      throw new Error(`--sweep ${flag}: give axis=v1,v2,… with axis one of ${Object.keys(SWEEP_AXES).join(', ')}`);
    }
    const values = (match[2] ?? '').split(',').filter((v) => v !== '').map(Number);
    if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < (axis === 'max-delay' ? 0 : 1))) throw new Error(`--sweep ${flag}: values must be whole numbers`);
    axes[axis as SweepAxis] = [...new Set(values)];
  }
  return axes;
}

/** Every combination of the axes over `base`'s pipeline settings (only those: a scenario's other options stay out of the rows), in a stable order. */
export function combinations(base: PipelineSettings, axes: Partial<Record<SweepAxis, readonly number[]>>): PipelineSettings[] {
  const { batch, maxDelayMs, decodeConcurrency, inferThreads } = base;
  let out: PipelineSettings[] = [{ batch, maxDelayMs, decodeConcurrency, inferThreads }];
  for (const [axis, values] of Object.entries(axes) as [SweepAxis, readonly number[]][]) {
    const key = SWEEP_AXES[axis];
    out = out.flatMap((s) => values.map((v) => ({ ...s, [key]: v })));
  }
  return out;
}

/** Measures every combination `runs` times (interleaved, so a noisy moment falls on all alike) and ranks them. */
export async function runSweep(
  combos: readonly PipelineSettings[],
  runs: number,
  measure: (settings: PipelineSettings) => Promise<number>,
  onProgress?: (done: number, total: number) => void,
): Promise<SweepRow[]> {
  const rates = combos.map(() => [] as number[]);
  let done = 0;
  for (let run = 0; run < runs; run += 1) {
    for (const [i, settings] of combos.entries()) {
      rates[i]?.push(await measure(settings));
      onProgress?.((done += 1), runs * combos.length);
    }
  }
  return combos.map((settings, i) => ({ settings, imagesPerSecond: summarize(rates[i] ?? []) })).sort((a, b) => b.imagesPerSecond.median - a.imagesPerSecond.median);
}

/** The sweep as a table, best first, and the flags of the best row. */
export function sweepText(r: SweepResult): string {
  const lines = [`sweep of ${r.of}: ${r.images} images, ${r.runs} runs per setting: median images/s [min–max], best first`];
  const header = ['batch', 'max-delay', 'decode-concurrency', 'infer-threads', 'images/s'];
  const table = r.rows.map((row) => [
    String(row.settings.batch),
    String(row.settings.maxDelayMs),
    String(row.settings.decodeConcurrency),
    String(row.settings.inferThreads),
    `${row.imagesPerSecond.median.toFixed(1)} [${row.imagesPerSecond.min.toFixed(1)}–${row.imagesPerSecond.max.toFixed(1)}]`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  for (const row of [header, ...table]) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`);
  const best = r.rows[0];
  if (best !== undefined) {
    const s = best.settings;
    lines.push(`recommended: --batch ${s.batch} --max-delay ${s.maxDelayMs} --decode-concurrency ${s.decodeConcurrency} --infer-threads ${s.inferThreads} (micro-batch maxSize ${s.batch}, maxDelayMs ${s.maxDelayMs}; decode-image concurrency ${s.decodeConcurrency}; onnx intraOpNumThreads ${s.inferThreads})`);
  }
  return `${lines.join('\n')}\n`;
}

/** The sweep as Markdown. */
export function sweepMarkdown(r: SweepResult): string {
  const lines = [`### sweep of ${r.of}: ${r.images} images, ${r.runs} runs per setting`, '', '| batch | max-delay (ms) | decode-concurrency | infer-threads | images/s, median [min–max] |', '|---|---|---|---|---|'];
  for (const row of r.rows) {
    const s = row.settings;
    lines.push(`| ${s.batch} | ${s.maxDelayMs} | ${s.decodeConcurrency} | ${s.inferThreads} | ${row.imagesPerSecond.median.toFixed(1)} [${row.imagesPerSecond.min.toFixed(1)}–${row.imagesPerSecond.max.toFixed(1)}] |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The bars of the HTML chart (images/s), best first. */
export function sweepChart(r: SweepResult): ChartRow[] {
  return r.rows.map((row): ChartRow => {
    const s = row.settings;
    return [`batch ${s.batch}, max-delay ${s.maxDelayMs}, decode ${s.decodeConcurrency}, threads ${s.inferThreads}`, row.imagesPerSecond];
  });
}
