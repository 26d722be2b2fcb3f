/**
 * A drift node following model versions: a stream served by version 1 (compared with the profile
 * published with it), then by version 2 — trained for a shift, published without a profile — whose
 * inputs are shifted. Following versions, the node builds version 2's reference from its first
 * inputs, reports its windows against it, and asks for no retraining; a node with version 1's
 * profile alone calls the same windows drifted and asks. Stragglers of version 1 are left out and
 * counted, and a published profile outside its version's folder is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { Envelope } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { CentaurMetrics } from '../../src/observability/metrics.js';
import { featureValue } from '../../src/drift-monitor/features.js';
import { buildCalibratedProfile } from '../../src/drift-monitor/calibration.js';
import { profileFeatureSpecs, writeReferenceProfile } from '../../src/drift-monitor/profile.js';
import { createDriftMonitor, drift, DriftOptions } from '../../src/operators/drift.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { demoModelCopy } from '../helpers/training-rows.js';
import { featureEnvelopes } from './stream-helpers.js';

const WINDOW = 50;
const logger = createLogger('silent');
const V1 = ['horse', 'human'];
const V2 = ['horse', 'human', 'dog'];

/** Envelopes of version 2: brighter images and embeddings, a third of them called dogs. */
function version2(seed: number, count: number, offset: number): Envelope[] {
  return featureEnvelopes(seed, count, { brightness: 0.8, offset }).map((e, i) => {
    const p = e.prediction!.confidence;
    const dog = i % 3 === 2;
    const label = dog ? 'dog' : e.prediction!.label;
    const probabilities = dog ? [(1 - p) / 2, (1 - p) / 2, p] : label === 'horse' ? [p, 1 - p, 0] : [1 - p, p, 0];
    return { ...e, prediction: { label, classIndex: V2.indexOf(label), confidence: p, probabilities }, model: { name: 'demo', version: '2', classes: V2 } };
  });
}

