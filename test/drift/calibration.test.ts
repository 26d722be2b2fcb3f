/**
 * Calibrated drift thresholds: on stationary windows of the size calibrated for (and of sizes in
 * between), the dataset rule, the embedding test and each feature alarm at about the chosen rate in
 * both window modes, where Evidently's fixed thresholds alarm far more in streaming mode; a real
 * shift is still caught; a window of another size reads interpolated thresholds; reports say which
 * thresholds they used; the calibration survives the profile file and is reproducible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCalibratedProfile, calibrateProfile, HELD_OUT_FACTOR, thresholdFlagging } from '../../src/drift-monitor/calibration.js';
import { checkReferenceProfile, featuresOfProfile } from '../../src/drift-monitor/profile.js';
import type { ProfileRow, ReferenceProfile } from '../../src/drift-monitor/profile.js';
import { windowReport } from '../../src/drift-monitor/report.js';
import type { DriftReport } from '../../src/drift-monitor/report.js';
import { resolveSetup } from '../../src/drift-monitor/setup.js';
import { thresholdAt } from '../../src/drift-monitor/thresholds.js';
import type { ModeCalibration } from '../../src/drift-monitor/thresholds.js';
import { WindowState } from '../../src/drift-monitor/window-state.js';
import type { WindowMode } from '../../src/drift-monitor/window-state.js';
import { Random } from '../../src/drift/state/random.js';

/** Rows like a camera's: correlated image statistics, a two-class model's outputs, a 16-d embedding. */
function rowMaker(seed: number): (shift?: number) => ProfileRow {
  const random = Random.fromSeed(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(random.nextDouble() || 1e-12)) * Math.cos(2 * Math.PI * random.nextDouble());
  return (shift = 0) => {
    const brightness = 0.5 + 0.1 * gauss() + shift;
    const p = 1 / (1 + Math.exp(-2 * gauss()));
    return {
      values: {
        brightness,
        contrast: 0.2 + 0.05 * gauss() + 0.3 * (brightness - 0.5),
        sharpness: Math.abs(gauss()),
        width: 640,
        format: 'jpeg',
        class: p > 0.5 ? 'horse' : 'human',
        confidence: Math.max(p, 1 - p),
        'probability.horse': p,
        'probability.human': 1 - p,
      },
      embedding: Array.from({ length: 16 }, (_, i) => gauss() + (i === 0 ? 10 * shift : 0)),
    };
  };
}

const RATE = 0.05;
const reference = rowMaker(11);
const ROWS = Array.from({ length: 3000 }, () => reference());
const { profile: PROFILE } = buildCalibratedProfile(ROWS, { classes: ['horse', 'human'] }, { sizes: [100, 250], falseAlarmRate: RATE, windows: 400, seed: 5 });

function report(profile: ReferenceProfile, mode: WindowMode, rows: readonly ProfileRow[], calibration: ModeCalibration | undefined): DriftReport {
  const setup = { profile, mode, features: featuresOfProfile(profile), sampleCap: 1000, embedding: true, ...(calibration === undefined ? {} : { calibration, falseAlarmRate: RATE }) };
  const state = new WindowState(setup, 1);
  for (const row of rows) state.addRow(row);
  return windowReport(state, { topology: 't', node: 'drift', window: { kind: 'count', start: 0, end: rows.length }, late: 0, instances: 1, driftShare: 0.5, columns: {}, now: 0 });
}

/** Alarm rates over stationary windows from another seed of the same source. */
function rates(mode: WindowMode, size: number, windows: number, calibrated: boolean, shift = 0): { dataset: number; embedding: number; perFeature: number } {
  const live = rowMaker(1000 + size + (mode === 'streaming' ? 1 : 0));
  let dataset = 0;
  let embedding = 0;
  let features = 0;
  let columns = 0;
  for (let w = 0; w < windows; w += 1) {
    const r = report(PROFILE, mode, Array.from({ length: size }, () => live(shift)), calibrated ? PROFILE.calibration!.modes[mode] : undefined);
    if (r.dataset!.datasetDrift) dataset += 1;
    if (r.embedding!.drifted) embedding += 1;
    features += r.columns.filter((c) => c.drifted).length;
    columns += r.columns.length;
  }
  return { dataset: dataset / windows, embedding: embedding / windows, perFeature: features / columns };
}

