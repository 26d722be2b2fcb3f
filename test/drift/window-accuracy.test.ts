/**
 * Labelled accuracy in drift windows: counted per window from envelopes with a label and a
 * prediction, merged across panes and instance partials, reported (with the profile's reference
 * accuracy), carried by the Avro DriftReport, and driving `retrain: { on: accuracy }` on windows
 * of controlled accuracy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import avro from 'avsc';
import { createLogger } from '../../src/core/logger.js';
import { NO_METRICS } from '../../src/core/metric-family.js';
import { DriftMetrics } from '../../src/drift-monitor/drift-metrics.js';
import type { Envelope } from '../../src/core/envelope.js';
import { featureValue } from '../../src/drift-monitor/features.js';
import { DriftMonitor, reportRecord } from '../../src/drift-monitor/monitor.js';
import { buildReferenceProfile, profileFeatureSpecs } from '../../src/drift-monitor/profile.js';
import type { ReferenceProfile } from '../../src/drift-monitor/profile.js';
import { parseReportRecord, windowReport } from '../../src/drift-monitor/report.js';
import type { DriftReport } from '../../src/drift-monitor/report.js';
import { WindowState } from '../../src/drift-monitor/window-state.js';
import type { WindowSetup, WindowStateJson } from '../../src/drift-monitor/window-state.js';
import { featureEnvelopes } from './stream-helpers.js';
import { parseTopology } from '../../src/topology/load.js';

const CLASSES = ['horse', 'human'];
const logger = createLogger('silent');

function profileOf(envelopes: readonly Envelope[], accuracy?: { labelled: number; correct: number }): ReferenceProfile {
  const specs = profileFeatureSpecs(CLASSES);
  const rows = envelopes.map((e) => ({ values: Object.fromEntries(specs.map((s) => [s.name, featureValue(e, s, CLASSES)])), embedding: e.embedding }));
  const profile = buildReferenceProfile(rows, { model: { name: 'demo', version: '1', classes: CLASSES }, createdAt: new Date(0) });
  return accuracy === undefined ? profile : ({ ...profile, accuracy });
}

const PROFILE = profileOf(featureEnvelopes(1, 300), { labelled: 200, correct: 180 });

function setup(profile = PROFILE): WindowSetup {
  return { profile, mode: 'streaming', features: profileFeatureSpecs(CLASSES).filter((f) => profile.features[f.name] !== undefined), sampleCap: 1000, embedding: true };
}

/** Envelopes labelled so that a share `accuracy` of them (the first ones) is predicted right; `unlabelled` more without a label. */
function labelled(seed: number, count: number, accuracy: number, offset = 0): Envelope[] {
  const right = Math.round(count * accuracy);
  return featureEnvelopes(seed, count, { offset, start: offset * 1000 }).map((e, i) => {
    const truth = i < right ? e.prediction!.label : e.prediction!.label === 'horse' ? 'human' : 'horse';
    return { ...e, label: truth };
  });
}

const context = { topology: 't', node: 'drift', window: { kind: 'count' as const, start: 0, end: 100 }, late: 0, instances: 1, driftShare: 0.5, columns: {}, now: 5 };

test('a window counts labelled predictions and the correct ones; inputs without a label or a prediction are left out', () => {
  const state = new WindowState(setup(), 1);
  for (const e of labelled(2, 40, 0.75)) state.add(e);
  for (const e of featureEnvelopes(3, 10)) state.add(e);
  const noPrediction = { ...featureEnvelopes(4, 1)[0]!, label: 'horse' };
  delete noPrediction.prediction;
  state.add(noPrediction);
  assert.equal(state.count, 51);
  assert.deepEqual([state.labelled, state.correct], [40, 30]);
  const report = windowReport(state, context);
  assert.deepEqual(report.accuracy, { labelled: 40, correct: 30, ratio: 0.75, reference: 0.9 });
});

test('a window without labels reports no accuracy, and a profile without accuracy gives no reference', () => {
  const state = new WindowState(setup(profileOf(featureEnvelopes(1, 300))), 1);
  for (const e of featureEnvelopes(3, 10)) state.add(e);
  assert.equal(windowReport(state, context).accuracy, null);
  for (const e of labelled(5, 10, 0.5)) state.add(e);
  assert.deepEqual(windowReport(state, context).accuracy, { labelled: 10, correct: 5, ratio: 0.5, reference: null });
});

test('labelled counts merge across panes and instance partials, and survive JSON; older partials without them read as none', () => {
  const a = new WindowState(setup(), 1);
  const b = new WindowState(setup(), 2);
  for (const e of labelled(6, 30, 0.9)) a.add(e);
  for (const e of labelled(7, 20, 0.5, 30)) b.add(e);
  const merged = WindowState.fromJSON(setup(), JSON.parse(JSON.stringify(a.toJSON())) as WindowStateJson).merge(WindowState.fromJSON(setup(), JSON.parse(JSON.stringify(b.toJSON())) as WindowStateJson));
  assert.deepEqual([merged.labelled, merged.correct], [50, 27 + 10]);
  const { labelled: _labelled, correct: _correct, ...older } = a.toJSON();
  const read = WindowState.fromJSON(setup(), older);
  assert.deepEqual([read.labelled, read.correct], [0, 0]);
  assert.throws(() => WindowState.fromJSON(setup(), { ...a.toJSON(), labelled: 3, correct: 4 }), /invalid labelled counts/);
});