/** A registry with version 1 (its calibrated profile published beside it) and version 2 (none), production on 1. */
async function registry(dir: string, profileName = 'reference-profile.json'): Promise<void> {
  const models = new ModelRegistry(path.join(dir, 'registry'));
  const v1 = await demoModelCopy(path.join(dir, 'v1'), 'demo');
  const rows = featureEnvelopes(1, 1200).map((e) => ({ values: Object.fromEntries(profileFeatureSpecs(V1).map((s) => [s.name, featureValue(e, s, V1)])), embedding: e.embedding! }));
  const { profile } = buildCalibratedProfile(rows, { model: { name: 'demo', version: '1', classes: V1 } }, { sizes: [WINDOW], windows: 200 });
  await writeReferenceProfile(path.join(v1, 'reference-profile.json'), profile);
  const manifest = path.join(v1, 'manifest.json');
  await writeFile(manifest, JSON.stringify({ ...(JSON.parse(await readFile(manifest, 'utf8')) as Record<string, unknown>), referenceProfile: profileName }));
  await models.register(v1, { version: '1', aliases: ['production'] });
  await models.register(await demoModelCopy(path.join(dir, 'v2'), 'demo'), { version: '2' });
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs envelopes through a drift node built from `options`; returns its reports, requests and metrics text. */
async function run(dir: string, options: Record<string, unknown>, envelopes: readonly Envelope[]): Promise<{ reports: { model: { version: string }; dataset: { datasetDrift: boolean } }[]; requests: { model: { version: string } }[]; metrics: string }> {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const filled = Value.Default(DriftOptions, { window: { by: 'count', size: WINDOW }, reports: { files: { dir: out } }, retrain: { consecutive: 2, files: { dir: out } }, ...options }) as DriftOptions;
  assert.deepEqual(drift.validate?.(filled, { nodeId: 'drift', baseDir: dir }) ?? [], []);
  const metrics = new CentaurMetrics('t', '0', [], { inFlight: () => ({ count: 0, bytes: 0, paused: false }), ready: () => true, running: () => true, totals: () => ({ completed: 0, deadLetters: 0, correct: 0, labelled: 0 }) }, drift.metrics);
  const { monitor, close } = await createDriftMonitor(filled, { nodeId: 'drift', topologyName: 't', baseDir: dir, logger, metrics: metrics.forNode('drift') });
  for (const envelope of envelopes) monitor.add(envelope);
  await monitor.finish();
  await close();
  return {
    reports: (await lines(path.join(out, 'drift-reports.jsonl'))) as never,
    requests: (await lines(path.join(out, 'drift-retrain-requests.jsonl'))) as never,
    metrics: (await metrics.render(false)).body,
  };
}

test('following versions, a version trained for a shift is compared with its own warm-up reference and asks for no retraining', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-follow-'));
  await registry(dir);
  const stream = [...featureEnvelopes(2, 300), ...version2(3, 1000, 300), ...featureEnvelopes(4, 5, { offset: 1300 }), ...version2(5, 400, 1305)];

  const followed = await run(dir, { follow: { registry: 'registry', name: 'demo' } }, stream);
  const byVersion = (v: string): typeof followed.reports => followed.reports.filter((r) => r.model.version === v);
  assert.equal(byVersion('1').length, 300 / WINDOW, 'version 1: six windows against its published profile');
  assert.ok(byVersion('1').every((r) => !r.dataset.datasetDrift), 'version 1 is stationary');
  // Version 2: 10 × 50 inputs of warm-up, then (1000 − 500 + 400) / 50 = 18 windows against its own reference.
  assert.equal(byVersion('2').length, 18);
  assert.ok(byVersion('2').filter((r) => r.dataset.datasetDrift).length <= 1, 'version 2 against its own reference is stationary');
  assert.deepEqual(followed.requests, [], 'no retrain request');
  assert.match(followed.metrics, /centaur_drift_unmonitored_inputs_total\{[^}]*reason="warm_up"[^}]*\} 500/);
  assert.match(followed.metrics, /centaur_drift_unmonitored_inputs_total\{[^}]*reason="retired_version"[^}]*\} 5/);

  // The same stream against version 1's profile alone: version 2's windows drift and ask to retrain.
  const fixed = await run(dir, { model: { path: 'registry/demo/versions/1' } }, stream);
  assert.ok(fixed.reports.filter((r) => r.model.version === '2' && r.dataset.datasetDrift).length >= 15);
  assert.equal(fixed.requests.length, 1);
  assert.equal(fixed.requests[0]!.model.version, '2');
});

test('a version\'s published profile is used as it is; one named outside its folder is refused and its inputs are counted unmonitored', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-follow-'));
  await registry(dir);
  // Starting on version 2 (no profile): warm-up first; with a profile given for the starting version, none.
  const warm = await run(dir, { follow: { registry: 'registry', name: 'demo', alias: '2', warmUp: { inputs: 100 } } }, version2(6, 300, 0));
  assert.equal(warm.reports.length, 200 / WINDOW);
  const outside = await mkdtemp(path.join(tmpdir(), 'centaur-follow-outside-'));
  await registry(outside, '../../../../v1/parent/reference-profile.json');
  await assert.rejects(run(outside, { follow: { registry: 'registry', name: 'demo' } }, []), /outside the version's folder/);
});

test('`follow` needs no profile, and refuses window partials', () => {
  const base = { window: { by: 'count', size: WINDOW } };
  const problems = (o: Record<string, unknown>): string[] => (drift.validate?.(Value.Default(DriftOptions, { ...base, ...o }) as DriftOptions, { nodeId: 'drift', baseDir: '.' }) ?? []).map((p) => p.message);
  assert.deepEqual(problems({ follow: { registry: 'r', name: 'demo' } }), []);
  assert.match(problems({}).join(), /give `profile`/);
  assert.match(problems({ follow: { registry: 'r', name: 'demo' }, partials: { kafka: { brokers: ['b:9092'], topic: 't' } } }).join(), /restarts its windows/);
});
