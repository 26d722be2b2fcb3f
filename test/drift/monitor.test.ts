import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/logger.js';
import { NO_METRICS } from '../../src/core/metric-family.js';
import { DriftMetrics } from '../../src/drift-monitor/drift-metrics.js';
import { profileFeatureSpecs } from '../../src/drift-monitor/profile.js';
import { buildReferenceProfile, checkReferenceProfile } from '../../src/drift-monitor/profile.js';
import type { ReferenceProfile } from '../../src/drift-monitor/profile.js';
import { featureValue } from '../../src/drift-monitor/features.js';
import { DriftMonitor } from '../../src/drift-monitor/monitor.js';
import type { MonitorOptions } from '../../src/drift-monitor/monitor.js';
import { windowReport } from '../../src/drift-monitor/report.js';
import { WindowState } from '../../src/drift-monitor/window-state.js';
import type { WindowMode, WindowSetup } from '../../src/drift-monitor/window-state.js';
import type { WindowSpec } from '../../src/drift-monitor/windower.js';
import type { Envelope } from '../../src/core/envelope.js';
import { featureEnvelopes } from './stream-helpers.js';

const logger = createLogger('silent');
const CLASSES = ['horse', 'human'];

function profileOf(envelopes: readonly Envelope[]): ReferenceProfile {
  const specs = profileFeatureSpecs(CLASSES);
  const rows = envelopes.map((e) => ({ values: Object.fromEntries(specs.map((s) => [s.name, featureValue(e, s, CLASSES)])), embedding: e.embedding }));
  return buildReferenceProfile(rows, { model: { name: 'demo', version: '1', classes: CLASSES }, createdAt: new Date(0) });
}

const REFERENCE = profileOf(featureEnvelopes(1, 600));
/** A larger reference for the streaming mode: its distances need larger samples to stay below their thresholds without drift. */
const LARGE_REFERENCE = profileOf(featureEnvelopes(11, 4000));

function setup(mode: WindowMode, sampleCap = 1000, profile = REFERENCE): WindowSetup {
  const features = profileFeatureSpecs(CLASSES).filter((f) => profile.features[f.name] !== undefined);
  return { profile, mode, features, sampleCap, embedding: true };
}

function monitor(mode: WindowMode, window: WindowSpec, extra: Partial<MonitorOptions> = {}): DriftMonitor {
  const m = new DriftMonitor({ topology: 't', node: 'drift', setup: setup(mode, 1000, mode === 'streaming' ? LARGE_REFERENCE : REFERENCE), window, seed: 7, driftShare: 0.5, columns: {}, metrics: new DriftMetrics(NO_METRICS, 'drift'), logger, clock: () => 0, ...extra });
  m.handler.keep = 10_000;
  return m;
}

test('the profile holds samples, Sturges histograms, category counts and the centroid, and survives JSON', () => {
  assert.equal(REFERENCE.rows, 600);
  const b = REFERENCE.features.brightness;
  assert.ok(b?.kind === 'numerical' && b.sample.length === 600 && b.counts.reduce((x, y) => x + y, 0) === 600);
  const f = REFERENCE.features.format;
  assert.ok(f?.kind === 'categorical' && f.count === 600);
  assert.ok(REFERENCE.features['probability.horse'] !== undefined);
  assert.equal(REFERENCE.embedding?.dimension, 3);
  assert.deepEqual(checkReferenceProfile(JSON.parse(JSON.stringify(REFERENCE))), REFERENCE);
  assert.throws(() => checkReferenceProfile({ ...REFERENCE, version: 3 }), /version 3 is not supported/);
  assert.equal(checkReferenceProfile({ ...REFERENCE, version: 1 }).version, 1, 'profiles written before calibration are still read');
});

