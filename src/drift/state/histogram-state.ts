/**
 * Window state for the `streaming` mode: counts over bin edges fixed from the reference, plus a bin
 * below the first edge and one above the last, the number of missing values, and min/max. Counts
 * are integers, so merging partials from many instances gives exactly the histogram one instance
 * would have built over all the values, in any order. Bins follow numpy: [eᵢ, eᵢ₊₁), the last closed.
 */
import { DriftInputError } from '../errors.js';
import { binIndex, sturgesEdges } from '../histogram.js';
import type { NumericValue } from '../types.js';

/** The plain-JSON form of a histogram state. */
export interface HistogramStateJson {
  readonly type: 'histogram';
  readonly edges: readonly number[];
  /** Counts of the bins between the edges. */
  readonly counts: readonly number[];
  /** Values below the first edge. */
  readonly below: number;
  /** Values above the last edge. */
  readonly above: number;
  /** null, undefined, NaN and ±Infinity: dropped, as Evidently drops them, but counted. */
  readonly missing: number;
  /** Smallest and largest value seen; null while empty. */
  readonly min: number | null;
  readonly max: number | null;
}

function checkEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new DriftInputError('a histogram needs at least two edges');
  for (let i = 0; i < edges.length; i += 1) {
    if (!Number.isFinite(edges[i]!)) throw new DriftInputError('histogram edges must be finite');
    if (i > 0 && !(edges[i]! > edges[i - 1]!)) throw new DriftInputError('histogram edges must increase strictly');
  }
}

function checkCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DriftInputError(`histogram state: ${what} must be a non-negative integer`);
  }
  return value;
}

/** A mergeable histogram over fixed edges; why: exact window statistics at any rate and across instances. */
export class HistogramState {
  readonly edges: readonly number[];
  private readonly binCounts: number[];
  private belowCount = 0;
  private aboveCount = 0;
  private missingCount = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;

  constructor(edges: readonly number[]) {
    checkEdges(edges);
    this.edges = [...edges];
    this.binCounts = new Array<number>(edges.length - 1).fill(0);
  }

  /** An empty state over the Sturges edges of the reference alone (missing values ignored). */
  static fromReference(reference: readonly NumericValue[], options: { readonly integer?: boolean } = {}): HistogramState {
    const clean = reference.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (clean.length === 0) throw new DriftInputError('the reference has no values once missing ones are dropped');
    return new HistogramState(sturgesEdges(clean, options.integer === true));
  }

  /** A state read back from its JSON form, checked. */
  static fromJSON(json: HistogramStateJson): HistogramState {
    if (json.type !== 'histogram') throw new DriftInputError(`expected a histogram state, got ${String(json.type)}`);
    const state = new HistogramState(json.edges);
    if (!Array.isArray(json.counts) || json.counts.length !== json.edges.length - 1) {
      throw new DriftInputError('histogram state: one count per bin');
    }
    json.counts.forEach((c, i) => (state.binCounts[i] = checkCount(c, 'each count')));
    state.belowCount = checkCount(json.below, 'below');
    state.aboveCount = checkCount(json.above, 'above');
    state.missingCount = checkCount(json.missing, 'missing');
    const total = state.count;
    if ((total === 0) !== (json.min === null && json.max === null)) {
      throw new DriftInputError('histogram state: min and max are null exactly when it holds no values');
    }
    if (total > 0) {
      if (typeof json.min !== 'number' || typeof json.max !== 'number' || !(json.min <= json.max)) {
        throw new DriftInputError('histogram state: min and max must be numbers with min ≤ max');
      }
      state.minValue = json.min;
      state.maxValue = json.max;
    }
    return state;
  }

  /** Counts one value. */
  add(value: NumericValue): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.missingCount += 1;
      return;
    }
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
    const first = this.edges[0]!;
    const last = this.edges[this.edges.length - 1]!;
    if (value < first) this.belowCount += 1;
    else if (value > last) this.aboveCount += 1;
    else this.binCounts[binIndex(value, this.edges)]! += 1;
  }

  /** Counts every value. */
  addAll(values: Iterable<NumericValue>): void {
    for (const v of values) this.add(v);
  }

  /** Adds another partial's counts into this one (edges must be identical) and returns this. */
  merge(other: HistogramState): this {
    if (other.edges.length !== this.edges.length || other.edges.some((e, i) => e !== this.edges[i])) {
      throw new DriftInputError('cannot merge histograms over different edges');
    }
    other.binCounts.forEach((c, i) => (this.binCounts[i]! += c));
    this.belowCount += other.belowCount;
    this.aboveCount += other.aboveCount;
    this.missingCount += other.missingCount;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
    return this;
  }

  /** Values counted, in range or not (missing ones excluded). */
  get count(): number {
    return this.binCounts.reduce((a, b) => a + b, 0) + this.belowCount + this.aboveCount;
  }

  /** Missing values seen. */
  get missing(): number {
    return this.missingCount;
  }

  /** Counts as [below, bin 0, …, bin k−1, above]: the vector the streaming methods compare. */
  countsWithOutOfRange(): number[] {
    return [this.belowCount, ...this.binCounts, this.aboveCount];
  }

  /** countsWithOutOfRange() divided by count; why: the shares PSI, KL and Jensen–Shannon take. */
  shares(): number[] {
    const total = this.count;
    if (total === 0) throw new DriftInputError('an empty histogram has no shares');
    return this.countsWithOutOfRange().map((c) => c / total);
  }

  /** The plain-JSON form, for Kafka partials and checkpoints. */
  toJSON(): HistogramStateJson {
    const empty = this.count === 0;
    return {
      type: 'histogram',
      edges: [...this.edges],
      counts: [...this.binCounts],
      below: this.belowCount,
      above: this.aboveCount,
      missing: this.missingCount,
      min: empty ? null : this.minValue,
      max: empty ? null : this.maxValue,
    };
  }
}
