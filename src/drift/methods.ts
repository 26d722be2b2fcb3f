/**
 * The registry of Evidently's data drift methods: display name, the column kinds each accepts,
 * default threshold, and which way the score is compared with the threshold. p-value methods drift
 * when the p-value is small — K-S when p ≤ threshold, chi-square and Z when p < threshold — and
 * distance methods when the distance is at least the threshold (score ≥ threshold).
 */
import { chiSquare } from './methods/chi-square.js';
import { jensenShannon } from './methods/jensen-shannon.js';
import { klDivergence } from './methods/kl-divergence.js';
import { kolmogorovSmirnov } from './methods/kolmogorov-smirnov.js';
import { psi } from './methods/psi.js';
import { wassersteinNormed } from './methods/wasserstein.js';
import { zTest } from './methods/z-test.js';
import type { CleanColumn, ColumnKind, DriftMethodId, MethodScore } from './types.js';

/** How a method's score is compared with its threshold to call drift. */
export type DriftComparison = 'p<=' | 'p<' | '>=';

/** One drift method: how Evidently names, applies and judges it. */
export interface DriftMethodSpec {
  readonly id: DriftMethodId;
  readonly displayName: string;
  /** The kinds the method may be asked for explicitly (Evidently's automatic choice can go beyond them). */
  readonly kinds: readonly ColumnKind[];
  readonly defaultThreshold: number;
  readonly comparison: DriftComparison;
  readonly compute: (column: CleanColumn) => MethodScore;
}

/** Every method, by Evidently's registered name. */
export const DRIFT_METHODS: Readonly<Record<DriftMethodId, DriftMethodSpec>> = {
  ks: {
    id: 'ks',
    displayName: 'K-S p_value',
    kinds: ['numerical'],
    defaultThreshold: 0.05,
    comparison: 'p<=',
    compute: kolmogorovSmirnov,
  },
  chisquare: {
    id: 'chisquare',
    displayName: 'chi-square p_value',
    kinds: ['categorical'],
    defaultThreshold: 0.05,
    comparison: 'p<',
    compute: chiSquare,
  },
  z: {
    id: 'z',
    displayName: 'Z-test p_value',
    kinds: ['categorical'],
    defaultThreshold: 0.05,
    comparison: 'p<',
    compute: zTest,
  },
  psi: {
    id: 'psi',
    displayName: 'PSI',
    kinds: ['categorical', 'numerical'],
    defaultThreshold: 0.1,
    comparison: '>=',
    compute: psi,
  },
  kl_div: {
    id: 'kl_div',
    displayName: 'Kullback-Leibler divergence',
    kinds: ['categorical', 'numerical'],
    defaultThreshold: 0.1,
    comparison: '>=',
    compute: klDivergence,
  },
  jensenshannon: {
    id: 'jensenshannon',
    displayName: 'Jensen-Shannon distance',
    kinds: ['categorical', 'numerical'],
    defaultThreshold: 0.1,
    comparison: '>=',
    compute: jensenShannon,
  },
  wasserstein: {
    id: 'wasserstein',
    displayName: 'Wasserstein distance (normed)',
    kinds: ['numerical'],
    defaultThreshold: 0.1,
    comparison: '>=',
    compute: wassersteinNormed,
  },
};

/** Whether a score means drift for this method at this threshold; why: the verdict rule differs per method. */
export function isDrifted(method: DriftMethodId, score: number, threshold: number): boolean {
  switch (DRIFT_METHODS[method].comparison) {
    case 'p<=':
      return score <= threshold;
    case 'p<':
      return score < threshold;
    case '>=':
      return score >= threshold;
  }
}

/** Whether a string names a method; why: validating options that come from topology files or reports. */
export function isDriftMethodId(value: string): value is DriftMethodId {
  return Object.prototype.hasOwnProperty.call(DRIFT_METHODS, value);
}