for (const [mode, size] of [['evidently', 200], ['streaming', 1000]] as const) {
  test(`${mode}: no drift on unshifted windows (false alarms counted), drift within two windows of a brightness shift`, async () => {
    const m = monitor(mode, { by: 'count', size, slide: size }, { retrain: { on: 'brightness', consecutive: 2, recovery: 2, cooldownMs: 0 } });
    const before = featureEnvelopes(2, size * 20);
    const after = featureEnvelopes(3, size * 5, { brightness: 0.25, offset: before.length });
    for (const e of [...before, ...after]) m.add(e);
    await m.finish();
    const reports = m.handler.reports;
    assert.equal(reports.length, 25);
    const falseAlarms = reports.slice(0, 20).filter((r) => r.columns.find((c) => c.name === 'brightness')!.drifted).length;
    assert.ok(falseAlarms <= 2, `brightness false alarms over 20 windows: ${falseAlarms}`);
    assert.equal(reports.slice(0, 20).filter((r) => r.dataset?.datasetDrift === true).length, 0, 'no dataset drift before the shift');
    const firstDetected = reports.findIndex((r, i) => i >= 20 && r.columns.find((c) => c.name === 'brightness')!.drifted);
    assert.ok(firstDetected >= 20 && firstDetected <= 21, `detected at window ${firstDetected}`);
    assert.ok(reports.slice(20).every((r) => r.embedding?.drifted === true), 'the embedding centroid moved by 0.25');
    assert.equal(m.handler.requests.length, 1, 'one retrain request for the episode');
  });
}

test('evidently mode: window scores equal columnDrift on the same values (exact under the cap)', () => {
  const s = setup('evidently');
  const state = new WindowState(s, 1);
  const window = featureEnvelopes(9, 150);
  for (const e of window) state.add(e);
  const report = windowReport(state, { topology: 't', node: 'd', window: { kind: 'count', start: 0, end: 150 }, late: 0, instances: 1, driftShare: 0.5, columns: {}, now: 0 });
  const brightness = report.columns.find((c) => c.name === 'brightness')!;
  assert.equal(brightness.method, 'ks');
  assert.equal(brightness.exact, true);
  assert.equal(brightness.currentSize, 150);
  assert.ok(report.dataset !== null);
});

test('memory per window is bounded whatever the rate: the state of 100 000 inputs is no larger than that of 2 000', () => {
  for (const mode of ['evidently', 'streaming'] as const) {
    const sizes = [2_000, 100_000].map((n) => {
      const state = new WindowState(setup(mode, 1000), 3);
      for (const e of featureEnvelopes(4, n)) state.add(e);
      return JSON.stringify(state.toJSON()).length;
    });
    assert.ok(sizes[1]! <= sizes[0]! * 1.05, `${mode}: ${sizes.join(' → ')} bytes`);
  }
});

test('streaming mode: merged partials of two instances equal one instance over all the inputs, exactly', () => {
  const all = featureEnvelopes(5, 1000);
  const single = new WindowState(setup('streaming'), 1);
  const a = new WindowState(setup('streaming'), 2);
  const b = new WindowState(setup('streaming'), 3);
  all.forEach((e, i) => {
    single.add(e);
    (i % 3 === 0 ? a : b).add(e);
  });
  const merged = WindowState.fromJSON(setup('streaming'), JSON.parse(JSON.stringify(a.toJSON())) as never).merge(WindowState.fromJSON(setup('streaming'), JSON.parse(JSON.stringify(b.toJSON())) as never));
  const context = { topology: 't', node: 'd', window: { kind: 'time' as const, start: 0, end: 1 }, late: 0, instances: 1, driftShare: 0.5, columns: {}, now: 0 };
  const one = windowReport(single, context);
  const two = windowReport(merged, context);
  assert.deepEqual(
    two.columns.map((c) => [c.name, c.score, c.drifted]),
    one.columns.map((c) => [c.name, c.score, c.drifted]),
  );
  assert.deepEqual(two.dataset, one.dataset);
  assert.ok(Math.abs(two.embedding!.score - one.embedding!.score) < 1e-12);
});

test('time windows: late inputs are reported and kept out of the statistics', async () => {
  const m = monitor('streaming', { by: 'time', sizeMs: 60_000, slideMs: 60_000, allowedLatenessMs: 5_000 });
  const envelopes = featureEnvelopes(6, 200);
  const late = { ...envelopes[10]!, eventTime: 1000 };
  for (const e of envelopes.slice(0, 150)) m.add(e);
  m.add(late);
  for (const e of envelopes.slice(150)) m.add(e);
  await m.finish();
  const reports = m.handler.reports;
  assert.deepEqual(reports.map((r) => r.inputs), [60, 60, 60, 20]);
  assert.equal(reports.reduce((n, r) => n + r.late, 0), 1);
});
