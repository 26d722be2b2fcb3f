/**
 * Drift from counts rather than values: categorical columns from category counts (Evidently's
 * methods and automatic choice, which need nothing more than counts), and numerical columns in
 * `streaming` mode from histograms over the reference's fixed bins plus the two out-of-range bins.
 */
import { SMALL_REFERENCE_MAX } from './auto-method.js';
import { fillZeroes } from './binning.js';
import { comparePython } from './categories.js';
import { DriftInputError } from './errors.js';
import { DRIFT_METHODS, isDrifted } from './methods.js';
import { chiSquareFromCounts } from './methods/chi-square.js';
import { ksFromBinnedCounts } from './methods/binned-ks.js';
import { jensenShannonFromShares } from './methods/jensen-shannon.js';
import { klFromShares } from './methods/kl-divergence.js';
import { psiFromShares } from './methods/psi.js';
import { zTestFromCounts } from './methods/z-test.js';
import type { Category, ColumnDriftResult, DriftMethodId } from './types.js';

/** Methods that work on shares of bins, the only ones the streaming mode can run on numerical columns. */
export const BINNED_METHODS: readonly DriftMethodId[] = ['ks', 'psi', 'kl_div', 'jensenshannon'];

/**
 * The streaming mode's method for numerical columns when none is asked for: KS on the bins, whose
 * p-value accounts for the window's size (a distance between shares does not, so its fixed
 * threshold alarms on small stationary windows).
 */
export const STREAMING_DEFAULT_METHOD: DriftMethodId = 'ks';

function total(counts: ReadonlyMap<Category, number>): number {
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
}

function verdict(kind: 'numerical' | 'categorical', method: DriftMethodId, score: number, statistic: number | undefined, threshold: number | undefined, referenceSize: number, currentSize: number): ColumnDriftResult {
  const spec = DRIFT_METHODS[method];
  const t = threshold ?? spec.defaultThreshold;
  return {
    kind,
    method,
    displayName: spec.displayName,
    score,
    ...(statistic === undefined ? {} : { statistic }),
    threshold: t,
    drifted: isDrifted(method, score, t),
    referenceSize,
    currentSize,
  };
}

/**
 * Drift of a categorical column given each sample's category counts, as `columnDrift` computes it
 * from the values (same automatic choice, methods and verdicts); why: windows keep counts only.
 */
export function categoricalDriftFromCounts(
  reference: ReadonlyMap<Category, number>,
  current: ReadonlyMap<Category, number>,
  options: { readonly method?: DriftMethodId; readonly threshold?: number; readonly name?: string } = {},
): ColumnDriftResult {
  const name = options.name ?? 'column';
  const nRef = total(reference);
  const nCur = total(current);
  if (nRef === 0) throw new DriftInputError(`${name}: the reference has no values once missing ones are dropped`);
  if (nCur === 0) throw new DriftInputError(`${name}: the current data has no values once missing ones are dropped`);
  const keys = [...reference.keys()];
  for (const k of current.keys()) if (!reference.has(k)) keys.push(k);
  let method = options.method;
  if (method !== undefined && !DRIFT_METHODS[method].kinds.includes('categorical')) {
    throw new DriftInputError(`${name}: method ${method} does not apply to categorical columns`);
  }
  method ??= nRef <= SMALL_REFERENCE_MAX ? (keys.length > 2 ? 'chisquare' : 'z') : 'jensenshannon';
  const refOf = (k: Category): number => reference.get(k) ?? 0;
  const curOf = (k: Category): number => current.get(k) ?? 0;
  switch (method) {
    case 'chisquare': {
      const scale = nCur / nRef;
      const { statistic, pValue } = chiSquareFromCounts(keys.map(curOf), keys.map((k) => refOf(k) * scale));
      return verdict('categorical', method, pValue, statistic, options.threshold, nRef, nCur);
    }
    case 'z': {
      if (reference.size === 1 && current.size === 1 && keys.length === 1) return verdict('categorical', method, 1, undefined, options.threshold, nRef, nCur);
      const first = [...keys].sort(comparePython)[0]!;
      const { statistic, pValue } = zTestFromCounts(nRef - refOf(first), nRef, nCur - curOf(first), nCur);
      return verdict('categorical', method, pValue, statistic, options.threshold, nRef, nCur);
    }
    default: {
      const ref = keys.map((k) => refOf(k) / nRef);
      const cur = keys.map((k) => curOf(k) / nCur);
      return verdict('categorical', method, sharesScore(method, ref, cur), undefined, options.threshold, nRef, nCur);
    }
  }
}

/** PSI, KL or Jensen–Shannon of two share vectors, with zeroes filled where Evidently fills them. */
function sharesScore(method: DriftMethodId, reference: number[], current: number[]): number {
  switch (method) {
    case 'psi':
      return psiFromShares(fillZeroes(reference), fillZeroes(current));
    case 'kl_div':
      return klFromShares(fillZeroes(reference), fillZeroes(current));
    case 'jensenshannon':
      return jensenShannonFromShares(reference, current);
    default:
      throw new DriftInputError(`method ${method} needs the values, not bins`);
  }
}

/**
 * Drift of a numerical column in `streaming` mode: KS (default; binned, p-value for the exact
 * sizes), PSI, KL or Jensen–Shannon over the counts [below, bins…, above] of the reference and the
 * window on the same edges; why: exact at any rate.
 */
export function binnedDrift(
  reference: readonly number[],
  current: readonly number[],
  options: { readonly method?: DriftMethodId; readonly threshold?: number; readonly name?: string } = {},
): ColumnDriftResult {
  const name = options.name ?? 'column';
  const method = options.method ?? STREAMING_DEFAULT_METHOD;
  if (!BINNED_METHODS.includes(method)) throw new DriftInputError(`${name}: method ${method} needs the values; the streaming mode offers ${BINNED_METHODS.join(', ')}`);
  if (reference.length !== current.length) throw new DriftInputError(`${name}: reference and window histograms have different bins`);
  const nRef = reference.reduce((a, b) => a + b, 0);
  const nCur = current.reduce((a, b) => a + b, 0);
  if (nRef === 0) throw new DriftInputError(`${name}: the reference has no values once missing ones are dropped`);
  if (nCur === 0) throw new DriftInputError(`${name}: the current data has no values once missing ones are dropped`);
  if (method === 'ks') {
    const { statistic, pValue } = ksFromBinnedCounts(reference, current);
    return verdict('numerical', method, pValue, statistic, options.threshold, nRef, nCur);
  }
  const score = sharesScore(method, reference.map((c) => c / nRef), current.map((c) => c / nCur));
  return verdict('numerical', method, score, undefined, options.threshold, nRef, nCur);
}
