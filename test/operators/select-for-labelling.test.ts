/**
 * `select-for-labelling` in a running topology on generated images, a third of them dogs (a class
 * the demo model never saw): the budget holds in every window, the picks are the uncertain inputs
 * (their mean confidence well below the rest's), each marked with its strategy, score and window;
 * inputs not picked count as done, so every input completes once and the other branch's
 * predictions are all there. A window that does not fill closes after `maxWaitMs`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { createLogger } from '../../src/core/logger.js';
import type { Envelope } from '../../src/core/envelope.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { PredictionRecord } from '../../src/formats/prediction-record.js';
import { Value } from '@sinclair/typebox/value';
import { createSelectForLabelling, SelectForLabellingOptions } from '../../src/operators/select-for-labelling.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { predictedEnvelope } from '../helpers/envelopes.js';
import { readJsonLines } from '../helpers/jsonl-files.js';

const MODEL = path.resolve('models/demo');

test('in a topology: the budget holds per window, the picks are the uncertain ones, every input completes once', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-select-'));
  await generateImages({ outDir: path.join(dir, 'images'), count: 240, seed: 4242, width: 96, height: 72, classes: ['horse', 'human', 'dog'] });
  const file = path.join(dir, 'select.yaml');
  await writeFile(
    file,
    `version: 1
name: select
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  all: { kind: files-sink, from: [infer], dir: all }
  select:
    kind: select-for-labelling
    from: [infer]
    window: { size: 60 }
    budget: { perWindow: 6 }
    explorationShare: 0
    archive: { uri: lake }
  picked: { kind: files-sink, from: [select], dir: picked }
`,
  );
  const summary = await new Runtime(await loadTopologyFile(file), { logger: createLogger('silent') }).run();
  assert.equal(summary.inputs, 240);
  assert.equal(summary.completed, 240, 'every input completes once, picked or not');
  assert.equal(summary.deadLetters, 0);
  const all = await readJsonLines<PredictionRecord>(path.join(dir, 'all'), 'all');
  const picked = await readJsonLines<PredictionRecord>(path.join(dir, 'picked'), 'picked');
  assert.equal(all.length, 240, 'the prediction branch has every input');
  assert.ok(all.every((r) => r.labelling === undefined), 'the mark stays on the selection branch');
  assert.equal(picked.length, 24, '6 per window of 60, 4 windows');
  const perWindow = new Map<number, number>();
  for (const r of picked) perWindow.set(r.labelling!.window, (perWindow.get(r.labelling!.window) ?? 0) + 1);
  assert.deepEqual([...perWindow.values()], [6, 6, 6, 6]);
  assert.ok(picked.every((r) => r.labelling!.node === 'select' && r.labelling!.method === 'margin' && ['uncertainty', 'diversity'].includes(r.labelling!.strategy)));
  const pickedIds = new Set(picked.map((r) => r.id));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pickedConfidence = mean(picked.map((r) => r.prediction!.confidence));
  const restConfidence = mean(all.filter((r) => !pickedIds.has(r.id)).map((r) => r.prediction!.confidence));
  assert.ok(pickedConfidence < restConfidence - 0.1, `picked inputs are the uncertain ones: mean confidence ${pickedConfidence.toFixed(3)} against ${restConfidence.toFixed(3)}`);
  // Each pick's original bytes are archived in the lake, content-addressed, and the mark names them.
  for (const r of picked) {
    const archivedUri = r.labelling!.imageUri!;
    const original = await readFile(fileURLToPath(r.source.uri!));
    const sha = createHash('sha256').update(original).digest('hex');
    assert.equal(archivedUri, pathToFileURL(path.join(dir, 'lake', 'labelling', sha.slice(0, 2), `${sha}.jpg`)).href);
    assert.ok((await readFile(fileURLToPath(archivedUri))).equals(original));
  }
  const dogs = picked.filter((r) => r.source.uri?.includes('/dogs/') === true).length;
  assert.ok(dogs >= 8, `dogs (a third of the inputs, a class the model never saw) take ${dogs} of 24 picks`);
});

function envelope(i: number, confidence: number): Envelope {
  return predictedEnvelope(`e${i}`, { eventTime: i, position: { source: 's', partition: '0', offset: i } }, confidence);
}

test('an input without a prediction is a dead letter naming the fix; the others are picked as usual', () => {
  const scheduler = new VirtualTimeScheduler();
  const operator = createSelectForLabelling(Value.Default(SelectForLabellingOptions, { window: { size: 3 }, budget: { perWindow: 1 }, explorationShare: 0 }) as never);
  const input = new Subject<Envelope>();
  const failed: string[] = [];
  const out: string[] = [];
  operator.apply(input, { nodeId: 'select', scheduler, fail: (e, error) => failed.push(`${e.id}: ${(error as Error).message}`), drop: () => undefined }).subscribe((e) => out.push((e as Envelope).id));
  const unpredicted = { ...envelope(9, 0.5), prediction: undefined } as unknown as Envelope;
  [envelope(0, 0.9), unpredicted, envelope(2, 0.6)].forEach((e) => input.next(e));
  assert.deepEqual(out, ['e2']);
  assert.deepEqual(failed, ['e9: the input has no prediction to rank for labelling; put `infer` before `select-for-labelling`']);
  input.complete();
});

test('a window that does not fill closes after maxWaitMs; the rest are dropped, not failed', () => {
  const scheduler = new VirtualTimeScheduler();
  const options = Value.Default(SelectForLabellingOptions, { window: { size: 100, maxWaitMs: 1000 }, budget: { perWindow: 2 }, explorationShare: 0 }) as never;
  const operator = createSelectForLabelling(options);
  const input = new Subject<Envelope>();
  const dropped: string[] = [];
  const out: string[] = [];
  operator.apply(input, { nodeId: 'select', scheduler, fail: () => assert.fail('nothing fails'), drop: (e) => dropped.push(e.id) }).subscribe((e) => out.push((e as Envelope).id));
  [0.99, 0.55, 0.9, 0.6].forEach((c, i) => input.next(envelope(i, c)));
  assert.deepEqual(out, [], 'held until the window closes');
  scheduler.flush();
  assert.deepEqual(out.sort(), ['e1', 'e3'], 'the two least confident');
  assert.deepEqual(dropped.sort(), ['e0', 'e2']);
  input.complete();
});
