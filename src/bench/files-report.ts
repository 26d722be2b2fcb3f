/** The files scenario's result as a terminal table and as Markdown (`--markdown`). */
import type { Figures } from './figures.js';
import type { ChartRow } from './html-report.js';
import type { FilesBenchResult } from './files-scenario.js';

const fmt = (f: Figures, digits = 0): string => `${f.median.toFixed(digits)} [${f.min.toFixed(digits)}–${f.max.toFixed(digits)}]`;

function rows(r: FilesBenchResult): [string, string][] {
  return [
    [`decode per core, decoder: ${r.settings.decoder}`, fmt(r.decodePerCore)],
    ['decode per core, Pillow draft + BILINEAR (reference)', r.referenceDecodePerCore === null ? 'skipped: no Python with Pillow' : fmt(r.referenceDecodePerCore)],
    [`onnxruntime alone, batch ${r.settings.batch}, ${r.settings.inferThreads} threads`, fmt(r.inference)],
    [`ceiling on ${r.cores} cores: 1 / (1/(cores × best decode) + 1/inference)`, fmt(r.ceiling)],
    ['end to end: files → decode → micro-batch → infer → files', fmt(r.endToEnd)],
    ['end to end ÷ ceiling', fmt(r.ofCeiling, 2)],
  ];
}

function footer(r: FilesBenchResult): string {
  const accuracy = r.accuracy === null ? '' : `, accuracy ${(r.accuracy * 100).toFixed(1)}%`;
  return `last run: latency p50 ${r.latencyMs.p50.toFixed(0)} ms, p95 ${r.latencyMs.p95.toFixed(0)} ms, p99 ${r.latencyMs.p99.toFixed(0)} ms; peak RSS ${r.peakRssMiB.toFixed(0)} MiB${accuracy}`;
}

/** The plain-text table for the terminal. */
export function filesText(r: FilesBenchResult): string {
  const lines = [`files: ${r.images} images 640×480 → 224², ${r.runs} runs: median images/s [min–max]`];
  const table = rows(r);
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, figures] of table) lines.push(`  ${name.padEnd(width)}  ${figures}`);
  lines.push(`  ${footer(r)}`);
  return `${lines.join('\n')}\n`;
}

/** The Markdown table. */
export function filesMarkdown(r: FilesBenchResult): string {
  const lines = [`### files: ${r.images} images 640×480 → 224², ${r.runs} runs`, '', '| measured | images/s, median [min–max] |', '|---|---|'];
  for (const [name, figures] of rows(r)) lines.push(`| ${name} | ${figures} |`);
  lines.push('', footer(r));
  return `${lines.join('\n')}\n`;
}

/** The bars of the HTML chart (images/s). */
export function filesChart(r: FilesBenchResult): ChartRow[] {
  return [
    [`decode per core, ${r.settings.decoder}`, r.decodePerCore],
    ['decode per core, Pillow draft (reference)', r.referenceDecodePerCore],
    ['onnxruntime alone', r.inference],
    ['ceiling', r.ceiling],
    ['end to end', r.endToEnd],
  ];
}
