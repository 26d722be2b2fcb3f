/** The drift scenario's result as a terminal table and as Markdown (`--markdown`, and docs/DRIFT.md). */
import type { Detection, DriftBenchResult } from './drift-scenario.js';
import type { ChartRow } from './html-report.js';

const pct = (n: number): string => n.toFixed(1);

function delay(d: Detection, episodes: number): string {
  if (d.median === null) return `missed ${episodes}/${episodes}`;
  const missed = d.missed === 0 ? '' : `, missed ${d.missed}/${episodes}`;
  return `${d.median} (max ${d.max ?? '–'}${missed})`;
}

function tables(r: DriftBenchResult): { title: string; header: string[]; rows: string[][] }[] {
  return [
    {
      title: `Stationary streams: alarms per 100 windows, all seeds together [largest of one seed] (${r.stationary[0]?.windows ?? 0} windows per row)`,
      header: ['mode', 'thresholds', 'window', 'dataset', 'embedding', 'outputs', 'any of dataset, embedding', 'each feature'],
      rows: r.stationary.map((s) => [
        s.mode,
        s.thresholds === 'calibrated' ? `calibrated (${r.calibration.falseAlarmRate * 100} %)` : s.thresholds === 'evidently' ? 'Evidently\'s fixed' : 'Jensen–Shannon 0.1 (before)',
        String(s.size),
        `${pct(s.pooled.dataset)} [${pct(s.max.dataset)}]`,
        `${pct(s.pooled.embedding)} [${pct(s.max.embedding)}]`,
        `${pct(s.pooled.outputs)} [${pct(s.max.outputs)}]`,
        `${pct(s.pooled.condition)} [${pct(s.max.condition)}]`,
        `${pct(s.pooled.perFeature)} [${pct(s.max.perFeature)}]`,
      ]),
    },
    {
      title: 'Retrain trigger on stationary windows (defaults: any of dataset, embedding; 3 windows in a row), calibrated',
      header: ['mode', 'window', 'windows', 'requests', 'episodes'],
      rows: r.trigger.map((t) => [t.mode, String(t.size), String(t.windows), String(t.requests), String(t.episodes)]),
    },
    {
      title: `Shifts, calibrated: windows until detected, median over episodes (max; missed within ${r.horizon}), and retrain requests per episode`,
      header: ['shift', 'mode', 'window', 'any of dataset, embedding', 'dataset', 'embedding', 'outputs', 'requests per episode'],
      rows: r.shifts.map((s) => [s.shift, s.mode, String(s.size), delay(s.condition, s.episodes), delay(s.dataset, s.episodes), delay(s.embedding, s.episodes), delay(s.outputs, s.episodes), `${s.requestsPerEpisode.toFixed(1)}${s.requestsBeforeShift === 0 ? '' : ` (+${s.requestsBeforeShift} before)`}`]),
    },
  ];
}

function heading(r: DriftBenchResult): string {
  return `drift: reference ${r.images.reference} images (${r.calibration.heldOut} held out to calibrate ${r.calibration.sizes.join(', ')}-input windows, ${r.calibration.windows} windows each, ${r.calibration.seconds.toFixed(1)} s), live pool ${r.images.pool}, ${r.images.shiftPool} per shift`;
}

/** The plain-text tables for the terminal. */
export function driftText(r: DriftBenchResult): string {
  const lines = [heading(r)];
  for (const t of tables(r)) {
    lines.push('', t.title);
    const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((row) => row[i]!.length)));
    lines.push(`  ${t.header.map((h, i) => h.padEnd(widths[i]!)).join('  ')}`);
    for (const row of t.rows) lines.push(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The Markdown tables. */
export function driftMarkdown(r: DriftBenchResult): string {
  const lines = [`### ${heading(r)}`];
  for (const t of tables(r)) {
    lines.push('', `**${t.title}**`, '', `| ${t.header.join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`);
    for (const row of t.rows) lines.push(`| ${row.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The chart rows: stationary alarms of the default condition per 100 windows. */
export function driftChart(r: DriftBenchResult): ChartRow[] {
  return r.stationary.map((s): ChartRow => [`${s.mode}, ${s.thresholds}, ${s.size}`, { runs: [s.pooled.condition], median: s.pooled.condition, min: s.pooled.condition, max: s.max.condition }]);
}
