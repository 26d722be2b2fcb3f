/**
 * The calibrated thresholds a profile carries (per window mode and size: each feature's own, the
 * dataset and outputs rules', the embedding distance's), how a window of any size reads them, and
 * the check of a calibration read from a file. `calibration.ts` computes them.
 */
import { DriftInputError } from '../drift/errors.js';
import { DRIFT_METHODS } from '../drift/methods.js';
import type { DriftMethodId } from '../drift/types.js';

/** One feature's calibrated thresholds at one window size, in its method's units. */
export interface FeatureThresholds {
  /** The method the thresholds are for; a window compared another way takes Evidently's threshold. */
  readonly method: DriftMethodId;
  /** The feature's own verdict, at the false-alarm rate. */
  readonly threshold: number;
  /** The dataset rule: the window drifts when any feature passes its `dataset` threshold. */
  readonly dataset: number;
  /** The outputs rule, for model-output features (class, confidence, probabilities). */
  readonly outputs?: number;
}

/** Every threshold at one window size. */
export interface SizeCalibration {
  readonly size: number;
  readonly features: Readonly<Record<string, FeatureThresholds>>;
  /** Euclidean distance between centroids above which embeddings drift, or null without embeddings. */
  readonly embedding: number | null;
}

/** One window mode's thresholds, by ascending size. */
export interface ModeCalibration {
  readonly sizes: readonly SizeCalibration[];
}

/** The calibration a profile carries. */
export interface ProfileCalibration {
  readonly falseAlarmRate: number;
  /** Windows drawn per size. */
  readonly windows: number;
  /** Reference rows held out of the profile and drawn from. */
  readonly heldOut: number;
  readonly seed: number;
  readonly modes: Readonly<Record<'evidently' | 'streaming', ModeCalibration>>;
}

/** Interpolates a threshold between two calibrated sizes on log(size) (and log(threshold) where positive). */
function interpolate(n: number, s1: number, t1: number, s2: number, t2: number): number {
  const x = (Math.log(n) - Math.log(s1)) / (Math.log(s2) - Math.log(s1));
  if (t1 > 0 && t2 > 0) return Math.exp(Math.log(t1) + x * (Math.log(t2) - Math.log(t1)));
  return t1 + x * (t2 - t1);
}

/**
 * A calibrated threshold for a window that compared `n` values: the calibrated size's own, else
 * interpolated on log(size) between the nearest sizes; below the smallest size a distance threshold
 * grows as 1/√n from it (p-value thresholds stay), above the largest size every threshold stays the
 * largest size's. Why: time windows hold as many inputs as arrived.
 */
export function thresholdAt(calibration: ModeCalibration, n: number, pick: (size: SizeCalibration) => number | undefined, distance: boolean): number | undefined {
  const points = calibration.sizes.flatMap((s) => {
    const t = pick(s);
    return t === undefined ? [] : [[s.size, t] as const];
  });
  if (points.length === 0 || !(n >= 1)) return undefined;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (n <= first[0]) return distance ? first[1] * Math.sqrt(first[0] / n) : first[1];
  // Above the largest size the distance between stationary samples levels off at the reference's
  // own noise (it goes as √(1/n + 1/m)), so the largest size's threshold stands.
  if (n >= last[0]) return last[1];
  for (let i = 1; i < points.length; i += 1) {
    const [s2, t2] = points[i]!;
    const [s1, t1] = points[i - 1]!;
    if (n <= s2) return n === s2 ? t2 : interpolate(n, s1, t1, s2, t2);
  }
  return last[1];
}

/** Checks a calibration read from a profile file; why: thresholds from disk drive alarms and must be sane. */
export function checkCalibration(value: unknown, where: string): ProfileCalibration {
  const fail = (problem: string): never => {
    throw new DriftInputError(`${where}: calibration: ${problem}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const c = value as Partial<ProfileCalibration>;
  if (typeof c.falseAlarmRate !== 'number' || !(c.falseAlarmRate > 0 && c.falseAlarmRate < 0.5)) fail('falseAlarmRate must be in (0, 0.5)');
  if (!Number.isInteger(c.windows) || !Number.isInteger(c.heldOut)) fail('windows and heldOut must be whole numbers');
  if (typeof c.modes !== 'object' || c.modes === null) return fail('modes must be an object');
  for (const mode of ['evidently', 'streaming'] as const) {
    const m = c.modes[mode];
    if (m === undefined || !Array.isArray(m.sizes) || m.sizes.length === 0) fail(`modes.${mode}.sizes must be a non-empty list`);
    let previous = 0;
    for (const s of m.sizes) {
      if (!Number.isInteger(s.size) || s.size <= previous) fail(`modes.${mode}: sizes must be whole numbers in ascending order`);
      previous = s.size;
      if (s.embedding !== null && !Number.isFinite(s.embedding)) fail(`modes.${mode}: size ${s.size}: embedding must be a number or null`);
      for (const [name, f] of Object.entries(s.features)) {
        if (!Object.prototype.hasOwnProperty.call(DRIFT_METHODS, f.method)) fail(`modes.${mode}: size ${s.size}: ${name}: unknown method ${String(f.method)}`);
        if (!Number.isFinite(f.threshold) || !Number.isFinite(f.dataset) || (f.outputs !== undefined && !Number.isFinite(f.outputs))) fail(`modes.${mode}: size ${s.size}: ${name}: thresholds must be finite numbers`);
      }
    }
  }
  return c as ProfileCalibration;
}