test('the report record carries accuracy through the Avro DriftReport schema, and reads back as the same report', async () => {
  const state = new WindowState(setup(), 1);
  for (const e of labelled(8, 60, 0.8)) state.add(e);
  const report = windowReport(state, context);
  const type = avro.Type.forSchema(JSON.parse(await readFile('schemas/avro/drift-report.avsc', 'utf8')) as avro.Schema);
  const decoded = type.fromBuffer(type.toBuffer(reportRecord(report))) as unknown;
  const back = parseReportRecord(JSON.parse(JSON.stringify(decoded)));
  assert.deepEqual(back.accuracy, report.accuracy);
  assert.deepEqual(back.columns.map((c) => [c.name, c.score, c.drifted]), report.columns.map((c) => [c.name, c.score, c.drifted]));
  assert.deepEqual(back.window, report.window);
  // A record written with the first schema version (no accuracy) still reads, with no accuracy.
  const v1 = avro.Type.forSchema(JSON.parse(await readFile('schemas/avro/history/drift-report/v1.avsc', 'utf8')) as avro.Schema);
  const old = v1.fromBuffer(v1.toBuffer(reportRecord({ ...report, accuracy: null }))) as unknown;
  assert.equal(parseReportRecord(old).accuracy, null);
  // And a v2 reader reads v1 data.
  assert.equal((type.fromBuffer(v1.toBuffer(reportRecord({ ...report, accuracy: null })), type.createResolver(v1)) as { accuracy: unknown }).accuracy, null);
});

test('a record that is not a drift report is refused with the field at fault', () => {
  const state = new WindowState(setup(), 1);
  for (const e of labelled(9, 10, 1)) state.add(e);
  const good = JSON.parse(JSON.stringify(reportRecord(windowReport(state, context)))) as Record<string, unknown>;
  assert.doesNotThrow(() => parseReportRecord(good));
  assert.throws(() => parseReportRecord({ ...good, window: { kind: 'week', start: 0, end: 1 } }), /not a drift report: `window.kind`/);
  assert.throws(() => parseReportRecord({ ...good, columns: [{ name: 'brightness' }] }), /not a drift report: `columns.0.method`/);
  assert.throws(() => parseReportRecord({ image: 'abc' }), /not a drift report/);
  assert.throws(() => parseReportRecord({ ...good, accuracy: { labelled: 2, correct: 3, ratio: 1.5 } }), /correct` is above/);
  assert.throws(() => parseReportRecord(null), /not a drift report/);
});

test('retrain on accuracy: windows of controlled accuracy give one request per episode; a window with too few labels does not break a streak', async () => {
  const monitor = new DriftMonitor({
    topology: 't',
    node: 'drift',
    setup: setup(),
    window: { by: 'count', size: 50, slide: 50 },
    seed: 3,
    driftShare: 0.5,
    columns: {},
    retrain: { on: 'accuracy', consecutive: 2, recovery: 2, cooldownMs: 0, accuracyDrop: 0.1, minLabelled: 20 },
    metrics: new DriftMetrics(NO_METRICS, 'drift'),
    logger,
    clock: () => 0,
  });
  monitor.handler.keep = 100;
  // Labelled inputs and accuracy per window (reference 0.9, drop 0.1): the fourth window is perfect
  // but has only 10 labels, so the streak of the third and fifth goes on.
  const windows: [number, number][] = [[50, 0.9], [50, 0.88], [50, 0.7], [10, 1], [50, 0.72], [50, 0.9], [50, 0.9], [50, 0.7], [50, 0.7]];
  let offset = 0;
  for (const [count, accuracy] of windows) {
    const inputs = labelled(100 + offset, 50, accuracy, offset).map((e, i) => (i < count ? e : { ...e, label: undefined }));
    for (const e of inputs) monitor.add(e);
    offset += 50;
  }
  await monitor.finish();
  const reports: DriftReport[] = monitor.handler.reports;
  assert.deepEqual(reports.map((r) => r.accuracy?.labelled), [50, 50, 50, 10, 50, 50, 50, 50, 50]);
  assert.deepEqual(reports.map((r) => r.accuracy?.ratio), [0.9, 0.88, 0.7, 1, 0.72, 0.9, 0.9, 0.7, 0.7]);
  assert.deepEqual(monitor.handler.requests.map((r) => r.windows.map((w) => w.start)), [[100, 200], [350, 400]]);
  assert.deepEqual(monitor.handler.requests[0]!.windows.map((w) => w.accuracy), [0.7, 0.72]);
});

test('the drift operator and drift-merge-source take the accuracy conditions in their retrain block', () => {
  const yaml = (retrain: string): string => `version: 1
name: t
nodes:
  images: { kind: files-source, path: imgs }
  drift: { kind: drift, from: [images], profile: p.json, retrain: ${retrain} }
  out: { kind: files-sink, from: [drift], dir: o }
  merge: { kind: drift-merge-source, brokers: [b], topic: partials, groupId: g, instances: 2, profile: p.json, retrain: ${retrain} }
  merged: { kind: files-sink, from: [merge], dir: m }
`;
  const topology = parseTopology(yaml('{ on: accuracy, accuracyDrop: 0.1, minLabelled: 20, baselineAccuracy: 0.95, files: { dir: r } }'), 't.yaml', { env: {} });
  assert.equal((topology.nodes.get('drift')?.options.retrain as { accuracyDrop: number }).accuracyDrop, 0.1);
  assert.equal((topology.nodes.get('merge')?.options.retrain as { minLabelled: number }).minLabelled, 20);
  assert.throws(() => parseTopology(yaml('{ on: accuracy, accuracyDrop: 2 }'), 't.yaml', { env: {} }), /accuracyDrop/);
});
