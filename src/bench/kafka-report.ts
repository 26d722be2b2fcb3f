/** The kafka scenario's result as a terminal table and as Markdown (`--markdown`). */
import type { Figures } from './figures.js';
import type { ChartRow } from './html-report.js';
import type { KafkaBenchResult } from './kafka-scenario.js';
import type { LatencyFigures } from './latency.js';

const fmt = (f: Figures, digits = 0): string => `${f.median.toFixed(digits)} [${f.min.toFixed(digits)}–${f.max.toFixed(digits)}]`;
const ms = (l: LatencyFigures): string => `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.count} frames)`;

function rows(r: KafkaBenchResult): [string, string][] {
  const s = r.settings;
  const skipped = `skipped: ${r.pythonSkipped ?? ''}`;
  return [
    [`decode per core, decoder: ${s.decoder}`, fmt(r.decodePerCore)],
    ['decode per core, Pillow draft + BILINEAR (reference)', r.referenceDecodePerCore === null ? 'skipped: no Python with Pillow' : fmt(r.referenceDecodePerCore)],
    [`onnxruntime alone, batch ${s.batch}, ${s.inferThreads} threads`, fmt(r.inference)],
    [`ceiling on ${r.cores} cores: 1 / (1/(cores × best decode) + 1/inference)`, fmt(r.ceiling)],
    ['raw Kafka copy loop (Python, confluent-kafka)', r.copyLoop === null ? skipped : fmt(r.copyLoop)],
    ['plain Python consumer: confluent-kafka + Pillow draft + onnxruntime', r.python === null ? skipped : fmt(r.python)],
    [`Centaur: kafka-source → decode → micro-batch → infer → kafka-sink (${s.client})`, fmt(r.centaur)],
    ['Centaur ÷ ceiling', fmt(r.ofCeiling, 2)],
    ['Centaur ÷ plain Python consumer', r.overPython === null ? skipped : fmt(r.overPython, 2)],
  ];
}

function footer(r: KafkaBenchResult): string[] {
  const lines = [`peak RSS of the Centaur process ${r.peakRssMiB.toFixed(0)} MiB`];
  if (r.paced !== null) lines.push(`paced at ${r.paced.rate.toFixed(1)} frames/s for ${r.paced.seconds} s: latency capture → prediction appended ${ms(r.paced.latencyMs)}`);
  if (r.knee !== null) {
    const k = r.knee;
    const probes = k.probes.map((p) => `${p.rate.toFixed(1)}/s → p95 ${p.p95Ms} ms${p.passed ? '' : ' ✗'}`).join('; ');
    lines.push(
      k.rate === null
        ? `knee: no probed rate kept p95 under ${k.boundMs} ms (${probes})`
        : `knee: ${k.rate.toFixed(1)} frames/s with p95 under ${k.boundMs} ms = ${((k.ofSaturated ?? 0) * 100).toFixed(0)} % of saturated throughput${k.latencyMs === null ? '' : `; ${ms(k.latencyMs)}`} (probes: ${probes})`,
    );
  }
  return lines;
}

function title(r: KafkaBenchResult): string {
  const s = r.settings;
  return `kafka: ${r.images} frames 640×480 JPEG (${s.format}) on ${s.partitions} partitions → JSON predictions, ${r.runs} runs`;
}

/** The plain-text table for the terminal. */
export function kafkaText(r: KafkaBenchResult): string {
  const lines = [`${title(r)}: median images/s [min–max], timed by the broker's append times`];
  const table = rows(r);
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, figures] of table) lines.push(`  ${name.padEnd(width)}  ${figures}`);
  for (const line of footer(r)) lines.push(`  ${line}`);
  return `${lines.join('\n')}\n`;
}

/** The Markdown table. */
export function kafkaMarkdown(r: KafkaBenchResult): string {
  const lines = [`### ${title(r)}`, '', '| measured | images/s, median [min–max] |', '|---|---|'];
  for (const [name, figures] of rows(r)) lines.push(`| ${name} | ${figures} |`);
  lines.push('', ...footer(r).map((l) => `- ${l}`));
  return `${lines.join('\n')}\n`;
}

/** The bars of the HTML chart (images/s). */
export function kafkaChart(r: KafkaBenchResult): ChartRow[] {
  return [
    [`decode per core, ${r.settings.decoder}`, r.decodePerCore],
    ['decode per core, Pillow draft (reference)', r.referenceDecodePerCore],
    ['onnxruntime alone', r.inference],
    ['ceiling', r.ceiling],
    ['plain Python consumer', r.python],
    ['Centaur', r.centaur],
  ];
}
