/**
 * The demo grows a class: `centaur train` on a folder of generated horse, human and dog images,
 * embedded with the demo model's own decode and backbone, gives a blessed 3-class version; served
 * by the same pipeline (decode-image with the model's settings, micro-batch, infer), it names dogs
 * on images it never saw. The same from the TF.js graph model gives a TF.js version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { readImageFolder } from '../../src/datasets/drift-input.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { TrainingReport } from '../../src/training/training-report.js';

test('a folder of horse, human and dog images → a blessed 3-class version that serves dogs', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-train-images-'));
  await generateImages({ outDir: path.join(dir, 'train'), count: 450, seed: 7, width: 320, height: 240, classes: ['horse', 'human', 'dog'] });
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['train', path.join(dir, 'train'), '--model', 'models/demo', '--out', path.join(dir, 'run'), '--quiet'], { out: (s) => out.push(s), err: (s) => err.push(s) });
  assert.equal(code, 0, err.join('\n'));
  const report = JSON.parse(await readFile(path.join(dir, 'run', 'report.json'), 'utf8')) as TrainingReport;
  assert.deepEqual(report.classes, ['horse', 'human', 'dog']);
  assert.equal(report.trainingSet.rows, 450);
  assert.match(report.trainingSet.contentHash, /^[0-9a-f]{64}$/);
  assert.equal(report.production.perClass.dog?.recall, 0, 'the parent never says dog');
  assert.ok((report.candidate.perClass.dog?.recall ?? 0) >= 0.8, JSON.stringify(report.candidate.perClass.dog));

  // Served by the serving components on images it never saw.
  await generateImages({ outDir: path.join(dir, 'fresh'), count: 150, seed: 99, width: 320, height: 240, classes: ['horse', 'human', 'dog'] });
  const served = await readImageFolder(path.join(dir, 'fresh'), { model: path.join(dir, 'run', 'model') }, { out: () => undefined, err: () => undefined });
  assert.equal(served.rows.length, 150);
  const correct = served.rows.filter((r) => r.label === r.predicted).length;
  const dogs = served.rows.filter((r) => r.label === 'dog');
  assert.equal(dogs.length, 50);
  assert.ok(correct / 150 >= 0.9, `accuracy ${correct / 150}`);
  assert.ok(dogs.filter((r) => r.predicted === 'dog').length / 50 >= 0.85, 'dogs are named dogs');
});

test('the same from the TF.js graph model: a 3-class TF.js version, served by TensorFlow.js', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-train-tfjs-'));
  await generateImages({ outDir: path.join(dir, 'train'), count: 240, seed: 7, width: 320, height: 240, classes: ['horse', 'human', 'dog'] });
  const err: string[] = [];
  const code = await main(['train', path.join(dir, 'train'), '--model', 'models/demo-tfjs', '--out', path.join(dir, 'run'), '--quiet'], { out: () => undefined, err: (s) => err.push(s) });
  assert.equal(code, 0, err.join('\n'));
  const manifest = JSON.parse(await readFile(path.join(dir, 'run', 'model', 'manifest.json'), 'utf8')) as { format: string; classes: string[] };
  assert.equal(manifest.format, 'tfjs');
  assert.deepEqual(manifest.classes, ['horse', 'human', 'dog']);
  await generateImages({ outDir: path.join(dir, 'fresh'), count: 30, seed: 99, width: 320, height: 240, classes: ['horse', 'human', 'dog'] });
  const served = await readImageFolder(path.join(dir, 'fresh'), { model: path.join(dir, 'run', 'model') }, { out: () => undefined, err: () => undefined });
  assert.equal(served.rows.length, 30);
  const correct = served.rows.filter((r) => r.label === r.predicted).length;
  assert.ok(correct / 30 >= 0.8, `the TF.js version names the three classes (${correct} of 30)`);
  assert.ok(served.rows.some((r) => r.predicted === 'dog'));
});
