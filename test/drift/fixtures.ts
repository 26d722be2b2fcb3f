/** Reads the fixtures scripts/drift-fixtures/generate.py writes with Evidently, and compares numbers as the tests require. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Category, ColumnData, DriftMethodId } from '../../src/drift/index.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/drift/', import.meta.url));

/** JSON cannot hold NaN or infinities: the generator writes them as strings. */
export type FixtureValue = number | string | null;

export interface FixtureSeries {
  readonly kind: 'numerical' | 'categorical';
  readonly reference: readonly FixtureValue[];
  readonly current?: readonly FixtureValue[];
  readonly currentSameAs?: string;
}

export interface FixtureColumn {
  readonly column: string;
  readonly series: string;
  readonly method: DriftMethodId | null;
  readonly threshold: number | null;
  readonly expected: {
    readonly method: DriftMethodId;
    readonly displayName: string;
    readonly score: number;
    readonly threshold: number;
    readonly drifted: boolean;
  };
}

export interface FixtureRun {
  readonly driftShare: number;
  readonly columns: readonly FixtureColumn[];
  readonly expected: {
    readonly numberOfColumns: number;
    readonly numberOfDriftedColumns: number;
    readonly shareOfDriftedColumns: number;
    readonly datasetDrift: boolean;
  };
}

export interface DriftFixture {
  readonly name: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly series: Readonly<Record<string, FixtureSeries>>;
  readonly runs: readonly FixtureRun[];
  readonly scipyKs: Readonly<Record<string, { readonly statistic: number; readonly pvalue: number }>>;
}

/** Reads one fixture file by name (without .json). */
export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURE_DIR}${name}.json`, 'utf8')) as T;
}

/** Every fixture with Evidently runs (the files that have `runs`). */
export function evidentlyFixtures(): DriftFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readFixture<Partial<DriftFixture>>(f.slice(0, -'.json'.length)))
    .filter((f): f is DriftFixture => Array.isArray(f.runs));
}

function decode(value: FixtureValue): number | Category | null {
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return value;
}

/** A series as the drift library's input (numerical strings decoded to NaN / ±Infinity). */
export function columnData(fixture: DriftFixture, seriesName: string): ColumnData {
  const series = fixture.series[seriesName]!;
  const current = series.current ?? fixture.series[series.currentSameAs!]!.current!;
  if (series.kind === 'numerical') {
    const num = (v: FixtureValue): number | null => decode(v) as number | null;
    return { kind: 'numerical', reference: series.reference.map(num), current: current.map(num) };
  }
  return { kind: 'categorical', reference: series.reference, current };
}

/** Relative error of got against expected (0 when equal, ∞ when expected is 0 and got is not). */
export function relativeError(got: number, expected: number): number {
  if (got === expected) return 0;
  return Math.abs(got - expected) / Math.abs(expected);
}

/** The agreement the drift library promises: 1e-9 relative, or 1e-12 absolute near zero; NaN equals NaN. */
export function agrees(got: number, expected: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(got);
  return Math.abs(got - expected) <= 1e-12 || relativeError(got, expected) <= 1e-9;
}
