/**
 * Embedding drift between a reference and a current centroid: Evidently's `distance` method with
 * its defaults (Euclidean distance between the mean vectors, drift when the distance is above 0.2;
 * no bootstrap, as when `bootstrap` is left unset), and the cosine distance between the centroids
 * (1 − u·v/(‖u‖‖v‖), scipy's `cosine`), reported beside it.
 */
import { DriftInputError } from './errors.js';
import { pairwiseSum } from './numeric/pairwise-sum.js';

/** Evidently's default threshold of the `distance` embedding method. */
export const EMBEDDING_DISTANCE_THRESHOLD = 0.2;

/** One window's embedding drift. */
export interface EmbeddingDriftResult {
  /** Evidently's method name. */
  readonly method: 'distance';
  readonly distance: 'euclidean';
  /** Euclidean distance between the reference and current centroids. */
  readonly score: number;
  readonly threshold: number;
  /** score > threshold, as Evidently compares. */
  readonly drifted: boolean;
  /** Cosine distance between the centroids (0 same direction, 1 orthogonal, 2 opposite). */
  readonly cosineDistance: number;
  readonly referenceSize: number;
  readonly currentSize: number;
}

/** Euclidean and cosine distances between two centroids, with Evidently's verdict; why: embedding drift per window. */
export function embeddingDrift(
  reference: { readonly mean: readonly number[]; readonly count: number },
  current: { readonly mean: readonly number[]; readonly count: number },
  threshold: number = EMBEDDING_DISTANCE_THRESHOLD,
): EmbeddingDriftResult {
  const u = reference.mean;
  const v = current.mean;
  if (u.length !== v.length || u.length === 0) throw new DriftInputError('embedding centroids must have the same, non-zero dimension');
  const score = Math.sqrt(pairwiseSum(u.map((x, i) => (x - v[i]!) ** 2)));
  const dot = pairwiseSum(u.map((x, i) => x * v[i]!));
  const norms = Math.sqrt(pairwiseSum(u.map((x) => x * x))) * Math.sqrt(pairwiseSum(v.map((x) => x * x)));
  const cosineDistance = norms === 0 ? Number.NaN : 1 - dot / norms;
  return {
    method: 'distance',
    distance: 'euclidean',
    score,
    threshold,
    drifted: score > threshold,
    cosineDistance,
    referenceSize: reference.count,
    currentSize: current.count,
  };
}
