/**
 * `centaur bench drift`: how a drift detector behaves on images through the demo model — false
 * alarms on stationary streams and windows until a shift is detected — for both window modes, with
 * the calibrated thresholds and, as the outside reference, Evidently's fixed ones. The reference
 * (generated images, one seed) is profiled and calibrated the way `centaur drift profile` does it;
 * live streams are windows drawn from other images of the same source (another seed), and shifts
 * are those images darkened by 30 %, blurred, taken by a camera of another resolution, or mixed
 * with a class the model never saw (dogs) at 10 % and 33 % of each window. Every window goes
 * through the same window state and report code as the `drift` operator; retrain requests come
 * from the same trigger with its default settings.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { readImageFolder } from '../datasets/drift-input.js';
import { generateImages } from '../demo/generate-images.js';
import { buildCalibratedProfile } from '../drift-monitor/calibration.js';
import type { ProfileRow, ReferenceProfile } from '../drift-monitor/profile.js';
import { featuresOfProfile } from '../drift-monitor/profile.js';
import { windowReport } from '../drift-monitor/report.js';
import type { ColumnChoice, DriftReport } from '../drift-monitor/report.js';
import { conditionVerdict, DEFAULT_RETRAIN_ON, RetrainTrigger } from '../drift-monitor/retrain-trigger.js';
import type { RetrainTriggerOptions } from '../drift-monitor/retrain-trigger.js';
import { WindowState } from '../drift-monitor/window-state.js';
import type { WindowMode, WindowSetup } from '../drift-monitor/window-state.js';
import { Random } from '../drift/state/random.js';
import { summarize } from './figures.js';

/** What the scenario runs on and how much. */
export interface DriftBenchOptions {
  readonly cacheDir: string;
  readonly modelDir: string;
  /** Reference images (profile and calibration). */
  readonly reference: number;
  /** Images of the live source that stationary windows are drawn from. */
  readonly pool: number;
  /** Images per shift. */
  readonly shiftPool: number;
  readonly sizes: readonly number[];
  /** Stationary windows per mode, size and seed. */
  readonly windows: number;
  /** Stationary streams (seeds) per mode and size. */
  readonly seeds: number;
  /** Stationary windows of the smallest size fed to the retrain trigger, per mode. */
  readonly triggerWindows: number;
  /** Shift episodes per shift, mode and size. */
  readonly repeats: number;
  readonly calibrationWindows: number;
  readonly falseAlarmRate: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Alarms per 100 windows. */
export interface AlarmRates {
  readonly dataset: number;
  readonly embedding: number;
  readonly outputs: number;
  /** The retrain trigger's default condition (any of dataset, embedding). */
  readonly condition: number;
  /** Mean over features. */
  readonly perFeature: number;
}

/** One stationary row of the result. */
export interface StationaryResult {
  readonly mode: WindowMode;
  /** `jensenshannon`: streaming mode as it compared numerical features before binned KS (Jensen–Shannon at 0.1). */
  readonly thresholds: 'calibrated' | 'evidently' | 'jensenshannon';
  readonly size: number;
  readonly windows: number;
  /** Alarms per 100 windows over every seed's windows together, and the largest of one seed. */
  readonly pooled: AlarmRates;
  readonly max: AlarmRates;
}

/** Windows until a signal held, over the episodes of one shift (null: not within the horizon). */
export interface Detection {
  readonly median: number | null;
  readonly max: number | null;
  readonly missed: number;
}

/** One shift row of the result. */
export interface ShiftResult {
  readonly shift: string;
  readonly mode: WindowMode;
  readonly size: number;
  readonly episodes: number;
  readonly condition: Detection;
  readonly dataset: Detection;
  readonly embedding: Detection;
  readonly outputs: Detection;
  /** Retrain requests per episode (default trigger: 3 windows in a row), and false ones before the shift. */
  readonly requestsPerEpisode: number;
  readonly requestsBeforeShift: number;
}

/** The whole result. */
export interface DriftBenchResult {
  readonly scenario: 'drift';
  readonly images: { readonly reference: number; readonly pool: number; readonly shiftPool: number };
  readonly calibration: { readonly seconds: number; readonly heldOut: number; readonly falseAlarmRate: number; readonly windows: number; readonly sizes: readonly number[] };
  readonly stationary: readonly StationaryResult[];
  readonly trigger: readonly { readonly mode: WindowMode; readonly size: number; readonly windows: number; readonly requests: number; readonly episodes: number }[];
  readonly shifts: readonly ShiftResult[];
  /** Windows after the shift starts that detection is looked for in. */
  readonly horizon: number;
}

/** Windows a shift is followed for. */
const HORIZON = 10;
/** Stationary windows fed to the trigger before each shift. */
const PRELUDE = 6;
const MODES: readonly WindowMode[] = ['evidently', 'streaming'];

/** A folder made once and kept (a `.complete` marker says it was finished). */
async function cachedFolder(dir: string, make: (dir: string) => Promise<void>): Promise<string> {
  const done = await readdir(dir).then((names) => names.includes('.complete'), () => false);
  if (done) return dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await make(dir);
  await writeFile(path.join(dir, '.complete'), 'done\n');
  return dir;
}

/** The images of one source: 320×240 horses and humans of a seed (or dogs). */
function source(cacheDir: string, name: string, count: number, seed: number, classes?: ('horse' | 'human' | 'dog')[]): Promise<string> {
  return cachedFolder(path.resolve(cacheDir, `drift-${name}-${count}-${seed}`), (dir) => generateImages({ outDir: dir, count, seed, concurrency: 4, ...(classes === undefined ? {} : { classes }) }).then(() => undefined));
}

/** The first `count` images of a folder, transformed (kept under the same class folders). */
async function transformed(cacheDir: string, name: string, from: string, count: number, transform: (image: Sharp) => Sharp): Promise<string> {
  return cachedFolder(path.resolve(cacheDir, `drift-${name}-${count}-${path.basename(from)}`), async (dir) => {
    const files: string[] = [];
    for (const folder of (await readdir(from, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
      for (const file of (await readdir(path.join(from, folder))).sort()) files.push(path.join(folder, file));
    }
    // Interleave classes: take every k-th file so both classes stay in.
    const step = Math.max(1, Math.floor(files.length / count));
    const picked = files.filter((_, i) => i % step === 0).slice(0, count);
    for (const file of picked) {
      await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
      await writeFile(path.join(dir, file), await transform(sharp(await readFile(path.join(from, file)))).jpeg({ quality: 80 }).toBuffer());
    }
  });
}

/** The rows of a folder through the model (features, outputs, embeddings). */
async function rowsOf(dir: string, modelDir: string): Promise<readonly ProfileRow[]> {
  const quiet = { out: () => undefined, err: () => undefined };
  const data = await readImageFolder(dir, { model: modelDir }, quiet);
  if (data.rows.length === 0) throw new Error(`no image of ${dir} could be read`);
  return data.rows;
}

/** A window: `size` rows, `share` of them from `shifted` (the rest from `pool`), drawn with replacement. */
function drawWindow(random: Random, size: number, pool: readonly ProfileRow[], shifted?: readonly ProfileRow[], share = 1): ProfileRow[] {
  const fromShift = shifted === undefined ? 0 : Math.round(share * size);
  const rows: ProfileRow[] = [];
  for (let i = 0; i < size; i += 1) {
    const from = i < fromShift ? shifted! : pool;
    rows.push(from[random.below(from.length)]!);
  }
  return rows;
}

function reportOf(setup: WindowSetup, rows: readonly ProfileRow[], index: number, columns: Readonly<Record<string, ColumnChoice>> = {}): DriftReport {
  const state = new WindowState(setup, index);
  for (const row of rows) state.addRow(row);
  return windowReport(state, { topology: 'bench', node: 'drift', window: { kind: 'count', start: index * rows.length, end: (index + 1) * rows.length }, late: 0, instances: 1, driftShare: 0.5, columns, now: index * 60_000 });
}

/** The trigger's defaults (one request per episode of 3 drifted windows in a row), without the cooldown so every episode counts. */
const TRIGGER: RetrainTriggerOptions = { on: DEFAULT_RETRAIN_ON, consecutive: 3, recovery: 2, cooldownMs: 0 };

function signals(report: DriftReport): { dataset: boolean; embedding: boolean; outputs: boolean; condition: boolean; features: number; columns: number } {
  return {
    dataset: report.dataset?.datasetDrift === true,
    embedding: report.embedding?.drifted === true,
    outputs: report.outputs?.drifted === true,
    condition: conditionVerdict(report, TRIGGER) === 'holds',
    features: report.columns.filter((c) => c.drifted).length,
    columns: report.columns.length,
  };
}

function median(values: readonly number[]): number {
  return summarize(values).median;
}

function detection(firsts: readonly (number | null)[]): Detection {
  const hit = firsts.filter((f): f is number => f !== null);
  return { median: hit.length === 0 ? null : median(hit), max: hit.length === 0 ? null : Math.max(...hit), missed: firsts.length - hit.length };
}

/** Runs the scenario; why: a detector is judged by its false alarms and its delay, measured, not assumed. */
export async function runDriftBench(o: DriftBenchOptions): Promise<DriftBenchResult> {
  const referenceDir = await source(o.cacheDir, 'reference', o.reference, 20261201);
  const poolDir = await source(o.cacheDir, 'live', o.pool, 20261202);
  const dogsDir = await source(o.cacheDir, 'dogs', o.shiftPool, 20261203, ['dog']);
  const shiftDirs = {
    'brightness −30 %': await transformed(o.cacheDir, 'dark', poolDir, o.shiftPool, (s) => s.modulate({ brightness: 0.7 })),
    blur: await transformed(o.cacheDir, 'blur', poolDir, o.shiftPool, (s) => s.blur(2)),
    'camera 640×480': await transformed(o.cacheDir, 'resolution', poolDir, o.shiftPool, (s) => s.resize(640, 480)),
  };
  const referenceRows = await rowsOf(referenceDir, o.modelDir);
  const pool = await rowsOf(poolDir, o.modelDir);
  const dogs = await rowsOf(dogsDir, o.modelDir);
  const shifts: { name: string; rows: readonly ProfileRow[]; share: number }[] = [];
  for (const [name, dir] of Object.entries(shiftDirs)) shifts.push({ name, rows: await rowsOf(dir, o.modelDir), share: 1 });
  shifts.push({ name: 'new class 10 %', rows: dogs, share: 0.1 }, { name: 'new class 33 %', rows: dogs, share: 1 / 3 });

  const manifest = JSON.parse(await readFile(path.join(o.modelDir, 'manifest.json'), 'utf8')) as { name: string; version: string; classes: string[] };
  const started = performance.now();
  const { profile, skippedSizes } = buildCalibratedProfile(referenceRows, { model: { name: manifest.name, version: manifest.version, classes: manifest.classes } }, { sizes: o.sizes, falseAlarmRate: o.falseAlarmRate, windows: o.calibrationWindows, seed: 1 });
  const calibrationSeconds = (performance.now() - started) / 1000;
  if (profile.calibration === undefined || skippedSizes.length > 0) throw new Error(`--reference ${o.reference} is too few images to calibrate windows of ${skippedSizes.join(', ')} (each needs 10 × its size)`);

  const setups = (p: ReferenceProfile, mode: WindowMode, calibrated: boolean): WindowSetup => ({
    profile: p,
    mode,
    features: featuresOfProfile(p),
    sampleCap: Math.max(...o.sizes),
    embedding: true,
    ...(calibrated ? { calibration: p.calibration!.modes[mode], falseAlarmRate: p.calibration!.falseAlarmRate } : {}),
  });
  const total = MODES.length * o.sizes.length * (o.seeds * o.windows * 2.5 + shifts.length * o.repeats * (PRELUDE + HORIZON)) + MODES.length * o.triggerWindows;
  let done = 0;
  const tick = (n = 1): void => {
    done += n;
    o.onProgress?.(done, total);
  };

  const stationary: StationaryResult[] = [];
  // Streaming mode before binned KS: Jensen–Shannon at Evidently's 0.1 on the numerical features.
  const jensenShannon: Record<string, ColumnChoice> = Object.fromEntries(featuresOfProfile(profile).filter((f) => f.kind === 'numerical').map((f) => [f.name, { method: 'jensenshannon' as const }]));
  const variants: readonly { mode: WindowMode; thresholds: StationaryResult['thresholds'] }[] = MODES.flatMap((mode) => [
    { mode, thresholds: 'calibrated' as const },
    { mode, thresholds: 'evidently' as const },
    ...(mode === 'streaming' ? [{ mode, thresholds: 'jensenshannon' as const }] : []),
  ]);
  for (const { mode, thresholds } of variants) {
    const calibrated = thresholds === 'calibrated';
    const columns = thresholds === 'jensenshannon' ? jensenShannon : {};
    const setup = setups(profile, mode, calibrated);
    for (const size of o.sizes) {
      const perSeed: AlarmRates[] = [];
      for (let seed = 0; seed < o.seeds; seed += 1) {
        const random = Random.fromSeed(1000 * size + seed);
        const counts = { dataset: 0, embedding: 0, outputs: 0, condition: 0, features: 0, columns: 0 };
        for (let w = 0; w < o.windows; w += 1) {
          const s = signals(reportOf(setup, drawWindow(random, size, pool), w, columns));
          counts.dataset += Number(s.dataset);
          counts.embedding += Number(s.embedding);
          counts.outputs += Number(s.outputs);
          counts.condition += Number(s.condition);
          counts.features += s.features;
          counts.columns += s.columns;
          tick();
        }
        const per100 = (n: number): number => (100 * n) / o.windows;
        perSeed.push({ dataset: per100(counts.dataset), embedding: per100(counts.embedding), outputs: per100(counts.outputs), condition: per100(counts.condition), perFeature: (100 * counts.features) / counts.columns });
      }
      const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
      const pick = (f: (r: AlarmRates) => number, how: (v: number[]) => number): number => how(perSeed.map(f));
      const summary = (how: (v: number[]) => number): AlarmRates => ({
        dataset: pick((r) => r.dataset, how),
        embedding: pick((r) => r.embedding, how),
        outputs: pick((r) => r.outputs, how),
        condition: pick((r) => r.condition, how),
        perFeature: pick((r) => r.perFeature, how),
      });
      // Every seed has the same number of windows, so the pooled rate is the mean of the seeds'.
      stationary.push({ mode, thresholds, size, windows: o.windows * o.seeds, pooled: summary(mean), max: summary((v) => Math.max(...v)) });
    }
  }

  const trigger: DriftBenchResult['trigger'][number][] = [];
  const smallest = Math.min(...o.sizes);
  for (const mode of MODES) {
    const setup = setups(profile, mode, true);
    const t = new RetrainTrigger(TRIGGER);
    const random = Random.fromSeed(7 + (mode === 'streaming' ? 1 : 0));
    let requests = 0;
    let episodes = 0;
    for (let w = 0; w < o.triggerWindows; w += 1) {
      const outcome = t.observe(reportOf(setup, drawWindow(random, smallest, pool), w), w * 60_000);
      if (outcome.kind === 'request') requests += 1;
      if (outcome.kind === 'request' || outcome.kind === 'suppressed') episodes += 1;
      tick();
    }
    trigger.push({ mode, size: smallest, windows: o.triggerWindows, requests, episodes });
  }

  const shiftResults: ShiftResult[] = [];
  for (const shift of shifts) {
    for (const mode of MODES) {
      const setup = setups(profile, mode, true);
      for (const size of o.sizes) {
        const firsts = { condition: [] as (number | null)[], dataset: [] as (number | null)[], embedding: [] as (number | null)[], outputs: [] as (number | null)[] };
        let requests = 0;
        let before = 0;
        for (let e = 0; e < o.repeats; e += 1) {
          const random = Random.fromSeed(size * 7919 + e * 104729 + shifts.indexOf(shift) * 15485863);
          const t = new RetrainTrigger(TRIGGER);
          const first = { condition: null as number | null, dataset: null as number | null, embedding: null as number | null, outputs: null as number | null };
          for (let w = 0; w < PRELUDE + HORIZON; w += 1) {
            const shifted = w >= PRELUDE;
            const report = reportOf(setup, shifted ? drawWindow(random, size, pool, shift.rows, shift.share) : drawWindow(random, size, pool), w);
            const outcome = t.observe(report, w * 60_000);
            if (outcome.kind === 'request') {
              if (shifted) requests += 1;
              else before += 1;
            }
            if (shifted) {
              const s = signals(report);
              for (const key of ['condition', 'dataset', 'embedding', 'outputs'] as const) if (s[key] && first[key] === null) first[key] = w - PRELUDE + 1;
            }
            tick();
          }
          for (const key of ['condition', 'dataset', 'embedding', 'outputs'] as const) firsts[key].push(first[key]);
        }
        shiftResults.push({
          shift: shift.name,
          mode,
          size,
          episodes: o.repeats,
          condition: detection(firsts.condition),
          dataset: detection(firsts.dataset),
          embedding: detection(firsts.embedding),
          outputs: detection(firsts.outputs),
          requestsPerEpisode: requests / o.repeats,
          requestsBeforeShift: before,
        });
      }
    }
  }
  return {
    scenario: 'drift',
    images: { reference: referenceRows.length, pool: pool.length, shiftPool: o.shiftPool },
    calibration: { seconds: calibrationSeconds, heldOut: profile.calibration.heldOut, falseAlarmRate: o.falseAlarmRate, windows: o.calibrationWindows, sizes: [...o.sizes] },
    stationary,
    trigger,
    shifts: shiftResults,
    horizon: HORIZON,
  };
}
