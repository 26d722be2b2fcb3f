/**
 * Profile features: `saturation` in the stream's feature list, profiles written before it existed
 * (they load, and the feature is left out of their comparisons), and features read from JSON
 * records (flat, or the prediction records the sinks write).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriftInputError } from '../../src/drift/errors.js';
import { featureValue, featuresFromRecord, IMAGE_FEATURES } from '../../src/drift-monitor/features.js';
import { buildReferenceProfile, checkReferenceProfile, featuresOfProfile, profileFeatureSpecs } from '../../src/drift-monitor/profile.js';
import type { ProfileRow, ReferenceProfile } from '../../src/drift-monitor/profile.js';
import { resolveSetup } from '../../src/drift-monitor/setup.js';
import { windowReport } from '../../src/drift-monitor/report.js';
import { WindowState } from '../../src/drift-monitor/window-state.js';
import type { Envelope } from '../../src/core/envelope.js';

function row(i: number): ProfileRow {
  return { values: { brightness: 0.3 + (i % 10) / 100, contrast: 0.2, sharpness: 0.01 * (i % 3), saturation: 0.4 + (i % 7) / 100, width: 64, height: 48, format: 'jpeg' } };
}

void test('saturation is an image feature the stream reads from envelopes and profiles hold', () => {
  assert.ok(IMAGE_FEATURES.some((f) => f.name === 'saturation' && f.kind === 'numerical' && !f.integer));
  const spec = IMAGE_FEATURES.find((f) => f.name === 'saturation')!;
  const envelope = { image: { width: 1, height: 1, format: 'png', brightness: 0.5, contrast: 0, sharpness: 0, saturation: 0.25 } } as unknown as Envelope;
  assert.equal(featureValue(envelope, spec, []), 0.25);
  const profile = buildReferenceProfile(Array.from({ length: 30 }, (_, i) => row(i)), { sampleSize: 100 });
  assert.equal(profile.features.saturation?.kind, 'numerical');
  assert.equal(profile.features.saturation.count, 30);
});

void test('a profile without saturation (written before it existed) loads, and the stream monitors the features it has', () => {
  const built = buildReferenceProfile(Array.from({ length: 30 }, (_, i) => row(i)), { sampleSize: 100 });
  const { saturation: _dropped, ...features } = built.features;
  const old = checkReferenceProfile(JSON.parse(JSON.stringify({ ...built, features })), 'old.json');
  assert.ok(!('saturation' in old.features));
  const { setup } = resolveSetup(old, { mode: 'evidently', sampleCap: 100, embedding: false }, 'drift');
  assert.deepEqual(setup.features.map((f) => f.name), ['brightness', 'contrast', 'sharpness', 'width', 'height', 'format']);
  assert.deepEqual(featuresOfProfile(old).map((f) => f.name), ['brightness', 'contrast', 'sharpness', 'width', 'height', 'format']);
  // A window of envelopes that do have saturation: the report leaves it out.
  const state = new WindowState(setup, 1);
  for (let i = 0; i < 20; i += 1) {
    state.add({ eventTime: i, image: { width: 64, height: 48, format: 'jpeg', brightness: 0.3, contrast: 0.2, sharpness: 0.01, saturation: 0.9 } } as unknown as Envelope);
  }
  const report = windowReport(state, { topology: 't', node: 'drift', window: { kind: 'count', start: 0, end: 20 }, late: 0, instances: 1, driftShare: 0.5, columns: {}, now: 0 });
  assert.ok(!report.columns.some((c) => c.name === 'saturation'));
  assert.equal(report.columns.length, 6);
  // Asking for it by name is refused with the profile's features listed.
  assert.throws(() => resolveSetup(old, { mode: 'evidently', features: ['saturation'], sampleCap: 100, embedding: false }, 'drift'), /feature `saturation` is not in the reference profile/);
});

void test('model-output features are profiled whenever records have them, class names or not', () => {
  assert.deepEqual(profileFeatureSpecs([]).map((f) => f.name).slice(-2), ['class', 'confidence']);
  const rows: ProfileRow[] = Array.from({ length: 10 }, (_, i) => ({ values: { class: i % 2 === 0 ? 'a' : 'b', confidence: 0.5 + i / 100 } }));
  const profile: ReferenceProfile = buildReferenceProfile(rows, {});
  assert.deepEqual(Object.keys(profile.features), ['class', 'confidence']);
  const { setup } = resolveSetup(profile, { mode: 'streaming', sampleCap: 100, embedding: false }, 'drift');
  assert.deepEqual(setup.features.map((f) => f.name), ['class', 'confidence']);
});

void test('features from a flat record and from a prediction record', () => {
  const flat = featuresFromRecord({ brightness: 0.4, saturation: null, format: 'png', class: 'horse', confidence: 0.9, 'probability.horse': 0.9, 'probability.human': 0.1, embedding: [1, 2], other: 'x' });
  assert.equal(flat.values.brightness, 0.4);
  assert.equal(flat.values.saturation, undefined);
  assert.equal(flat.values.class, 'horse');
  assert.deepEqual(flat.classes, ['horse', 'human']);
  assert.deepEqual(flat.embedding, [1, 2]);
  assert.ok(!('other' in flat.values), 'other fields are read only when asked for');
  assert.equal(featuresFromRecord({ other: 3 }, ['other']).values.other, 3);

  const record = featuresFromRecord({
    id: 'a',
    label: 'human',
    image: { width: 320, height: 240, format: 'jpeg', brightness: 0.5, contrast: 0.2, sharpness: 0.01, saturation: 0.3 },
    prediction: { label: 'horse', classIndex: 0, confidence: 0.8, probabilities: { horse: 0.8, human: 0.2 } },
    model: { name: 'demo', version: '3' },
  });
  assert.deepEqual(record.values, {
    brightness: 0.5, contrast: 0.2, sharpness: 0.01, saturation: 0.3, width: 320, height: 240, format: 'jpeg',
    class: 'horse', confidence: 0.8, 'probability.horse': 0.8, 'probability.human': 0.2,
  });
  assert.deepEqual(record.classes, ['horse', 'human']);
  assert.deepEqual(record.model, { name: 'demo', version: '3' });
  // A flat field wins over the nested one.
  assert.equal(featuresFromRecord({ brightness: 0.1, image: { brightness: 0.9 } }).values.brightness, 0.1);
});

void test('a record with a field of the wrong type is refused with the field named', () => {
  assert.throws(() => featuresFromRecord([1, 2]), (e: unknown) => e instanceof DriftInputError && /not a JSON object/.test(e.message));
  assert.throws(() => featuresFromRecord({ brightness: '0.4' }), /`brightness` must be a number or null/);
  assert.throws(() => featuresFromRecord({ image: { width: 'wide' } }), /`image.width` must be a number or null/);
  assert.throws(() => featuresFromRecord({ prediction: { label: 'a', probabilities: { a: 'high' } } }), /`prediction.probabilities.a` must be a number/);
  assert.throws(() => featuresFromRecord({ embedding: [1, 'x'] }), /`embedding` must be an array of numbers/);
  assert.throws(() => featuresFromRecord({ format: { kind: 'png' } }), /`format` must be a string, a number or null/);
});
