/**
 * Active learning against random sampling, as a learning curve: a shifted camera stream (horses,
 * humans and dogs — a class the demo model never saw — 320×240) embedded once with the demo model;
 * windows of 100 frames in stream order, `--budget` labels per window. Each strategy labels
 * window by window and, after each window, retrains the head on every label so far (as
 * `centaur train` does: balanced weights, seeded) and is scored on a separate test stream:
 *   - active: `select-for-labelling`'s own selection (margin uncertainty under the current head —
 *     the parent's until a head exists — stratified by predicted class, diversity pool 4, an
 *     exploration share of 0.1), the loop the trainer closes;
 *   - random: the same number of labels per window, drawn uniformly.
 * Prints the median test accuracy over `--seeds` seeds (the stream order and the training seed
 * change) at each label count, the ceiling (the head with every stream frame labelled), and the
 * labels each strategy needs to come within a point of it.
 *
 *   npm run bench:active -- [--seeds 3] [--budget 10] [--frames 2400]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readImageFolder } from '../src/datasets/drift-input.js';
import type { ProfileRow } from '../src/drift-monitor/profile.js';
import { generateImages } from '../src/demo/generate-images.js';
import { Random } from '../src/drift/state/random.js';
import { selectForLabelling } from '../src/labelling/selection.js';
import type { Candidate } from '../src/labelling/selection.js';
import { uncertainty } from '../src/labelling/uncertainty.js';
import { classWeights } from '../src/training/class-weights.js';
import { evaluate } from '../src/training/evaluation.js';
import { headProbabilities, trainHead } from '../src/training/head-trainer.js';
import type { TrainedHead } from '../src/training/head-trainer.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const SEEDS = arg('seeds', 3);
const BUDGET = arg('budget', 10);
const FRAMES = arg('frames', 2400);
const WINDOW = 100;
const CLASSES = ['horse', 'human', 'dog'];
const MODEL = path.resolve('models/demo');

/** A generated folder, embedded with the demo model (cached across runs of the bench). */
async function embedded(name: string, count: number, seed: number): Promise<ProfileRow[]> {
  const dir = path.join(tmpdir(), `centaur-active-bench-${name}-${count}-${seed}`);
  if (!(await readdir(dir).then((n) => n.includes('.complete'), () => false))) {
    await rm(dir, { recursive: true, force: true });
    await generateImages({ outDir: dir, count, seed, width: 320, height: 240, classes: [...CLASSES] as ('horse' | 'human' | 'dog')[] });
    await writeFile(path.join(dir, '.complete'), 'done\n');
  }
  const data = await readImageFolder(dir, { model: MODEL, anyFolderLabel: true }, { out: () => undefined, err: () => undefined });
  return data.rows.filter((r) => r.label !== undefined && r.embedding !== undefined);
}

await mkdir(tmpdir(), { recursive: true });
const pool = await embedded('stream', FRAMES, 71_000);
const test = await embedded('test', 600, 72_000);
const testEmbeddings = test.map((r) => Float32Array.from(r.embedding as ArrayLike<number>));
const testLabels = test.map((r) => CLASSES.indexOf(r.label as string));

/** The head on the labelled rows (a tenth by index kept for early stopping), or undefined while a class has fewer than 2. */
async function fit(labelled: readonly ProfileRow[], seed: number): Promise<TrainedHead | undefined> {
  const labels = labelled.map((r) => CLASSES.indexOf(r.label as string));
  const counts = CLASSES.map((_, c) => labels.filter((l) => l === c).length);
  if (counts.some((n) => n < 2)) return undefined;
  const train = { embeddings: [] as Float32Array[], labels: [] as number[] };
  const validation = { embeddings: [] as Float32Array[], labels: [] as number[] };
  labelled.forEach((r, i) => {
    const part = i % 10 === 9 ? validation : train;
    part.embeddings.push(Float32Array.from(r.embedding as ArrayLike<number>));
    part.labels.push(labels[i] as number);
  });
  return trainHead(train, validation, { classes: CLASSES.length, classWeights: classWeights(CLASSES.map((_, c) => train.labels.filter((l) => l === c).length), 'balanced'), seed, maxEpochs: 100, batchSize: 256, learningRate: 0.01, l2: 0.0001, patience: 5 });
}

function accuracy(head: TrainedHead | undefined): number {
  if (head === undefined) return Number.NaN;
  return evaluate(testEmbeddings.map((e) => headProbabilities(head, e)), testLabels, CLASSES).accuracy ?? Number.NaN;
}

