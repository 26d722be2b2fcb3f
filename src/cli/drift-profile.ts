/**
 * `centaur drift profile <input> [--model <model-dir>] --out <file>`: reads a data set — a folder of
 * images (decoded recursively with the model's input settings, run through the model when one is
 * given) or a JSONL file of feature records (flat, or the prediction records the files and object
 * sinks write) — and writes the reference profile of its image features, model outputs and
 * embeddings (src/drift-monitor/profile.ts). Put the file beside the model and name it in the
 * manifest's `referenceProfile`. The profile is calibrated on a held-out part of the rows unless
 * `--no-calibrate` (src/drift-monitor/calibration.ts); the readers live in src/datasets/.
 */
import path from 'node:path';
import { readDriftInput, splitList } from '../datasets/drift-input.js';
import type { DriftData, DriftInputIo } from '../datasets/drift-input.js';
import { DriftInputError } from '../drift/errors.js';
import { buildCalibratedProfile, DEFAULT_BOOTSTRAP_WINDOWS, DEFAULT_CALIBRATION_SIZES, DEFAULT_FALSE_ALARM_RATE, HELD_OUT_FACTOR } from '../drift-monitor/calibration.js';
import type { CalibrationOptions } from '../drift-monitor/calibration.js';
import { DEFAULT_PROFILE_SAMPLE, buildReferenceProfile, profileFeatureSpecs, writeReferenceProfile } from '../drift-monitor/profile.js';
import type { ReferenceProfile } from '../drift-monitor/profile.js';

/** The options as commander hands them over. */
export interface DriftProfileFlags {
  readonly out: string;
  readonly model?: string;
  readonly sample?: string;
  readonly seed?: string;
  readonly strict?: boolean;
  readonly columns?: string;
  readonly categorical?: string;
  /** Commander's `--no-calibrate` sets this false. */
  readonly calibrate?: boolean;
  readonly calibrateSizes?: string;
  readonly falseAlarmRate?: string;
  readonly calibrationWindows?: string;
}

/** Where the command writes. */
export type DriftProfileIo = DriftInputIo;

