/**
 * Training time of a classification head: 10,000 embeddings of 1,280 dims in 3 classes (one rarer),
 * clustered with heavy noise so the head needs a realistic number of epochs, trained as
 * `centaur train` does (balanced class weights, batch 256, Adam 0.01, L2 1e-4, patience 5, up to
 * 100 epochs) on 1,000 validation embeddings; prints each run's seconds, epochs and holdout
 * accuracy, then the median and range. In the same run, the reference a user would reach for:
 * scikit-learn's LogisticRegression (lbfgs, class_weight='balanced') on the same arrays, with the
 * test readers' Python (`scripts/services/services.sh up` installs it), and the ratio of the times.
 * Usage: npm run bench:train -- [--runs 3] [--examples 10000]
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
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

/** The same training with scikit-learn, timed in Python: seconds per fit and holdout accuracy, per run. */
async function scikitLearn(): Promise<{ seconds: number[]; accuracy: number } | string> {
  const python = process.env.CENTAUR_PYTOOLS_PYTHON ?? path.join(process.env.CENTAUR_SERVICES_HOME ?? path.join(homedir(), '.cache', 'centaur-services'), 'pytools', 'venv', 'bin', 'python');
  try {
    await access(python);
  } catch {
    return `no scikit-learn reference: ${python} is missing (scripts/services/services.sh up)`;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-train-'));
  const dump = async (name: string, d: HeadData): Promise<void> => {
    const x = new Float32Array(d.embeddings.length * DIMS);
    d.embeddings.forEach((e, i) => x.set(e, i * DIMS));
    await writeFile(path.join(dir, `${name}.x`), Buffer.from(x.buffer));
    await writeFile(path.join(dir, `${name}.y`), Buffer.from(Int32Array.from(d.labels).buffer));
  };
  await dump('train', train);
  await dump('holdout', holdout);
  const script = `import sys, json, time, numpy as np
from sklearn.linear_model import LogisticRegression
d, dims, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load = lambda n: (np.fromfile(f"{d}/{n}.x", dtype=np.float32).reshape(-1, dims), np.fromfile(f"{d}/{n}.y", dtype=np.int32))
x, y = load("train"); hx, hy = load("holdout")
seconds = []
for r in range(runs):
    started = time.perf_counter()
    m = LogisticRegression(max_iter=100, class_weight="balanced").fit(x, y)
    seconds.append(time.perf_counter() - started)
print(json.dumps({"seconds": seconds, "accuracy": float((m.predict(hx) == hy).mean())}))`;
  const { stdout } = await promisify(execFile)(python, ['-c', script, dir, String(DIMS), String(runs)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { seconds: number[]; accuracy: number };
}

const reference = await scikitLearn();
if (typeof reference === 'string') {
  console.log(reference);
} else {
  const ref = [...reference.seconds].sort((a, b) => a - b);
  const refMedian = ref[Math.floor(ref.length / 2)] as number;
  const ours = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(`scikit-learn LogisticRegression (lbfgs, balanced), same data: median ${refMedian.toFixed(1)} s [${ref[0]?.toFixed(1)}–${ref[ref.length - 1]?.toFixed(1)}], holdout accuracy ${(reference.accuracy * 100).toFixed(1)} %`);
  console.log(`centaur ÷ scikit-learn time: ${(ours / refMedian).toFixed(2)}`);
}