test('the held-out part is five times the largest window, and the calibration covers both modes and every size', () => {
  const c = PROFILE.calibration!;
  assert.equal(c.heldOut, HELD_OUT_FACTOR * 250);
  assert.equal(PROFILE.rows, 3000 - c.heldOut, 'the profile is built from the other rows');
  for (const mode of ['evidently', 'streaming'] as const) {
    assert.deepEqual(c.modes[mode].sizes.map((s) => s.size), [100, 250]);
    assert.ok(c.modes[mode].sizes.every((s) => s.embedding !== null && s.features.brightness !== undefined && s.features.confidence!.outputs !== undefined));
  }
  assert.equal(c.modes.streaming.sizes[0]!.features.brightness!.method, 'ks', 'streaming mode compares numerical features with binned KS');
});

for (const mode of ['evidently', 'streaming'] as const) {
  test(`${mode} mode, calibrated: stationary windows of 100 and 160 inputs alarm at about the chosen rate (${RATE})`, () => {
    for (const size of [100, 160]) {
      const r = rates(mode, size, 200, true);
      // 200 windows at 5 %: 10 expected; binomial 99.9 % bound ≈ 22.
      assert.ok(r.dataset <= 0.11, `dataset drift in ${(r.dataset * 100).toFixed(1)} % of ${size}-input windows`);
      assert.ok(r.embedding <= 0.11, `embedding drift in ${(r.embedding * 100).toFixed(1)} % of ${size}-input windows`);
      assert.ok(r.perFeature <= 0.08, `each feature drifted in ${(r.perFeature * 100).toFixed(1)} % of ${size}-input windows`);
    }
  });

  test(`${mode} mode, calibrated: a brightness shift of −0.06 (0.6 sd) in 100-input windows is caught in nearly every window`, () => {
    const r = rates(mode, 100, 50, true, -0.06);
    assert.ok(r.dataset >= 0.9, `dataset drift in ${(r.dataset * 100).toFixed(0)} % of shifted windows`);
    assert.ok(r.embedding >= 0.9, `embedding drift in ${(r.embedding * 100).toFixed(0)} % of shifted windows`);
  });
}

test('Evidently\'s fixed thresholds: the embedding distance of 0.2 alarms on every stationary window of 100 (what calibration fixes)', () => {
  const r = rates('streaming', 100, 40, false);
  assert.equal(r.embedding, 1, 'a 16-d centroid of 100 draws is ~0.4 from the reference one');
});

test('reports say which thresholds they used: calibrated, configured, or Evidently\'s', () => {
  const live = rowMaker(77);
  const rows = Array.from({ length: 100 }, () => live());
  const calibrated = report(PROFILE, 'streaming', rows, PROFILE.calibration!.modes.streaming);
  assert.equal(calibrated.thresholds, 'calibrated');
  assert.equal(calibrated.falseAlarmRate, RATE);
  assert.equal(calibrated.dataset!.rule, 'calibrated');
  assert.equal(calibrated.embedding!.thresholdSource, 'calibrated');
  const brightness = calibrated.columns.find((c) => c.name === 'brightness')!;
  assert.equal(brightness.thresholdSource, 'calibrated');
  assert.equal(brightness.threshold, PROFILE.calibration!.modes.streaming.sizes[0]!.features.brightness!.threshold);
  assert.ok(brightness.datasetThreshold! < brightness.threshold, 'the dataset rule asks more of each feature (p-values)');
  assert.ok(calibrated.outputs !== null && calibrated.columns.find((c) => c.name === 'confidence')!.outputsThreshold !== undefined);
  const plain = report(PROFILE, 'streaming', rows, undefined);
  assert.equal(plain.thresholds, 'evidently');
  assert.equal(plain.dataset!.rule, 'share');
  assert.equal(plain.embedding!.threshold, 0.2);
  assert.ok(plain.columns.every((c) => c.thresholdSource === 'evidently'));
  const { setup, columns } = resolveSetup(PROFILE, { mode: 'streaming', sampleCap: 1000, embedding: true, columns: { brightness: { threshold: 0.2 } } }, 'drift');
  const state = new WindowState(setup, 1);
  for (const row of rows) state.addRow(row);
  const mixed = windowReport(state, { topology: 't', node: 'drift', window: { kind: 'count', start: 0, end: 100 }, late: 0, instances: 1, driftShare: 0.5, columns, embeddingThreshold: 5, now: 0 });
  assert.equal(mixed.columns.find((c) => c.name === 'brightness')!.thresholdSource, 'configured');
  assert.equal(mixed.columns.find((c) => c.name === 'contrast')!.thresholdSource, 'calibrated');
  assert.equal(mixed.embedding!.thresholdSource, 'configured');
  assert.equal(mixed.embedding!.threshold, 5);
});

