/** The decode scenario's result as a terminal table and as Markdown (`--markdown`). */
import type { DecodeBenchResult } from './decode-scenario.js';
import type { Figures } from './figures.js';

const rate = (f: Figures): string => `${f.median.toFixed(0)} [${f.min.toFixed(0)}–${f.max.toFixed(0)}]`;

/** Rows of name, images/s and ratio to the reference. */
function rows(r: DecodeBenchResult): [string, string, string][] {
  const out: [string, string, string][] = r.paths.map((p) => [p.name, rate(p), p.ofReference === null ? '' : `${p.ofReference.toFixed(2)}×`]);
  out.push('skipped' in r.reference ? [r.reference.name, `skipped: ${r.reference.skipped}`, ''] : [r.reference.name, rate(r.reference), '1.00×']);
  return out;
}

/** The plain-text table for the terminal. */
export function decodeText(r: DecodeBenchResult): string {
  const lines = [`decode: ${r.images} images, ${r.input}; ${r.runs} runs: median images/s per core [min–max], × the reference`];
  const table = rows(r);
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, figures, ratio] of table) lines.push(`  ${name.padEnd(width)}  ${figures.padStart(16)}  ${ratio}`);
  return `${lines.join('\n')}\n`;
}

/** The Markdown table. */
export function decodeMarkdown(r: DecodeBenchResult): string {
  const lines = [`### decode: ${r.images} images, ${r.input}, ${r.runs} runs`, '', '| path | images/s per core, median [min–max] | × reference |', '|---|---|---|'];
  for (const [name, figures, ratio] of rows(r)) lines.push(`| ${name} | ${figures} | ${ratio} |`);
  return `${lines.join('\n')}\n`;
}
