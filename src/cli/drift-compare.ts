/**
 * `centaur drift compare --reference A --current B`: the data drift of two data sets, as Evidently's
 * DataDriftPreset reports it. A and B are each a folder of images or a JSONL file of feature records;
 * A may also be a reference profile. Every column shared by both goes through src/drift with all its
 * values (Evidently's automatic choice of method, its thresholds and verdicts, or the methods and
 * thresholds asked for), then dataset drift over those columns; the report is printed as a table
 * or as JSON, and the exit status says whether the dataset drifted (for CI pipelines).
 */
import { readFile, stat } from 'node:fs/promises';
import { columnDrift } from '../drift/column-drift.js';
import { categoricalDriftFromCounts } from '../drift/counts-drift.js';
import { DEFAULT_DRIFT_SHARE, summarizeDatasetDrift } from '../drift/dataset-drift.js';
import type { DatasetDriftSummary } from '../drift/dataset-drift.js';
import { embeddingDrift } from '../drift/embedding-drift.js';
import type { EmbeddingDriftResult } from '../drift/embedding-drift.js';
import { DriftInputError } from '../drift/errors.js';
import { DRIFT_METHODS, isDriftMethodId } from '../drift/methods.js';
import { checkReferenceProfile, featuresOfProfile, PROFILE_FORMAT } from '../drift-monitor/profile.js';
import type { ReferenceProfile } from '../drift-monitor/profile.js';
import type { FeatureSpec } from '../drift-monitor/features.js';
import type { Category, CategoryValue, ColumnDriftResult, DriftMethodId, NumericValue } from '../drift/types.js';
import { readDriftInput, splitList } from '../datasets/drift-input.js';
import type { DriftData, DriftInputOptions } from '../datasets/drift-input.js';
import type { DriftProfileIo } from './drift-profile.js';

/** Exit statuses of the command. */
export const COMPARE_EXIT = { noDrift: 0, drift: 1, invalid: 2 } as const;

/** The options as commander hands them over. */
export interface DriftCompareFlags {
  readonly reference: string;
  readonly current: string;
  readonly format: 'table' | 'json';
  readonly columns?: string;
  readonly categorical?: string;
  readonly method?: readonly string[];
  readonly threshold?: readonly string[];
  readonly driftShare?: string;
  readonly model?: string;
  readonly strict?: boolean;
}

/** One side of the comparison as the report describes it. */
export interface ComparedSource {
  readonly source: string;
  readonly kind: 'images' | 'jsonl' | 'profile';
  /** Images or records read (for a profile: the rows it was built from). */
  readonly rows: number;
  /** Images that could not be decoded, or JSONL lines skipped as bad. */
  readonly unreadable: number;
}

/** One column's result: Evidently's method, score, threshold and verdict. */
export type ComparedColumn = ColumnDriftResult & {
  readonly name: string;
  /** False when the reference is a profile whose sample holds fewer values than it was built from. */
  readonly exact: boolean;
};

/** The JSON the command prints with `--format json` (docs/DRIFT.md). */
export interface DriftComparison {
  readonly format: 'centaur-drift-comparison';
  readonly version: 1;
  readonly reference: ComparedSource;
  readonly current: ComparedSource;
  readonly columns: readonly ComparedColumn[];
  /** Columns left out, and why (only on one side, no values left on one side). */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  readonly embedding: EmbeddingDriftResult | null;
  readonly dataset: DatasetDriftSummary;
}

/** A side as read: a data set, or (reference only) a profile. */
type Side = { readonly kind: 'data'; readonly data: DriftData } | { readonly kind: 'profile'; readonly source: string; readonly profile: ReferenceProfile };

/** Per-column and default choices from `--method` / `--threshold`. */
interface Choices {
  readonly method: { all?: DriftMethodId; byColumn: Map<string, DriftMethodId> };
  readonly threshold: { all?: number; byColumn: Map<string, number> };
}