test('`thresholds` picks the calibration, refuses `calibrated` without one, and `evidently` ignores it', () => {
  const base = { mode: 'evidently' as const, sampleCap: 1000, embedding: true };
  assert.ok(resolveSetup(PROFILE, base, 'drift').setup.calibration !== undefined, 'auto uses the calibration');
  assert.equal(resolveSetup(PROFILE, { ...base, thresholds: 'evidently' }, 'drift').setup.calibration, undefined);
  const { calibration: _, ...plain } = PROFILE;
  assert.equal(resolveSetup(plain, base, 'drift').setup.calibration, undefined, 'auto without a calibration: Evidently\'s');
  assert.throws(() => resolveSetup(plain, { ...base, thresholds: 'calibrated' }, 'drift'), /needs a calibrated profile/);
});

test('the calibration survives the profile file, is checked when read, and is reproducible from its seed', () => {
  const read = checkReferenceProfile(JSON.parse(JSON.stringify(PROFILE)));
  assert.deepEqual(read.calibration, PROFILE.calibration);
  const broken = JSON.parse(JSON.stringify(PROFILE)) as { calibration: { modes: { streaming: { sizes: { size: number }[] } } } };
  broken.calibration.modes.streaming.sizes.reverse();
  assert.throws(() => checkReferenceProfile(broken), /ascending order/);
  const again = buildCalibratedProfile(ROWS, { classes: ['horse', 'human'] }, { sizes: [100, 250], falseAlarmRate: RATE, windows: 400, seed: 5 });
  assert.deepEqual(again.profile.calibration, PROFILE.calibration);
});

test('too few rows: sizes that do not fit are left out, and none fitting leaves the profile uncalibrated', () => {
  const few = buildCalibratedProfile(ROWS.slice(0, 1200), { classes: ['horse', 'human'] }, { sizes: [100, 250], falseAlarmRate: RATE, windows: 100 });
  assert.deepEqual(few.skippedSizes, [250]);
  assert.deepEqual(few.profile.calibration!.modes.evidently.sizes.map((s) => s.size), [100]);
  const none = buildCalibratedProfile(ROWS.slice(0, 300), { classes: ['horse', 'human'] }, { sizes: [100], falseAlarmRate: RATE, windows: 100 });
  assert.equal(none.profile.calibration, undefined);
  assert.equal(none.profile.rows, 300);
  assert.throws(() => calibrateProfile(PROFILE, ROWS.slice(0, 100), { sizes: [100], windows: 100, falseAlarmRate: RATE }), /at least 5 × the largest window/);
});

test('a threshold flags the allowed number of windows and never splits a tie', () => {
  const distances = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(thresholdFlagging('wasserstein', distances, 2), 8.5);
  assert.ok(Math.abs(thresholdFlagging('ks', [0.001, 0.01, 0.2, 0.5, 0.9], 2) - 0.105) < 1e-15, 'between the second and third smallest p-values');
  // Three windows tie at the boundary: flagging two of them is impossible, so only the one above is flagged.
  const t = thresholdFlagging('jensenshannon', [0.5, 0.3, 0.3, 0.3, 0.1], 2);
  assert.ok(t > 0.3 && t <= 0.5, `threshold ${t}`);
  assert.ok(thresholdFlagging('jensenshannon', [0, 0, 0], 1) > 0, 'a constant statistic: only a change alarms');
});

test('a window of another size reads thresholds interpolated on log(size); below the sizes distances grow as 1/√n, above them the largest size\'s stand', () => {
  const calibration: ModeCalibration = {
    sizes: [
      { size: 100, features: {}, embedding: 0.4 },
      { size: 400, features: {}, embedding: 0.2 },
    ],
  };
  const at = (n: number): number | undefined => thresholdAt(calibration, n, (s) => s.embedding ?? undefined, true);
  assert.equal(at(100), 0.4);
  assert.ok(Math.abs(at(200)! - Math.sqrt(0.4 * 0.2)) < 1e-12, 'the geometric middle at the geometric middle size');
  assert.equal(at(1600), 0.2, 'a larger window keeps the largest size\'s threshold (the reference\'s own noise remains)');
  assert.ok(Math.abs(at(25)! - 0.8) < 1e-12);
  assert.equal(thresholdAt(calibration, 25, () => 0.01, false), 0.01, 'p-value thresholds stay put outside the sizes');
});
