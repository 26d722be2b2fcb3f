/**
 * Drift thresholds calibrated from the reference, the way NannyML sets thresholds from reference
 * chunks: windows of each configured size are drawn (with replacement) from a held-out part of the
 * reference, compared with the profile built from the rest exactly as a live window is (same
 * window state, same report code), and each statistic's threshold is set where only the chosen
 * share of those stationary windows (the false-alarm rate, default 1 %) would call drift. Two group
 * rules are calibrated on the same windows, correcting for the number of features and for how they
 * move together (a min-p rule): `dataset` — a window drifts when any feature passes its dataset
 * threshold — and `outputs`, the same over the model-output features alone. Embedding distances get
 * their own threshold. At run time a window of another size takes thresholds interpolated on the
 * log of the size (see {@link thresholdAt}).
 */
import { DriftInputError } from '../drift/errors.js';
import { DRIFT_METHODS } from '../drift/methods.js';
import { Random } from '../drift/state/random.js';
import type { DriftMethodId } from '../drift/types.js';
import { isOutputFeature } from './features.js';
import type { BuildProfileOptions, ProfileRow, ReferenceProfile } from './profile.js';
import { buildReferenceProfile, featuresOfProfile } from './profile.js';
import { windowReport } from './report.js';
import type { FeatureThresholds, ModeCalibration, ProfileCalibration, SizeCalibration } from './thresholds.js';
import { WindowState } from './window-state.js';
import type { WindowMode, WindowSetup } from './window-state.js';

/** Share of stationary windows allowed to call drift, per feature and per rule, by default. */
export const DEFAULT_FALSE_ALARM_RATE = 0.01;
/** Window sizes calibrated by default. */
export const DEFAULT_CALIBRATION_SIZES: readonly number[] = [100, 500, 1000];
/** Windows drawn per size by default. */
export const DEFAULT_BOOTSTRAP_WINDOWS = 1000;
/** The held-out part must hold at least this many times the largest calibrated window. */
export const HELD_OUT_FACTOR = 5;

/** Options of {@link calibrateProfile}. */
export interface CalibrationOptions {
  readonly sizes?: readonly number[];
  readonly falseAlarmRate?: number;
  readonly windows?: number;
  readonly seed?: number;
  /** Called after each (mode, size) with the share done; why: calibration takes a while on big references. */
  readonly onProgress?: (done: number) => void;
}

/** Whether a method's verdict is "score at or above the threshold" (distances) rather than "p-value below it". */
function isDistance(method: DriftMethodId): boolean {
  return DRIFT_METHODS[method].comparison === '>=';
}

/** How bad a score is, larger meaning more drift, for ranking windows. */
function badness(method: DriftMethodId, score: number): number {
  return isDistance(method) ? score : -score;
}

/** A value just above x (for thresholds beyond every score seen). */
function above(x: number): number {
  return x + Math.max(Math.abs(x) * 1e-9, 1e-12);
}

/**
 * The threshold, in the method's units, that flags the `allowed` worst of these scores and no
 * more (ties are never split: a tie at the boundary is left unflagged); why: the empirical quantile
 * of stationary windows is the threshold at that false-alarm rate.
 */
export function thresholdFlagging(method: DriftMethodId | 'embedding', scores: readonly number[], allowed: number): number {
  if (scores.length === 0) throw new DriftInputError('calibration needs at least one window');
  const distance = method === 'embedding' || isDistance(method);
  // Sorted worst first.
  const sorted = [...scores].sort((a, b) => (distance ? b - a : a - b));
  const k = Math.min(Math.max(0, Math.floor(allowed)), sorted.length - 1);
  const boundary = sorted[k]!;
  // The nearest worse distinct value than the boundary, if any: the threshold sits between them.
  let worse: number | undefined;
  for (let i = k - 1; i >= 0; i -= 1) {
    if (sorted[i] !== boundary) {
      // A window that could not be ranked sits at ±∞: no midpoint with it.
      worse = Number.isFinite(sorted[i]) ? sorted[i] : undefined;
      break;
    }
  }
  if (distance) return worse === undefined ? above(boundary) : (boundary + worse) / 2;
  if (worse !== undefined) return (boundary + worse) / 2;
  // No smaller p-value than the boundary: flag nothing (a threshold below it, 0 for p = 0).
  return boundary > 0 ? boundary / 2 : 0;
}

