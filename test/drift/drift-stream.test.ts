/**
 * The drift operator in a running topology on generated images: a reference profile built by
 * `centaur drift profile`'s command body from one generated set, then a stream of another set whose
 * last windows are darkened — no dataset drift before the shift, drift within two windows after it,
 * one retrain request, and the report records, metrics and live summary carry the windows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { driftProfileCommand } from '../../src/cli/drift-profile.js';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { writeShiftedStream } from '../helpers/drift-images.js';

const MODEL = path.resolve('models/demo');
const WINDOW = 100;

test('drift in a topology: quiet before a brightness shift, detected within two windows after it, one retrain request', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-drift-'));
  const referenceDir = path.join(dir, 'reference');
  await generateImages({ outDir: referenceDir, count: 1000, seed: 31_000, width: 96, height: 72 });
  const profile = path.join(dir, 'profile.json');
  const out: string[] = [];
  const code = await driftProfileCommand(referenceDir, { out: profile, model: MODEL, calibrateSizes: String(WINDOW) }, { out: (t) => out.push(t), err: (t) => out.push(t) });
  assert.equal(code, 0, out.join('\n'));
  await writeShiftedStream(path.join(dir, 'images'), 8 * WINDOW, 32_000, 2 * WINDOW);
  const file = path.join(dir, 'topology.yaml');
  await writeFile(
    file,
    `version: 1
name: drift-stream
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  drift:
    kind: drift
    from: [infer]
    profile: profile.json
    window: { by: count, size: ${WINDOW} }
    reports: { files: { dir: out } }
    retrain: { consecutive: 2, files: { dir: out } }
  out: { kind: files-sink, from: [drift], dir: out }
`,
  );
  const topology = await loadTopologyFile(file);
  const runtime = new Runtime(topology, { logger: createLogger('silent') });
  const summary = await runtime.run();
  assert.equal(summary.deadLetters, 0);
  const reports = (await readFile(path.join(dir, 'out', 'drift-reports.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { window: { start: number }; inputs: number; dataset: { datasetDrift: boolean; shareOfDriftedColumns: number }; columns: { name: string; drifted: boolean; score: number }[] });
  assert.equal(reports.length, 8);
  assert.ok(reports.every((r) => r.inputs === WINDOW));
  const verdicts = reports.map((r) => r.dataset.datasetDrift);
  assert.deepEqual(verdicts.slice(0, 6), [false, false, false, false, false, false], `before the shift: ${JSON.stringify(reports.map((r) => r.dataset.shareOfDriftedColumns))}`);
  assert.ok(verdicts[6] === true || verdicts[7] === true, 'drift within two windows of the shift');
  const brightness = reports.map((r) => r.columns.find((c) => c.name === 'brightness')!);
  assert.ok(brightness[6]!.drifted && brightness[7]!.drifted);
  const requests = (await readFile(path.join(dir, 'out', 'drift-retrain-requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reason: string; reasons: string[]; windows: { start: number }[] });
  assert.equal(requests.length, 1);
  // The calibrated profile's default condition: any of dataset and embedding drift, quiet until the shift.
  assert.equal(requests[0]!.reason, 'anyOf(dataset, embedding)');
  assert.deepEqual(requests[0]!.windows.map((w) => w.start), [6 * WINDOW, 7 * WINDOW]);
  assert.ok(requests[0]!.reasons.includes('dataset'));
  assert.ok(reports.every((r) => (r as unknown as { thresholds: string }).thresholds === 'calibrated'));
  const metrics = (await runtime.metrics.render(false)).body;
  assert.match(metrics, /centaur_drift_detected\{topology="drift-stream",node="drift",model="horse-or-human",version="[^"]+"\} 1/);
  assert.match(metrics, /centaur_retrain_requests_total\{[^}]*outcome="sent"\} 1/);
  const drift = runtime.metrics.driftSummary();
  assert.equal(drift?.nodes[0]?.windows, 8);
  assert.equal(drift?.nodes[0]?.retrainRequests, 1);
});