/** Reads a reference path: a profile file when it holds one, else images or JSONL. */
async function readSide(input: string, role: 'reference' | 'current', options: DriftInputOptions, io: DriftProfileIo): Promise<Side> {
  const info = await stat(input).catch(() => undefined);
  if (info === undefined) throw new DriftInputError(`--${role}: ${input} does not exist`);
  if (info.isFile() && !/\.(jsonl|ndjson)$/i.test(input)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(input, 'utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && (parsed as { format?: unknown }).format === PROFILE_FORMAT) {
      if (role === 'current') throw new DriftInputError(`--current: ${input} is a reference profile; give the current data as a folder of images or a JSONL file`);
      return { kind: 'profile', source: input, profile: checkReferenceProfile(parsed, input) };
    }
  }
  return { kind: 'data', data: await readDriftInput(input, options, io) };
}

function describe(side: Side): ComparedSource {
  if (side.kind === 'profile') return { source: side.source, kind: 'profile', rows: side.profile.rows, unreadable: 0 };
  return { source: side.data.source, kind: side.data.kind, rows: side.data.rows.length, unreadable: side.data.unreadable };
}

function featuresOf(side: Side): readonly FeatureSpec[] {
  return side.kind === 'profile' ? featuresOfProfile(side.profile) : side.data.features;
}

function parseChoices(methods: readonly string[], thresholds: readonly string[]): Choices {
  const choices: Choices = { method: { byColumn: new Map() }, threshold: { byColumn: new Map() } };
  for (const entry of methods.flatMap((m) => splitList(m) ?? [])) {
    const eq = entry.lastIndexOf('=');
    const id = eq < 0 ? entry : entry.slice(eq + 1);
    if (!isDriftMethodId(id)) throw new DriftInputError(`--method: unknown method \`${id}\` (one of ${Object.keys(DRIFT_METHODS).join(', ')})`);
    if (eq < 0) choices.method.all = id;
    else choices.method.byColumn.set(entry.slice(0, eq), id);
  }
  for (const entry of thresholds.flatMap((t) => splitList(t) ?? [])) {
    const eq = entry.lastIndexOf('=');
    const text = eq < 0 ? entry : entry.slice(eq + 1);
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new DriftInputError(`--threshold: \`${entry}\` is not a non-negative number`);
    if (eq < 0) choices.threshold.all = value;
    else choices.threshold.byColumn.set(entry.slice(0, eq), value);
  }
  return choices;
}

function valuesOf(data: DriftData, name: string): (NumericValue | CategoryValue)[] {
  return data.rows.map((r) => r.values[name]);
}

