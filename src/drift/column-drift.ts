/**
 * One column's drift as Evidently's ValueDrift computes it: drop missing values, pick the method
 * (the one asked for, or Evidently's automatic choice), compute its score, and compare it with the
 * threshold (the one asked for, or the method's default) in the method's direction.
 */
import { defaultMethod } from './auto-method.js';
import { cleanColumn } from './clean.js';
import { DriftInputError } from './errors.js';
import { DRIFT_METHODS, isDrifted } from './methods.js';
import type { ColumnData, ColumnDriftResult, DriftMethodId } from './types.js';

/** What may be asked of one column's drift; unset fields take Evidently's defaults. */
export interface ColumnDriftOptions {
  readonly method?: DriftMethodId;
  readonly threshold?: number;
  /** Names the column in error messages. */
  readonly name?: string;
}

/** Drift of one column, with Evidently's method choice, score and verdict; why: the unit of every report. */
export function columnDrift(data: ColumnData, options: ColumnDriftOptions = {}): ColumnDriftResult {
  const name = options.name ?? 'column';
  const column = cleanColumn(data, name);
  let method: DriftMethodId;
  if (options.method !== undefined) {
    method = options.method;
    if (!DRIFT_METHODS[method].kinds.includes(column.kind)) {
      throw new DriftInputError(`${name}: method ${method} does not apply to ${column.kind} columns`);
    }
  } else {
    method = defaultMethod(column);
  }
  const spec = DRIFT_METHODS[method];
  const threshold = options.threshold ?? spec.defaultThreshold;
  const { score, statistic } = spec.compute(column);
  return {
    kind: column.kind,
    method,
    displayName: spec.displayName,
    score,
    ...(statistic !== undefined ? { statistic } : {}),
    threshold,
    drifted: isDrifted(method, score, threshold),
    referenceSize: column.reference.length,
    currentSize: column.current.length,
  };
}
