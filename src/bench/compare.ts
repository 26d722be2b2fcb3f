/**
 * `centaur bench compare A.json B.json`: two results of the same scenario side by side. Every
 * measured figure (an object with `median`, `min`, `max`) found in both is listed by its path,
 * with B's median over A's and whether their spreads overlap (overlapping ranges: the difference
 * is within the noise of the runs).
 */
import type { Figures } from './figures.js';

/** One figure present in both results. */
export interface ComparedFigure {
  readonly path: string;
  readonly a: Figures;
  readonly b: Figures;
  /** b.median / a.median. */
  readonly ratio: number;
  /** The [min, max] ranges overlap. */
  readonly overlaps: boolean;
}

function isFigures(value: unknown): value is Figures {
  const v = value as Partial<Figures> | null;
  return typeof v === 'object' && v !== null && typeof v.median === 'number' && typeof v.min === 'number' && typeof v.max === 'number';
}

function figuresOf(value: unknown, at: string, out: Map<string, Figures>): void {
  if (isFigures(value)) {
    out.set(at, value);
    return;
  }
  if (Array.isArray(value)) {
    // A list entry with a name (a decode path) is known by it, whatever its position.
    value.forEach((v, i) => {
      const name = (v as { name?: unknown } | null)?.name;
      figuresOf(v, `${at}[${typeof name === 'string' ? name : i}]`, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) figuresOf(v, at === '' ? key : `${at}.${key}`, out);
  }
}

/** The figures of `a` and `b` that both hold; refuses results of different scenarios. */
export function compareResults(a: unknown, b: unknown): ComparedFigure[] {
  const scenario = (r: unknown): unknown => (r as { scenario?: unknown } | null)?.scenario;
  if (scenario(a) === undefined || scenario(a) !== scenario(b)) {
    throw new Error(`results of different scenarios (${String(scenario(a))}, ${String(scenario(b))}): compare two results of one scenario`);
  }
  const left = new Map<string, Figures>();
  const right = new Map<string, Figures>();
  figuresOf(a, '', left);
  figuresOf(b, '', right);
  const out: ComparedFigure[] = [];
  for (const [path, fa] of left) {
    const fb = right.get(path);
    if (fb === undefined) continue;
    out.push({ path, a: fa, b: fb, ratio: fb.median / fa.median, overlaps: fa.min <= fb.max && fb.min <= fa.max });
  }
  return out;
}

/** The comparison as a table. */
export function compareText(rows: readonly ComparedFigure[], nameA: string, nameB: string): string {
  const fmt = (f: Figures): string => `${f.median.toPrecision(4)} [${f.min.toPrecision(4)}–${f.max.toPrecision(4)}]`;
  const table = rows.map((r) => [r.path, fmt(r.a), fmt(r.b), `${r.ratio.toFixed(3)}${r.overlaps ? ' (within spread)' : ''}`]);
  const header = ['figure', `A: ${nameA}`, `B: ${nameB}`, 'B ÷ A'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  return `${[header, ...table].map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')}\n`;
}