/** One strategy over the stream in `order`: the test accuracy after each window, with the label count. */
async function curve(strategy: 'active' | 'random', order: readonly ProfileRow[], seed: number): Promise<{ labels: number; accuracy: number }[]> {
  const random = Random.fromSeed(seed);
  const labelled: ProfileRow[] = [];
  const points: { labels: number; accuracy: number }[] = [];
  let head: TrainedHead | undefined;
  for (let start = 0; start + WINDOW <= order.length; start += WINDOW) {
    const window = order.slice(start, start + WINDOW);
    if (strategy === 'random') {
      const indices = window.map((_, i) => i);
      for (let i = indices.length - 1; i > 0; i--) {
        const j = random.below(i + 1);
        [indices[i], indices[j]] = [indices[j] as number, indices[i] as number];
      }
      for (const i of indices.slice(0, BUDGET)) labelled.push(window[i] as ProfileRow);
    } else {
      const candidates: Candidate[] = window.map((r, index) => {
        // Under the current head, or the parent's two classes until there is one.
        const probabilities = head === undefined ? ['horse', 'human'].map((c) => r.values[`probability.${c}`] as number) : [...headProbabilities(head, r.embedding as ArrayLike<number>)];
        const classes = head === undefined ? ['horse', 'human'] : CLASSES;
        const best = probabilities.indexOf(Math.max(...probabilities));
        return { index, predicted: classes[best] as string, uncertainty: uncertainty('margin', probabilities), embedding: r.embedding as ArrayLike<number> };
      });
      for (const pick of selectForLabelling(candidates, { budget: BUDGET, explorationShare: 0.1, stratify: true, diversityPool: 4 }, random)) labelled.push(window[pick.index] as ProfileRow);
    }
    head = await fit(labelled, seed);
    points.push({ labels: labelled.length, accuracy: accuracy(head) });
  }
  return points;
}

/** The median, or NaN while any seed has no head yet (a class without two labels). */
const median = (v: readonly number[]): number => {
  if (v.some((x) => Number.isNaN(x))) return Number.NaN;
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};
const results: Record<'active' | 'random', { labels: number; accuracy: number }[][]> = { active: [], random: [] };
const started = performance.now();
for (let seed = 1; seed <= SEEDS; seed++) {
  // Each seed: a different stream order (scenes shuffled), the same frames.
  const r = Random.fromSeed(1000 + seed);
  const order = [...pool];
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.below(i + 1);
    [order[i], order[j]] = [order[j] as ProfileRow, order[i] as ProfileRow];
  }
  for (const strategy of ['active', 'random'] as const) results[strategy].push(await curve(strategy, order, seed));
}
const windows = results.active[0]?.length ?? 0;
console.log(`${pool.length} stream frames (a third dogs), ${WINDOW} a window, ${BUDGET} labels per window; test: ${test.length} other frames; ${SEEDS} seeds; ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log('| labels | active: test accuracy, median [min–max] | random |');
console.log('|---|---|---|');
const fmt = (v: number[]): string => {
  const ok = v.filter((x) => !Number.isNaN(x));
  return ok.length < v.length ? `– (${v.length - ok.length} of ${v.length} seeds lack a class)` : `${(100 * median(v)).toFixed(1)} % [${(100 * Math.min(...ok)).toFixed(1)}–${(100 * Math.max(...ok)).toFixed(1)}]`;
};
for (let w = 0; w < windows; w++) {
  const labels = results.active[0]?.[w]?.labels ?? 0;
  console.log(`| ${labels} | ${fmt(results.active.map((c) => c[w]?.accuracy ?? Number.NaN))} | ${fmt(results.random.map((c) => c[w]?.accuracy ?? Number.NaN))} |`);
}
// The ceiling: the same head with every stream frame labelled.
const all = await fit(pool, 1);
const ceiling = accuracy(all);
const target = ceiling - 0.01;
const needed = (strategy: 'active' | 'random'): number | undefined => {
  for (let w = 0; w < windows; w++) if (median(results[strategy].map((c) => c[w]?.accuracy ?? Number.NaN)) >= target) return results[strategy][0]?.[w]?.labels;
  return undefined;
};
const active = needed('active');
const random = needed('random');
console.log(`every one of the ${pool.length} stream frames labelled: ${(100 * ceiling).toFixed(1)} % on the test frames`);
console.log(`labels to reach within 1 point of that (${(100 * target).toFixed(1)} %), median over seeds: active ${active ?? `not within ${windows * BUDGET}`}, random ${random ?? `not within ${windows * BUDGET}`}${active !== undefined && random !== undefined ? ` (active ÷ random ${(active / random).toFixed(2)})` : ''}`);
