/** The decode scenario's result as a terminal table and as Markdown (`--markdown`). */
import type { DecodeBenchResult } from './decode-scenario.js';
import type { Figures } from './figures.js';
import type { ChartRow } from './html-report.js';

const rate = (f: Figures): string => `${f.median.toFixed(0)} [${f.min.toFixed(0)}–${f.max.toFixed(0)}]`;

/** Rows of name, images/s and ratio to the reference. */
function rows(r: DecodeBenchResult): [string, string, string][] {
  const out: [string, string, string][] = r.paths.map((p) => [p.name, rate(p), p.ofReference === null ? '' : `${p.ofReference.toFixed(2)}×`]);
  out.push('skipped' in r.reference ? [r.reference.name, `skipped: ${r.reference.skipped}`, ''] : [r.reference.name, rate(r.reference), '1.00×']);
  return out;
}

/** The line on how far the two decoders' pixels are apart. */
function pixels(r: DecodeBenchResult): string {
  const d = r.pixelDifference;
  if (d === null) return '';
  return `jpeg-turbo vs sharp, same images: max |difference| ${d.max} of 255, mean ${d.mean.toFixed(3)}, ${(d.differing * 100).toFixed(1)} % of values differ`;
}

/** The plain-text table for the terminal. */
export function decodeText(r: DecodeBenchResult): string {
  const lines = [`decode: ${r.images} images, ${r.input}; ${r.runs} runs: median images/s per core [min–max], × the reference`];
  const table = rows(r);
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, figures, ratio] of table) lines.push(`  ${name.padEnd(width)}  ${figures.padStart(16)}  ${ratio}`);
  if (r.pixelDifference !== null) lines.push(`  ${pixels(r)}`);
  return `${lines.join('\n')}\n`;
}

/** The Markdown table. */
export function decodeMarkdown(r: DecodeBenchResult): string {
  const lines = [`### decode: ${r.images} images, ${r.input}, ${r.runs} runs`, '', '| path | images/s per core, median [min–max] | × reference |', '|---|---|---|'];
  for (const [name, figures, ratio] of rows(r)) lines.push(`| ${name} | ${figures} | ${ratio} |`);
  if (r.pixelDifference !== null) lines.push('', pixels(r));
  return `${lines.join('\n')}\n`;
}

/** The bars of the HTML chart (images/s per core). */
export function decodeChart(r: DecodeBenchResult): ChartRow[] {
  return [...r.paths.map((p): ChartRow => [p.name, p]), [r.reference.name, 'skipped' in r.reference ? null : r.reference]];
}