function countsOf(values: readonly CategoryValue[]): Map<Category, number> {
  const counts = new Map<Category, number>();
  for (const v of values) {
    if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

function centroid(rows: DriftData['rows']): { mean: number[]; count: number } | null {
  const vectors = rows.map((r) => r.embedding).filter((e): e is ArrayLike<number> => e !== undefined && e.length > 0);
  if (vectors.length === 0) return null;
  const dimension = vectors[0]!.length;
  const sum = new Float64Array(dimension);
  for (const v of vectors) {
    if (v.length !== dimension) throw new DriftInputError(`embeddings have different lengths (${dimension} and ${v.length})`);
    for (let i = 0; i < dimension; i += 1) sum[i]! += v[i]!;
  }
  return { mean: Array.from(sum, (s) => s / vectors.length), count: vectors.length };
}

/** Compares two sides; why: the report the command prints. Throws DriftInputError for what cannot be compared. */
function compareSides(reference: Side, current: Side & { kind: 'data' }, options: { readonly columns?: readonly string[]; readonly choices: Choices; readonly driftShare: number }): DriftComparison {
  const refFeatures = featuresOf(reference);
  const curFeatures = current.data.features;
  const skipped: { name: string; reason: string }[] = [];
  let names: string[];
  if (options.columns !== undefined) {
    const problems = options.columns.flatMap((c) => [
      ...(refFeatures.some((f) => f.name === c) ? [] : [`\`${c}\` has no values in the reference`]),
      ...(curFeatures.some((f) => f.name === c) ? [] : [`\`${c}\` has no values in the current data`]),
    ]);
    if (problems.length > 0) throw new DriftInputError(`--columns: ${problems.join('; ')}`);
    names = [...options.columns];
  } else {
    names = refFeatures.filter((f) => curFeatures.some((g) => g.name === f.name)).map((f) => f.name);
    for (const f of refFeatures) if (!names.includes(f.name)) skipped.push({ name: f.name, reason: 'not in the current data' });
    for (const f of curFeatures) if (!names.includes(f.name)) skipped.push({ name: f.name, reason: 'not in the reference' });
  }
  const { method, threshold } = options.choices;
  const unknown = [...method.byColumn.keys(), ...threshold.byColumn.keys()].filter((c) => !names.includes(c));
  if (unknown.length > 0) throw new DriftInputError(`--method/--threshold: ${[...new Set(unknown)].map((c) => `\`${c}\``).join(', ')} ${unknown.length === 1 ? 'is not a compared column' : 'are not compared columns'} (compared: ${names.join(', ')})`);

  const columns: ComparedColumn[] = [];
  for (const name of names) {
    const ref = refFeatures.find((f) => f.name === name)!;
    const cur = curFeatures.find((f) => f.name === name)!;
    if (ref.kind === 'numerical' && cur.kind === 'categorical') throw new DriftInputError(`column \`${name}\`: numbers in the reference, strings in the current data`);
    const kind = ref.kind;
    const asked = method.byColumn.get(name);
    if (asked !== undefined && !DRIFT_METHODS[asked].kinds.includes(kind)) throw new DriftInputError(`--method: ${asked} does not apply to ${kind} column \`${name}\``);
    const m = asked ?? (method.all !== undefined && DRIFT_METHODS[method.all].kinds.includes(kind) ? method.all : undefined);
    const t = threshold.byColumn.get(name) ?? threshold.all;
    const choice = { name, ...(m === undefined ? {} : { method: m }), ...(t === undefined ? {} : { threshold: t }) };
    const currentValues = valuesOf(current.data, name);
    try {
      if (reference.kind === 'profile') {
        const f = reference.profile.features[name]!;
        if (f.kind === 'categorical') {
          columns.push({ name, ...categoricalDriftFromCounts(new Map(f.categories.map(([c, n]) => [c, n])), countsOf(currentValues), choice), exact: true });
        } else {
          columns.push({ name, ...columnDrift({ kind: 'numerical', reference: f.sample, current: currentValues as NumericValue[], integer: f.integer }, choice), exact: f.sample.length === f.count });
        }
      } else {
        const referenceValues = valuesOf(reference.data, name);
        const result = kind === 'numerical'
          ? columnDrift({ kind, reference: referenceValues as NumericValue[], current: currentValues as NumericValue[], integer: ref.integer }, choice)
          : columnDrift({ kind, reference: referenceValues, current: currentValues }, choice);
        columns.push({ name, ...result, exact: true });
      }
    } catch (error) {
      if (!(error instanceof DriftInputError) || options.columns !== undefined) throw error;
      skipped.push({ name, reason: error.message });
    }
  }
  if (columns.length === 0) throw new DriftInputError(`no column to compare${skipped.length === 0 ? '' : ` (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`}`);

  let embedding: EmbeddingDriftResult | null = null;
  const refEmbedding = reference.kind === 'profile' ? reference.profile.embedding : centroid(reference.data.rows);
  const curEmbedding = centroid(current.data.rows);
  if (refEmbedding !== null && curEmbedding !== null) {
    if (refEmbedding.mean.length === curEmbedding.mean.length) embedding = embeddingDrift(refEmbedding, curEmbedding);
    else skipped.push({ name: 'embedding', reason: `dimensions differ (${refEmbedding.mean.length} and ${curEmbedding.mean.length})` });
  }
  return {
    format: 'centaur-drift-comparison',
    version: 1,
    reference: describe(reference),
    current: describe(current),
    columns,
    skipped,
    embedding,
    dataset: summarizeDatasetDrift(columns, options.driftShare),
  };
}

function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e6 ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

