/**
 * Training time of a classification head: 10,000 embeddings of 1,280 dims in 3 classes (one rarer),
 * clustered with heavy noise so the head needs a realistic number of epochs, trained as
 * `centaur train` does (balanced class weights, batch 256, Adam 0.01, L2 1e-4, patience 5, up to
 * 100 epochs) on 1,000 validation embeddings; prints each run's seconds, epochs and holdout
 * accuracy, then the median and range. Usage: npm run bench:train -- [--runs 3] [--examples 10000]
 */
import { parseArgs } from 'node:util';
import { Random } from '../src/drift/state/random.js';
import { classWeights } from '../src/training/class-weights.js';
import { evaluate } from '../src/training/evaluation.js';
import { headProbabilities, trainHead } from '../src/training/head-trainer.js';
import type { HeadData } from '../src/training/head-trainer.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, examples: { type: 'string', default: '10000' } } });
const runs = Number(values.runs);
const examples = Number(values.examples);
const DIMS = 1280;
const K = 3;
const centres = (() => {
  const r = Random.fromSeed(11);
  return Array.from({ length: K }, () => Float32Array.from({ length: DIMS }, () => r.nextDouble() * 2 - 1));
})();

function data(seed: number, n: number): HeadData {
  const r = Random.fromSeed(seed);
  const embeddings: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 6 === 0 ? 2 : i % 2;
    labels.push(label);
    embeddings.push(Float32Array.from(centres[label] as Float32Array, (v) => v * 0.1 + (r.nextDouble() * 2 - 1)));
  }
  return { embeddings, labels };
}

const train = data(1, examples);
const validation = data(2, 1000);
const holdout = data(3, 1000);
const counts = [0, 1, 2].map((c) => train.labels.filter((l) => l === c).length);
const seconds: number[] = [];
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  const head = await trainHead(train, validation, { classes: K, classWeights: classWeights(counts, 'balanced'), seed: run + 1, maxEpochs: 100, batchSize: 256, learningRate: 0.01, l2: 0.0001, patience: 5 });
  const s = (performance.now() - started) / 1000;
  seconds.push(s);
  const accuracy = evaluate(holdout.embeddings.map((e) => headProbabilities(head, e)), holdout.labels, ['a', 'b', 'c']).accuracy ?? 0;
  console.log(`run ${run + 1}: ${s.toFixed(1)} s, ${head.epochs.length} epochs (best ${head.bestEpoch}), holdout accuracy ${(accuracy * 100).toFixed(1)} %`);
}
const sorted = [...seconds].sort((a, b) => a - b);
console.log(`${examples} × ${DIMS}-d, ${K} classes: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s [${sorted[0]?.toFixed(1)}–${sorted[sorted.length - 1]?.toFixed(1)}]`);
