/**
 * The reference profile: what a model version's training or validation data looked like, stored as
 * JSON beside the model (manifest field `referenceProfile`). For each feature it holds what both
 * window modes compare against: a bounded uniform sample of the values (`evidently` mode), the
 * histogram over Sturges edges of all the reference values (`streaming` mode) and, for
 * categorical features, the category counts (both modes); for embeddings, the centroid.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DriftInputError } from '../drift/errors.js';
import { sturgesEdges } from '../drift/histogram.js';
import { CategoryCountsState } from '../drift/state/category-counts-state.js';
import { HistogramState } from '../drift/state/histogram-state.js';
import { ReservoirState } from '../drift/state/reservoir-state.js';
import type { Category, CategoryValue, NumericValue } from '../drift/types.js';
import { IMAGE_FEATURES, outputFeatures } from './features.js';
import { checkCalibration } from './thresholds.js';
import type { ProfileCalibration } from './thresholds.js';
import type { FeatureSpec } from './features.js';

/** The format marker and version of the file. */
export const PROFILE_FORMAT = 'centaur-drift-profile';
export const PROFILE_VERSION = 2;
/** Versions this Centaur reads (1: before calibration). */
export const READABLE_PROFILE_VERSIONS: readonly number[] = [1, 2];
/** Reference values kept per numerical feature by default (above it, a uniform sample). */
export const DEFAULT_PROFILE_SAMPLE = 5000;