/** For each window, the rank (1 = worst) of its score among all windows, ties sharing the worst rank they span. */
function tailRanks(bad: readonly number[]): number[] {
  const order = bad.map((b, i) => [b, i] as const).sort((x, y) => y[0] - x[0]);
  const ranks = new Array<number>(bad.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j += 1;
    for (let t = i; t <= j; t += 1) ranks[order[t]![1]] = j + 1;
    i = j + 1;
  }
  return ranks;
}

/**
 * The per-feature rank cut of a min-p rule: the largest r such that at most `allowed` windows have
 * some feature ranked r or worse; why: "any feature past its cut" then alarms at the chosen rate,
 * however many features there are and however they move together.
 */
function groupCut(ranksByFeature: readonly (readonly number[])[], windows: number, allowed: number): number {
  if (ranksByFeature.length === 0) return 0;
  const minRank = new Array<number>(windows).fill(Number.POSITIVE_INFINITY);
  for (const ranks of ranksByFeature) for (let w = 0; w < windows; w += 1) minRank[w] = Math.min(minRank[w]!, ranks[w]!);
  const sorted = [...minRank].sort((a, b) => a - b);
  // Windows flagged with cut r: those with minRank ≤ r. Largest r with that count ≤ allowed.
  const a = Math.floor(allowed);
  if (a <= 0) return 0;
  return a >= sorted.length ? windows : sorted[a]! - 1;
}

/** Scores of one feature over the drawn windows, and its method. */
interface FeatureScores {
  method: DriftMethodId;
  scores: number[];
}

/** The rows a window is drawn from must carry the profile's features; why: a clear error beats silent zeros. */
function checkHeldOut(rows: readonly ProfileRow[], sizes: readonly number[]): void {
  const largest = Math.max(...sizes);
  if (rows.length < HELD_OUT_FACTOR * largest) {
    throw new DriftInputError(`calibration needs at least ${HELD_OUT_FACTOR} × the largest window (${HELD_OUT_FACTOR * largest} rows) held out; got ${rows.length}`);
  }
}

