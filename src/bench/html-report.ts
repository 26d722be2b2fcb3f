/**
 * `centaur bench … --html <file>`: a result as one self-contained HTML page — a horizontal bar chart
 * (inline SVG: the median as a bar, the runs' min–max as a whisker) and the text table under it — to
 * open in a browser or attach to a report. No scripts, no outside resources.
 */
import type { Figures } from './figures.js';

/** One bar: its label and figures (null: not measured, listed without a bar). */
export type ChartRow = readonly [label: string, figures: Figures | null];

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The page: `title`, a chart of `rows` in `unit`, and `text` (the terminal table) below. */
export function htmlReport(title: string, unit: string, rows: readonly ChartRow[], text: string): string {
  const measured = rows.filter((r): r is readonly [string, Figures] => r[1] !== null);
  const top = Math.max(1, ...measured.map(([, f]) => f.max));
  const labelWidth = 520;
  const barWidth = 360;
  const rowHeight = 26;
  const x = (v: number): number => labelWidth + (v / top) * barWidth;
  const bars = rows
    .map(([label, f], i) => {
      const y = 10 + i * rowHeight;
      const name = `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escape(label)}</text>`;
      if (f === null) return `${name}<text x="${labelWidth + 4}" y="${y + 16}" class="muted">not measured</text>`;
      return (
        `${name}<rect x="${labelWidth}" y="${y + 4}" width="${(x(f.median) - labelWidth).toFixed(1)}" height="${rowHeight - 10}" class="bar"/>` +
        `<line x1="${x(f.min).toFixed(1)}" x2="${x(f.max).toFixed(1)}" y1="${y + 12}" y2="${y + 12}" class="whisker"/>` +
        `<text x="${(x(f.max) + 6).toFixed(1)}" y="${y + 16}">${f.median.toPrecision(4)}</text>`
      );
    })
    .join('\n');
  const height = 20 + rows.length * rowHeight;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
svg text { font-size: 12px; fill: #222; } svg .muted { fill: #888; }
.bar { fill: #4a78b5; } .whisker { stroke: #222; stroke-width: 2; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }
</style></head>
<body>
<h1>${escape(title)}</h1>
<p>Median of the runs (bar) and their range (whisker), ${escape(unit)}.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 80}" height="${height}" role="img" aria-label="${escape(title)}">
${bars}
</svg>
<pre>${escape(text)}</pre>
</body></html>
`;
}
