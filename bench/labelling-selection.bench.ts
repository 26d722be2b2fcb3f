/**
 * What `select-for-labelling` costs and buys on a camera-like stream: generated scenes (horses,
 * humans and dogs, a class the demo model never saw), each seen as 5 consecutive frames that differ
 * by a little brightness and a 1-pixel shift, through the demo model; windows of 100 frames in
 * stream order, 10 picks each (no exploration). Reports the selection's cost per input (µs, the
 * median of `--runs`), that every window got exactly its budget, and how many picks were
 * near-duplicates of another pick in the same window (same scene) with and without the diversity
 * step, and the picks' mean confidence against the stream's.
 *
 *   npx tsx bench/labelling-selection.bench.ts [--scenes 200] [--runs 5]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readImageFolder } from '../src/datasets/drift-input.js';
import { renderImage } from '../src/demo/generate-images.js';
import { Random } from '../src/drift/state/random.js';
import type { Candidate } from '../src/labelling/selection.js';
import { selectForLabelling } from '../src/labelling/selection.js';
import { uncertainty } from '../src/labelling/uncertainty.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const SCENES = arg('scenes', 200);
const RUNS = arg('runs', 5);
const FRAMES = 5;
const WINDOW = 100;
const BUDGET = 10;
const MODEL = path.resolve('models/demo');

const dir = path.join(tmpdir(), `centaur-selection-bench-${SCENES}`);
const done = await readdir(dir).then((n) => n.includes('.complete'), () => false);
if (!done) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'frames'), { recursive: true });
  const classes = ['horse', 'human', 'dog'] as const;
  for (let s = 0; s < SCENES; s += 1) {
    const scene = await renderImage(classes[s % 3]!, 5000 + s, { width: 162, height: 122, quality: 85 });
    for (let f = 0; f < FRAMES; f += 1) {
      const frame = await sharp(scene).extract({ left: f % 2, top: (f >> 1) % 2, width: 160, height: 120 }).modulate({ brightness: 0.97 + 0.015 * f }).jpeg({ quality: 85 }).toBuffer();
      // Names sort in stream order: scene, then frame.
      await writeFile(path.join(dir, 'frames', `s${String(s).padStart(5, '0')}-f${f}.jpg`), frame);
    }
  }
  await writeFile(path.join(dir, '.complete'), 'done\n');
}
const data = await readImageFolder(dir, { model: MODEL }, { out: () => undefined, err: () => undefined });
const rows = data.rows.map((r, i) => ({ row: r, scene: Math.floor(i / FRAMES) }));
const windows: (typeof rows)[] = [];
for (let i = 0; i + WINDOW <= rows.length; i += WINDOW) windows.push(rows.slice(i, i + WINDOW));

function candidates(w: typeof rows, withEmbeddings: boolean): Candidate[] {
  return w.map((x, index) => {
    const probabilities = data.classes.map((c) => x.row.values[`probability.${c}`] as number);
    return { index, predicted: x.row.values.class as string, uncertainty: uncertainty('margin', probabilities), ...(withEmbeddings && x.row.embedding !== undefined ? { embedding: x.row.embedding } : {}) };
  });
}

function run(diversity: boolean): { perInputUs: number; exact: boolean; duplicates: number; picks: number; confidence: number } {
  const random = Random.fromSeed(1);
  let duplicates = 0;
  let picks = 0;
  let exact = true;
  let confidence = 0;
  const prepared = windows.map((w) => candidates(w, diversity));
  const started = process.hrtime.bigint();
  const chosen = prepared.map((c) => selectForLabelling(c, { budget: BUDGET, explorationShare: 0, stratify: true, diversityPool: diversity ? 4 : 1 }, random));
  const elapsedUs = Number(process.hrtime.bigint() - started) / 1000;
  chosen.forEach((p, i) => {
    if (p.length !== BUDGET) exact = false;
    const scenes = p.map((x) => windows[i]![x.index]!.scene);
    duplicates += scenes.length - new Set(scenes).size;
    picks += p.length;
    for (const x of p) confidence += windows[i]![x.index]!.row.values.confidence as number;
  });
  return { perInputUs: elapsedUs / (windows.length * WINDOW), exact, duplicates, picks, confidence: confidence / picks };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const meanConfidence = rows.reduce((a, x) => a + (x.row.values.confidence as number), 0) / rows.length;
console.log(`${rows.length} frames (${SCENES} scenes × ${FRAMES}), ${windows.length} windows of ${WINDOW}, ${BUDGET} picks each; stream mean confidence ${meanConfidence.toFixed(3)}`);
console.log('| selection | µs per input, median of runs [min–max] | every window got its budget | near-duplicate picks | picks\' mean confidence |');
console.log('|---|---|---|---|---|');
for (const diversity of [false, true]) {
  const results = Array.from({ length: RUNS }, () => run(diversity));
  const cost = results.map((r) => r.perInputUs);
  const r = results[0]!;
  console.log(`| ${diversity ? 'uncertainty + diversity (pool 4)' : 'uncertainty only'} | ${median(cost).toFixed(1)} [${Math.min(...cost).toFixed(1)}–${Math.max(...cost).toFixed(1)}] | ${r.exact ? 'yes' : 'no'} | ${r.duplicates} of ${r.picks} (${((100 * r.duplicates) / r.picks).toFixed(1)} %) | ${r.confidence.toFixed(3)} |`);
}