/** Calibrates one mode and window size. */
function calibrateSize(profile: ReferenceProfile, mode: WindowMode, size: number, heldOut: readonly ProfileRow[], windows: number, allowed: number, random: Random): SizeCalibration {
  const features = featuresOfProfile(profile);
  const setup: WindowSetup = { profile, mode, features, sampleCap: size, embedding: profile.embedding !== null };
  const byFeature = new Map<string, FeatureScores>();
  const embedding: number[] = [];
  const forced: Record<string, { method: DriftMethodId }> = {};
  for (let w = 0; w < windows; w += 1) {
    const state = new WindowState(setup, random.nextUint32());
    for (let i = 0; i < size; i += 1) state.addRow(heldOut[random.below(heldOut.length)]!);
    const report = windowReport(state, { topology: '', node: '', window: { kind: 'count', start: 0, end: size }, late: 0, instances: 1, driftShare: 0.5, columns: forced, now: 0 });
    for (const c of report.columns) {
      let f = byFeature.get(c.name);
      if (f === undefined) {
        // Windows before this one had no value of the feature: they count as the calmest.
        f = { method: c.method, scores: new Array<number>(w).fill(isDistance(c.method) ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) };
        byFeature.set(c.name, f);
        // Later windows are compared the same way when the method can be asked for (the automatic
        // choice looks at each window's distinct values and could switch).
        if (DRIFT_METHODS[c.method].kinds.includes(profile.features[c.name]!.kind)) forced[c.name] = { method: c.method };
      }
      // A window compared another way (an automatic choice that switched) counts as the most
      // drifted: the threshold then errs towards fewer alarms.
      f.scores.push(c.method === f.method ? c.score : isDistance(f.method) ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
    }
    for (const f of byFeature.values()) if (f.scores.length === w) f.scores.push(isDistance(f.method) ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY);
    if (report.embedding !== null) embedding.push(report.embedding.score);
  }
  const names = [...byFeature.keys()];
  const ranks = names.map((n) => tailRanks(byFeature.get(n)!.scores.map((s) => badness(byFeature.get(n)!.method, s))));
  const datasetCut = groupCut(ranks, windows, allowed);
  const outputNames = names.filter(isOutputFeature);
  const outputsCut = groupCut(ranks.filter((_, i) => isOutputFeature(names[i]!)), windows, allowed);
  const result: Record<string, FeatureThresholds> = {};
  for (const name of names) {
    const { method, scores } = byFeature.get(name)!;
    // Where more windows than allowed could not be ranked (never on a sound reference), Evidently's threshold stands.
    const at = (flagged: number): number => {
      const t = thresholdFlagging(method, scores, flagged);
      return Number.isFinite(t) ? t : DRIFT_METHODS[method].defaultThreshold;
    };
    result[name] = { method, threshold: at(allowed), dataset: at(datasetCut), ...(outputNames.includes(name) ? { outputs: at(outputsCut) } : {}) };
  }
  return { size, features: result, embedding: embedding.length === 0 ? null : thresholdFlagging('embedding', embedding, allowed) };
}

/**
 * Calibrates a profile's thresholds on rows held out of it, for both window modes and every size;
 * why: fixed thresholds meant for samples of thousands alarm on windows of 100, and the right
 * threshold depends on the window's size, the features and the reference itself.
 */
export function calibrateProfile(profile: ReferenceProfile, heldOut: readonly ProfileRow[], options: CalibrationOptions = {}): ProfileCalibration {
  const sizes = [...new Set(options.sizes ?? DEFAULT_CALIBRATION_SIZES)].sort((a, b) => a - b);
  if (sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= 2)) throw new DriftInputError('calibration window sizes must be whole numbers of at least 2');
  const rate = options.falseAlarmRate ?? DEFAULT_FALSE_ALARM_RATE;
  if (!(rate > 0 && rate < 0.5)) throw new DriftInputError('the false-alarm rate must be in (0, 0.5)');
  const windows = options.windows ?? DEFAULT_BOOTSTRAP_WINDOWS;
  if (!Number.isInteger(windows) || windows < Math.ceil(2 / rate)) throw new DriftInputError(`calibration needs at least ${Math.ceil(2 / rate)} windows per size for a false-alarm rate of ${rate}`);
  checkHeldOut(heldOut, sizes);
  const seed = options.seed ?? 1;
  const allowed = rate * windows;
  const modes = {} as Record<WindowMode, ModeCalibration>;
  const steps = sizes.length * 2;
  let done = 0;
  for (const mode of ['evidently', 'streaming'] as const) {
    const random = Random.fromSeed(seed ^ (mode === 'streaming' ? 0x2545f491 : 0));
    const calibrated: SizeCalibration[] = [];
    for (const size of sizes) {
      calibrated.push(calibrateSize(profile, mode, size, heldOut, windows, allowed, random));
      done += 1;
      options.onProgress?.(done / steps);
    }
    modes[mode] = { sizes: calibrated };
  }
  return { falseAlarmRate: rate, windows, heldOut: heldOut.length, seed, modes };
}


/** What {@link buildCalibratedProfile} made: the profile, and the sizes it could not calibrate for lack of rows. */
export interface CalibratedProfile {
  readonly profile: ReferenceProfile;
  readonly skippedSizes: readonly number[];
}

/**
 * Builds a profile from part of the reference rows and calibrates it on the rest: a seeded random
 * held-out part of {@link HELD_OUT_FACTOR} × the largest window size that leaves at least as many
 * rows to the profile; sizes too large for the rows are left out (listed in `skippedSizes`), and with
 * none left the profile is built from every row, uncalibrated. Why: windows drawn from the rows the
 * profile was built from look closer to it than live ones do, and thresholds would come out low.
 */
export function buildCalibratedProfile(rows: readonly ProfileRow[], build: BuildProfileOptions, options: CalibrationOptions = {}): CalibratedProfile {
  const sizes = [...new Set(options.sizes ?? DEFAULT_CALIBRATION_SIZES)].sort((a, b) => a - b);
  const fitting = sizes.filter((s) => HELD_OUT_FACTOR * s * 2 <= rows.length);
  const skippedSizes = sizes.filter((s) => !fitting.includes(s));
  if (fitting.length === 0) return { profile: buildReferenceProfile(rows, build), skippedSizes };
  const heldOutCount = HELD_OUT_FACTOR * fitting[fitting.length - 1]!;
  const random = Random.fromSeed((options.seed ?? 1) ^ 0x68e31da4);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = random.below(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const heldOut = order.slice(0, heldOutCount).sort((a, b) => a - b).map((i) => rows[i]!);
  const fit = order.slice(heldOutCount).sort((a, b) => a - b).map((i) => rows[i]!);
  const profile = buildReferenceProfile(fit, build);
  return { profile: { ...profile, calibration: calibrateProfile(profile, heldOut, { ...options, sizes: fitting }) }, skippedSizes };
}