/** Builds and writes the profile; resolves with the exit code (0, 1 when nothing could be read, 2 for bad options or input). */
export async function driftProfileCommand(input: string, flags: DriftProfileFlags, io: DriftProfileIo): Promise<number> {
  const sampleSize = flags.sample === undefined ? DEFAULT_PROFILE_SAMPLE : Number(flags.sample);
  const seed = flags.seed === undefined ? 1 : Number(flags.seed);
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1) {
    io.err(`centaur drift profile: --sample must be a positive integer, got ${JSON.stringify(flags.sample)}`);
    return 2;
  }
  if (!Number.isSafeInteger(seed)) {
    io.err(`centaur drift profile: --seed must be an integer, got ${JSON.stringify(flags.seed)}`);
    return 2;
  }
  let data: DriftData;
  try {
    data = await readDriftInput(input, { ...(flags.model === undefined ? {} : { model: flags.model }), strict: flags.strict === true, ...optionalList('columns', flags.columns), ...optionalList('categorical', flags.categorical) }, io);
  } catch (error) {
    if (!(error instanceof DriftInputError)) throw error;
    io.err(`centaur drift profile: ${error.message}`);
    return 2;
  }
  const what = data.kind === 'images' ? 'images' : 'records';
  if (data.rows.length === 0) {
    io.err(`centaur drift profile: no ${data.kind === 'images' ? 'image could be read' : 'record could be read'} in ${input}`);
    return 1;
  }
  const missing = (splitList(flags.columns) ?? []).filter((c) => !data.features.some((f) => f.name === c));
  if (missing.length > 0) {
    io.err(`centaur drift profile: ${input} has no values for ${missing.map((c) => `\`${c}\``).join(', ')}`);
    return 2;
  }
  const calibration = calibrationFlags(flags);
  if (typeof calibration === 'string') {
    io.err(`centaur drift profile: ${calibration}`);
    return 2;
  }
  const known = new Set(profileFeatureSpecs(data.classes).map((s) => s.name));
  // Only the columns read (--columns leaves some of Centaur's features out).
  const wanted = new Set(data.features.map((f) => f.name));
  const rows = data.rows.map((r) => ({ ...r, values: Object.fromEntries(Object.entries(r.values).filter(([name]) => wanted.has(name))) }));
  const build = {
    ...(data.model === undefined ? { classes: data.classes } : { model: data.model }),
    extraFeatures: data.features.filter((f) => !known.has(f.name)),
    sampleSize,
    seed,
  };
  let written: ReferenceProfile;
  let skippedSizes: readonly number[] = [];
  try {
    if (calibration === null) {
      written = buildReferenceProfile(rows, build);
    } else {
      const started = Date.now();
      ({ profile: written, skippedSizes } = buildCalibratedProfile(rows, build, { ...calibration, seed }));
      if (written.calibration !== undefined) io.err(`calibrated ${written.calibration.modes.streaming.sizes.map((x) => x.size).join(', ')}-input windows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } catch (error) {
    if (!(error instanceof DriftInputError)) throw error;
    io.err(`centaur drift profile: ${error.message}`);
    return 2;
  }
  if (Object.keys(written.features).length === 0) {
    io.err(`centaur drift profile: ${input} has no feature with values`);
    return 1;
  }
  await writeReferenceProfile(flags.out, written);
  const calibrated = written.calibration === undefined
    ? calibration === null ? ', not calibrated (--no-calibrate)' : ', not calibrated (too few rows)'
    : `, calibrated at a false-alarm rate of ${written.calibration.falseAlarmRate} on ${written.calibration.heldOut} held-out ${what} for windows of ${written.calibration.modes.streaming.sizes.map((x) => x.size).join(', ')}`;
  io.out(`wrote ${flags.out}: ${data.rows.length} ${what} (${data.unreadable} ${data.kind === 'images' ? 'unreadable' : 'bad lines skipped'}), ${Object.keys(written.features).length} features${written.embedding === null ? '' : `, embedding of ${written.embedding.dimension}`}${calibrated}`);
  if (skippedSizes.length > 0) io.err(`windows of ${skippedSizes.join(', ')} not calibrated: they need ${HELD_OUT_FACTOR * 2} × their size in rows (half held out); windows of other sizes take thresholds interpolated from the calibrated ones`);
  if (flags.model !== undefined) io.out(`add "referenceProfile": "${path.relative(path.resolve(flags.model), path.resolve(flags.out))}" to ${path.join(flags.model, 'manifest.json')} when the file lives beside the model`);
  return 0;
}

function optionalList<K extends string>(key: K, text: string | undefined): Partial<Record<K, string[]>> {
  const list = splitList(text);
  return list === undefined ? {} : ({ [key]: list } as Partial<Record<K, string[]>>);
}

/** The calibration asked for by the flags, null for --no-calibrate, or a problem; why: bad numbers fail before the work. */
function calibrationFlags(flags: DriftProfileFlags): CalibrationOptions | null | string {
  if (flags.calibrate === false) return null;
  const sizes = splitList(flags.calibrateSizes)?.map(Number) ?? [...DEFAULT_CALIBRATION_SIZES];
  if (sizes.length === 0 || !sizes.every((n) => Number.isSafeInteger(n) && n >= 2)) return `--calibrate-sizes must list whole numbers of at least 2, got ${JSON.stringify(flags.calibrateSizes)}`;
  const rate = flags.falseAlarmRate === undefined ? DEFAULT_FALSE_ALARM_RATE : Number(flags.falseAlarmRate);
  if (!(rate > 0 && rate < 0.5)) return `--false-alarm-rate must be in (0, 0.5), got ${JSON.stringify(flags.falseAlarmRate)}`;
  const windows = flags.calibrationWindows === undefined ? DEFAULT_BOOTSTRAP_WINDOWS : Number(flags.calibrationWindows);
  if (!Number.isSafeInteger(windows) || windows < Math.ceil(2 / rate)) return `--calibration-windows must be a whole number of at least ${Math.ceil(2 / rate)} (2 / the false-alarm rate), got ${JSON.stringify(flags.calibrationWindows)}`;
  return { sizes, falseAlarmRate: rate, windows };
}