/** The readable report: a table of columns and a summary line; why: what a person reads in a terminal or CI log. */
export function formatComparison(c: DriftComparison): string {
  const side = (s: ComparedSource): string => `${s.source} (${s.kind}, ${s.rows} ${s.kind === 'images' ? 'images' : 'rows'}${s.unreadable > 0 ? `, ${s.unreadable} ${s.kind === 'images' ? 'unreadable' : 'bad lines skipped'}` : ''})`;
  const header = ['column', 'type', 'method', 'score', 'threshold', 'drifted'];
  const body = c.columns.map((col) => [col.name, col.kind, col.method, `${formatNumber(col.score)}${col.exact ? '' : '*'}`, formatNumber(col.threshold), col.drifted ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 3 || i === 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [`reference: ${side(c.reference)}`, `current:   ${side(c.current)}`, '', line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  if (c.columns.some((col) => !col.exact)) lines.push('* the reference profile keeps a sample of its values: the score is that of the sample');
  if (c.skipped.length > 0) lines.push('', ...c.skipped.map((s) => `skipped ${s.name}: ${s.reason}`));
  if (c.embedding !== null) {
    const e = c.embedding;
    lines.push('', `embedding: euclidean distance ${formatNumber(e.score)} (threshold ${formatNumber(e.threshold)}, cosine ${formatNumber(e.cosineDistance)}): ${e.drifted ? 'drifted' : 'not drifted'} (not counted in dataset drift)`);
  }
  const d = c.dataset;
  lines.push('', `dataset drift: ${d.datasetDrift ? 'YES' : 'no'} — ${d.numberOfDriftedColumns} of ${d.numberOfColumns} columns drifted (share ${formatNumber(d.shareOfDriftedColumns)}, drift when ≥ ${formatNumber(d.driftShare)})`);
  return lines.join('\n');
}

/** Runs the command; resolves with the exit status: 0 no dataset drift, 1 dataset drift, 2 usage or input error. */
export async function driftCompareCommand(flags: DriftCompareFlags, io: DriftProfileIo): Promise<number> {
  const fail = (message: string): number => {
    io.err(`centaur drift compare: ${message}`);
    return COMPARE_EXIT.invalid;
  };
  try {
    const driftShare = flags.driftShare === undefined ? DEFAULT_DRIFT_SHARE : Number(flags.driftShare);
    if (flags.driftShare !== undefined && (flags.driftShare.trim() === '' || !Number.isFinite(driftShare) || driftShare < 0 || driftShare > 1)) return fail(`--drift-share must be a number from 0 to 1, got ${JSON.stringify(flags.driftShare)}`);
    const choices = parseChoices(flags.method ?? [], flags.threshold ?? []);
    const columns = splitList(flags.columns);
    const base: DriftInputOptions = {
      strict: flags.strict === true,
      ...(columns === undefined ? {} : { columns }),
      ...(flags.categorical === undefined ? {} : { categorical: splitList(flags.categorical) ?? [] }),
    };
    // --model applies to folders of images; JSONL records hold the model outputs already.
    const optionsFor = async (input: string, extraColumns?: readonly string[]): Promise<DriftInputOptions> => {
      const folder = (await stat(input).catch(() => undefined))?.isDirectory() === true;
      return { ...base, ...(folder && flags.model !== undefined ? { model: flags.model } : {}), ...(extraColumns === undefined ? {} : { extraColumns }) };
    };
    const reference = await readSide(flags.reference, 'reference', await optionsFor(flags.reference), io);
    // The current side also reads the reference's other columns (fields of JSONL records).
    const extraColumns = reference.kind === 'profile' ? Object.keys(reference.profile.features) : reference.data.features.map((f) => f.name);
    const current = await readSide(flags.current, 'current', await optionsFor(flags.current, extraColumns), io);
    if (current.kind !== 'data') return fail('--current must be a folder of images or a JSONL file');
    if (current.data.rows.length === 0) return fail(`${flags.current}: nothing could be read`);
    if (reference.kind === 'data' && reference.data.rows.length === 0) return fail(`${flags.reference}: nothing could be read`);
    const report = compareSides(reference, { kind: 'data', data: current.data }, { ...(columns === undefined ? {} : { columns }), choices, driftShare });
    io.out(flags.format === 'json' ? JSON.stringify(report, null, 2) : formatComparison(report));
    return report.dataset.datasetDrift ? COMPARE_EXIT.drift : COMPARE_EXIT.noDrift;
  } catch (error) {
    const e = error as Error;
    return fail(error instanceof DriftInputError ? e.message : `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`);
  }
}