/** A numerical feature of the profile. */
export interface NumericalProfileFeature {
  readonly kind: 'numerical';
  readonly integer: boolean;
  /** Non-missing reference values, and missing ones. */
  readonly count: number;
  readonly missing: number;
  /** All values while count ≤ sampleSize, else a uniform sample of sampleSize of them (`evidently` mode). */
  readonly sample: readonly number[];
  /** Sturges edges over all reference values and the counts between them (`streaming` mode). */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

/** A categorical feature of the profile: counts of each category, as [category, count] pairs. */
export interface CategoricalProfileFeature {
  readonly kind: 'categorical';
  readonly count: number;
  readonly missing: number;
  readonly categories: readonly (readonly [Category, number])[];
}

export type ProfileFeature = NumericalProfileFeature | CategoricalProfileFeature;

/** The whole profile file. */
export interface ReferenceProfile {
  readonly format: typeof PROFILE_FORMAT;
  /** 2 (this release); 1 for profiles written before calibration, still read. */
  readonly version: 1 | 2;
  readonly createdAt: string;
  /** The model version whose outputs the profile holds, or null for image features only. */
  readonly model: { readonly name: string; readonly version: string } | null;
  /** Class names in output order (names the `probability.<class>` features). */
  readonly classes: readonly string[];
  /** Rows (images) the profile was built from. */
  readonly rows: number;
  readonly sampleSize: number;
  readonly features: Readonly<Record<string, ProfileFeature>>;
  /** Centroid of the reference embeddings, or null when there were none. */
  readonly embedding: { readonly dimension: number; readonly count: number; readonly mean: readonly number[] } | null;
  /**
   * The model's accuracy on the rows that carried a true label (absent when none did): the
   * baseline of the retrain trigger's `on: accuracy`.
   */
  readonly accuracy?: { readonly labelled: number; readonly correct: number };
  /** Thresholds calibrated on reference rows held out of it (`centaur drift profile`), when it has them. */
  readonly calibration?: ProfileCalibration;
}

/** One reference row: feature values by name, and the embedding when there is one. */
export interface ProfileRow {
  /** The input's id, when the reader knows one (an image's path under its folder). */
  readonly id?: string;
  readonly values: Readonly<Record<string, NumericValue | CategoryValue>>;
  readonly embedding?: ArrayLike<number>;
  /** The row's true label, when known, and the model's top class: they make the profile's accuracy. */
  readonly label?: string;
  readonly predicted?: string;
}

/** Options of {@link buildReferenceProfile}. */
export interface BuildProfileOptions {
  readonly model?: { readonly name: string; readonly version: string; readonly classes: readonly string[] };
  /** Class names when no model is named (the `probability.<class>` features of JSONL records). */
  readonly classes?: readonly string[];
  /** Columns beyond Centaur's features (other fields of JSONL records), profiled the same way. */
  readonly extraFeatures?: readonly FeatureSpec[];
  readonly sampleSize?: number;
  /** Seed of the reservoir when the reference exceeds the sample size. */
  readonly seed?: number;
  readonly createdAt?: Date;
}

/**
 * The features a profile may hold: image features and model outputs (`class`, `confidence`, one
 * probability per class name). A profile keeps those that had values, so a profile of images
 * without a model holds image features only.
 */
export function profileFeatureSpecs(classes: readonly string[] | undefined): FeatureSpec[] {
  return [...IMAGE_FEATURES, ...outputFeatures(classes ?? [])];
}

/** The features a profile file holds, with their kinds as stored; why: older profiles lack newer features (e.g. `saturation`). */
export function featuresOfProfile(profile: ReferenceProfile): FeatureSpec[] {
  return Object.entries(profile.features).map(([name, f]) => ({ name, kind: f.kind, integer: f.kind === 'numerical' ? f.integer : false }));
}

/** Builds a profile from reference rows; why: the reference every window is compared with. */
export function buildReferenceProfile(rows: readonly ProfileRow[], options: BuildProfileOptions = {}): ReferenceProfile {
  if (rows.length === 0) throw new DriftInputError('a reference profile needs at least one row');
  const sampleSize = options.sampleSize ?? DEFAULT_PROFILE_SAMPLE;
  const classes = options.model?.classes ?? options.classes ?? [];
  const features: Record<string, ProfileFeature> = {};
  for (const spec of [...profileFeatureSpecs(classes), ...(options.extraFeatures ?? [])]) {
    const values = rows.map((r) => r.values[spec.name]);
    if (spec.kind === 'categorical') {
      const counts = new CategoryCountsState();
      counts.addAll(values as CategoryValue[]);
      if (counts.count === 0) continue;
      const json = counts.toJSON();
      features[spec.name] = { kind: 'categorical', count: counts.count, missing: counts.missing, categories: json.counts };
      continue;
    }
    const numbers = (values as NumericValue[]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (numbers.length === 0) continue;
    const reservoir = new ReservoirState(sampleSize, options.seed ?? 1);
    reservoir.addAll(numbers);
    const histogram = new HistogramState(sturgesEdges(numbers, spec.integer));
    histogram.addAll(numbers);
    const h = histogram.toJSON();
    features[spec.name] = {
      kind: 'numerical',
      integer: spec.integer,
      count: numbers.length,
      missing: values.length - numbers.length,
      sample: [...reservoir.values],
      edges: h.edges,
      counts: h.counts,
    };
  }
  const vectors = rows.map((r) => r.embedding).filter((e): e is ArrayLike<number> => e !== undefined && e.length > 0);
  let embedding: ReferenceProfile['embedding'] = null;
  if (vectors.length > 0) {
    const dimension = vectors[0]!.length;
    const sum = new Float64Array(dimension);
    let count = 0;
    for (const v of vectors) {
      if (v.length !== dimension) throw new DriftInputError(`embeddings have different lengths (${dimension} and ${v.length})`);
      for (let i = 0; i < dimension; i += 1) sum[i]! += v[i]!;
      count += 1;
    }
    embedding = { dimension, count, mean: Array.from(sum, (s) => s / count) };
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    createdAt: (options.createdAt ?? new Date()).toISOString(),
    model: options.model === undefined ? null : { name: options.model.name, version: options.model.version },
    classes: [...classes],
    rows: rows.length,
    sampleSize,
    features,
    embedding,
    ...accuracyOf(rows),
  };
}

/** The accuracy over rows with both a true label and a prediction, or nothing when there are none. */
function accuracyOf(rows: readonly ProfileRow[]): { accuracy?: { labelled: number; correct: number } } {
  let labelled = 0;
  let correct = 0;
  for (const row of rows) {
    if (row.label === undefined || row.predicted === undefined) continue;
    labelled += 1;
    if (row.label === row.predicted) correct += 1;
  }
  return labelled === 0 ? {} : { accuracy: { labelled, correct } };
}

/** Checks a parsed profile's shape and version; why: a profile from disk or from another version must fail clearly. */
export function checkReferenceProfile(value: unknown, where = 'profile'): ReferenceProfile {
  const fail = (problem: string): never => {
    throw new DriftInputError(`${where}: ${problem}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not a JSON object');
  const p = value as Partial<ReferenceProfile>;
  if (p.format !== PROFILE_FORMAT) return fail(`format must be "${PROFILE_FORMAT}"`);
  if (!READABLE_PROFILE_VERSIONS.includes(p.version as number)) return fail(`version ${String(p.version)} is not supported (this Centaur reads versions ${READABLE_PROFILE_VERSIONS.join(' and ')})`);
  if (typeof p.features !== 'object' || p.features === null) return fail('features must be an object');
  if (!Array.isArray(p.classes)) return fail('classes must be an array');
  for (const [name, f] of Object.entries(p.features)) {
    if (f.kind === 'numerical') {
      HistogramState.fromJSON({ type: 'histogram', edges: f.edges, counts: f.counts, below: 0, above: 0, missing: 0, min: f.edges[0] ?? null, max: f.edges[f.edges.length - 1] ?? null });
      if (!Array.isArray(f.sample) || f.sample.length === 0 || !f.sample.every((v) => Number.isFinite(v))) fail(`feature ${name}: sample must hold finite numbers`);
    } else if (f.kind === 'categorical') {
      CategoryCountsState.fromJSON({ type: 'category-counts', counts: f.categories, missing: f.missing });
    } else {
      fail(`feature ${name}: kind must be numerical or categorical`);
    }
  }
  if (p.embedding !== null && p.embedding !== undefined) {
    if (!Array.isArray(p.embedding.mean) || p.embedding.mean.length !== p.embedding.dimension) fail('embedding.mean must have `dimension` components');
  }
  if (p.accuracy !== undefined) {
    const { labelled, correct } = p.accuracy;
    if (!Number.isInteger(labelled) || !Number.isInteger(correct) || labelled < 1 || correct < 0 || correct > labelled) fail('accuracy must be { labelled ≥ 1, correct ≤ labelled } in whole numbers');
  }
  if (p.calibration !== undefined) checkCalibration(p.calibration, where);
  return { ...(p as ReferenceProfile), embedding: p.embedding ?? null };
}

/** Reads and checks a profile file; why: the drift operator and the CLI load profiles from disk. */
export async function readReferenceProfile(file: string): Promise<ReferenceProfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DriftInputError(`cannot read reference profile ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DriftInputError(`${file}: not JSON: ${(error as Error).message}`);
  }
  return checkReferenceProfile(parsed, file);
}

/** Writes a profile as JSON; why: the CLI stores it beside the model version. */
export async function writeReferenceProfile(file: string, profile: ReferenceProfile): Promise<void> {
  await writeFile(file, `${JSON.stringify(profile)}\n`);
}
