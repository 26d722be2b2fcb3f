/**
 * Window state for embedding drift: the per-component sum of the vectors and their count, so the
 * window's mean (centroid) is known and partials merge by addition, whatever the rate. Both
 * embedding methods here (Evidently's `distance` and the centroid cosine distance) need only means.
 */
import { DriftInputError } from '../errors.js';

/** The plain-JSON form. */
export interface EmbeddingMeanStateJson {
  readonly type: 'embedding-mean';
  readonly dimension: number;
  readonly count: number;
  readonly sum: readonly number[];
}

/** Mergeable vector sum and count; why: embedding centroids per window, bounded by the dimension. */
export class EmbeddingMeanState {
  private sumVector: Float64Array;
  private n = 0;

  constructor(readonly dimension: number) {
    if (!Number.isSafeInteger(dimension) || dimension < 1) throw new DriftInputError('an embedding dimension is a positive integer');
    this.sumVector = new Float64Array(dimension);
  }

  /** A state read back from its JSON form, checked. */
  static fromJSON(json: EmbeddingMeanStateJson): EmbeddingMeanState {
    if (json.type !== 'embedding-mean') throw new DriftInputError(`expected an embedding-mean state, got ${String(json.type)}`);
    const state = new EmbeddingMeanState(json.dimension);
    if (!Array.isArray(json.sum) || json.sum.length !== json.dimension || !json.sum.every((v) => Number.isFinite(v))) {
      throw new DriftInputError('embedding-mean state: one finite sum per component');
    }
    if (!Number.isSafeInteger(json.count) || json.count < 0) throw new DriftInputError('embedding-mean state: count must be a non-negative integer');
    state.sumVector = Float64Array.from(json.sum);
    state.n = json.count;
    return state;
  }

  /** Adds one vector; a vector of another length or with a non-finite component is ignored and reported false. */
  add(vector: ArrayLike<number>): boolean {
    if (vector.length !== this.dimension) return false;
    for (let i = 0; i < vector.length; i += 1) if (!Number.isFinite(vector[i]!)) return false;
    for (let i = 0; i < vector.length; i += 1) this.sumVector[i]! += vector[i]!;
    this.n += 1;
    return true;
  }

  /** Adds another partial into this one and returns this. */
  merge(other: EmbeddingMeanState): this {
    if (other.dimension !== this.dimension) throw new DriftInputError('cannot merge embedding states of different dimensions');
    for (let i = 0; i < this.dimension; i += 1) this.sumVector[i]! += other.sumVector[i]!;
    this.n += other.n;
    return this;
  }

  /** Vectors added. */
  get count(): number {
    return this.n;
  }

  /** The mean vector (the centroid); empty states have none. */
  mean(): number[] {
    if (this.n === 0) throw new DriftInputError('an empty embedding state has no mean');
    return Array.from(this.sumVector, (s) => s / this.n);
  }

  /** The plain-JSON form, for Kafka partials. */
  toJSON(): EmbeddingMeanStateJson {
    return { type: 'embedding-mean', dimension: this.dimension, count: this.n, sum: Array.from(this.sumVector) };
  }
}
