/** The clients scenario's result as a terminal table and as Markdown (`--markdown`). */
import type { ClientsBenchResult } from './clients-scenario.js';
import type { Figures } from './figures.js';
import type { ChartRow } from './html-report.js';

const fmt = (f: Figures | null, digits = 0): string => (f === null ? '—' : `${f.median.toFixed(digits)} [${f.min.toFixed(digits)}–${f.max.toFixed(digits)}]`);

const HEADER = ['client', 'librdkafka', 'pipeline images/s', 'relay frames/s', 'relay ÷ Python copy loop', 'peak RSS MiB'];

function table(r: ClientsBenchResult): string[][] {
  const rows = r.rows.map((row) => [row.client, row.librdkafka ?? '—', fmt(row.pipeline), fmt(row.relay), fmt(row.relayOverCopyLoop, 2), row.peakRssMiB.toFixed(0)]);
  rows.push(['Python copy loop (confluent-kafka)', '', '', r.copyLoop === null ? `skipped: ${r.pythonSkipped ?? ''}` : fmt(r.copyLoop), '', '']);
  return rows;
}

function title(r: ClientsBenchResult): string {
  const s = r.settings;
  return `clients: ${r.images} frames 640×480 JPEG (${s.format}) on ${s.partitions} partitions, batch ${s.batch}, ${s.inferThreads} inference threads, ${r.runs} runs`;
}

/** The plain-text table for the terminal. */
export function clientsText(r: ClientsBenchResult): string {
  const rows = [HEADER, ...table(r)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const lines = [`${title(r)}: median [min–max], timed by the broker's append times`];
  for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`);
  lines.push(`  recommended: client: ${r.recommended}`);
  return `${lines.join('\n')}\n`;
}

/** The Markdown table. */
export function clientsMarkdown(r: ClientsBenchResult): string {
  const lines = [`### ${title(r)}`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const row of table(r)) lines.push(`| ${row.join(' | ')} |`);
  lines.push('', `Recommended: \`client: ${r.recommended}\`.`);
  return `${lines.join('\n')}\n`;
}

/** The bars of the HTML chart: each client's pipeline and relay rates. */
export function clientsChart(r: ClientsBenchResult): ChartRow[] {
  return [...r.rows.flatMap((row): ChartRow[] => [[`${row.client}: pipeline`, row.pipeline], [`${row.client}: relay`, row.relay]]), ['Python copy loop', r.copyLoop]];
}
