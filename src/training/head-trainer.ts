/**
 * Fits a classification head on stored embeddings: one dense layer and a softmax (the layer the
 * serving model ends with, nothing else), by class-weighted softmax cross-entropy with Adam, in
 * TensorFlow.js (`@tensorflow/tfjs-core` on its pure JavaScript `cpu` backend: one thread, so the
 * same data and seed give the same weights to the bit). The gradient of this loss has a closed form
 * (Xᵀ·w(softmax − onehot)/Σw, plus the L2 term), computed with tfjs ops and handed to tfjs's Adam,
 * so no automatic differentiation is needed (tfjs-core alone registers no gradients). The weights start Glorot-uniform from the
 * seed, the examples are shuffled each epoch by the seeded generator, and training stops early once
 * the validation loss has not improved for `patience` epochs, keeping the best epoch's weights.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { Random } from '../drift/state/random.js';

/** Examples: embeddings, true class indices and per-example weights. */
export interface HeadData {
  readonly embeddings: readonly Float32Array[];
  readonly labels: readonly number[];
}

/** How the head is fitted. */
export interface HeadTrainingOptions {
  readonly classes: number;
  /** Weight of each class in the loss (see class-weights.ts). */
  readonly classWeights: readonly number[];
  readonly seed: number;
  readonly maxEpochs: number;
  /** Examples per step; smaller when the train split is small, so an epoch takes at least MIN_STEPS_PER_EPOCH steps. */
  readonly batchSize: number;
  readonly learningRate: number;
  /** L2 penalty on the kernel. */
  readonly l2: number;
  /** Epochs without a better validation loss before stopping (0: never stop early). */
  readonly patience: number;
  /** Called after each epoch; why: a trainer reports progress. */
  readonly onEpoch?: (epoch: EpochFigures) => void;
}

/** One epoch's figures. */
export interface EpochFigures {
  readonly epoch: number;
  readonly loss: number;
  readonly validationLoss: number | null;
  readonly validationAccuracy: number | null;
}

/** A trained head: kernel [dims × classes] row-major, bias [classes], and how training went. */
export interface TrainedHead {
  readonly dims: number;
  readonly classes: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly epochs: readonly EpochFigures[];
  /** The epoch whose weights were kept (1-based). */
  readonly bestEpoch: number;
}

let tfPromise: Promise<typeof TfCore> | undefined;

/** tfjs-core with the `cpu` backend registered, loaded once. */
async function tensorflow(): Promise<typeof TfCore> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    // Production mode: no banner suggesting tfjs-node on the first tensor, no debug checks.
    tf.env().set('PROD', true);
    await import('@tensorflow/tfjs-backend-cpu');
    return tf;
  })();
  return tfPromise;
}

/** Steps an epoch takes at least: with a few hundred labels, batches of 256 would make an epoch one step, and early stopping would judge after a handful of steps. */
export const MIN_STEPS_PER_EPOCH = 16;

/** The batch size used for `examples` train examples: `batchSize`, or fewer so an epoch has MIN_STEPS_PER_EPOCH steps (at least 8). */
export function effectiveBatchSize(batchSize: number, examples: number): number {
  return Math.max(1, Math.min(batchSize, Math.max(8, Math.ceil(examples / MIN_STEPS_PER_EPOCH))));
}

/** Fits the head on `train`, stopping early on `validation` (when it has examples). */
export async function trainHead(train: HeadData, validation: HeadData, o: HeadTrainingOptions): Promise<TrainedHead> {
  const tf = await tensorflow();
  // The backend is global to the process: a TF.js model served in this process (wasm or tfjs-node) gets its own back afterwards.
  const previous = tf.getBackend();
  if (previous !== 'cpu' && !(await tf.setBackend('cpu'))) throw new Error('the TensorFlow.js cpu backend did not start');
  try {
    return await fitHead(tf, train, validation, o);
  } finally {
    if (previous !== 'cpu' && previous !== undefined) await tf.setBackend(previous);
  }
}

/** {@link trainHead} on the cpu backend. */
async function fitHead(tf: typeof TfCore, train: HeadData, validation: HeadData, o: HeadTrainingOptions): Promise<TrainedHead> {
  const dims = train.embeddings[0]?.length ?? 0;
  if (dims === 0 || train.embeddings.length === 0) throw new RangeError('no training examples');
  const k = o.classes;
  const random = Random.fromSeed(o.seed);
  const limit = Math.sqrt(6 / (dims + k));
  const initial = new Float32Array(dims * k);
  for (let i = 0; i < initial.length; i++) initial[i] = (random.nextDouble() * 2 - 1) * limit;
  const kernel = tf.variable(tf.tensor2d(initial, [dims, k]));
  const bias = tf.variable(tf.zeros([k]));
  const optimizer = tf.train.adam(o.learningRate);
  const classWeights = tf.tensor1d(o.classWeights.map((w) => w));

  const stack = (data: HeadData, indices: readonly number[]) => {
    const x = new Float32Array(indices.length * dims);
    indices.forEach((idx, row) => x.set(data.embeddings[idx] as Float32Array, row * dims));
    const labels = tf.tensor1d(indices.map((idx) => data.labels[idx] as number), 'int32');
    const y = tf.cast(tf.oneHot(labels, k), 'float32') as TfCore.Tensor2D;
    labels.dispose();
    return { x: tf.tensor2d(x, [indices.length, dims]), y };
  };
  /** The weighted mean cross-entropy (plus the L2 term) and its gradients with respect to the kernel and the bias. */
  const lossAndGradients = (x: TfCore.Tensor2D, y: TfCore.Tensor2D) =>
    tf.tidy(() => {
      const logits = tf.add(tf.matMul(x, kernel), bias);
      const w = tf.sum(tf.mul(y, classWeights), 1);
      const total = tf.sum(w);
      const crossEntropy = tf.div(tf.neg(tf.sum(tf.mul(w, tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1)))), total);
      const loss = o.l2 > 0 ? tf.add(crossEntropy, tf.mul(o.l2, tf.sum(tf.square(kernel)))) : crossEntropy;
      const g = tf.div(tf.mul(tf.sub(tf.softmax(logits), y), tf.expandDims(w, 1)), total);
      const dKernel = o.l2 > 0 ? tf.add(tf.matMul(x, g, true, false), tf.mul(2 * o.l2, kernel)) : tf.matMul(x, g, true, false);
      return { loss: loss as TfCore.Scalar, dKernel: dKernel as TfCore.Tensor2D, dBias: tf.sum<TfCore.Tensor1D>(g, 0) };
    });
  const validationAll = validation.embeddings.length === 0 ? undefined : stack(validation, validation.embeddings.map((_, i) => i));

  const epochs: EpochFigures[] = [];
  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, kernel: kernel.dataSync().slice(), bias: bias.dataSync().slice() };
  const order = train.embeddings.map((_, i) => i);
  const batchSize = effectiveBatchSize(o.batchSize, order.length);
  try {
    for (let epoch = 1; epoch <= o.maxEpochs; epoch++) {
      // Fisher–Yates with the seeded generator.
      for (let i = order.length - 1; i > 0; i--) {
        const j = random.below(i + 1);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let total = 0;
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = stack(train, order.slice(start, start + batchSize));
        const step = lossAndGradients(batch.x, batch.y);
        optimizer.applyGradients([
          { name: kernel.name, tensor: step.dKernel },
          { name: bias.name, tensor: step.dBias },
        ]);
        total += ((step.loss.dataSync()[0] as number) * Math.min(o.batchSize, order.length - start)) / order.length;
        step.loss.dispose();
        step.dKernel.dispose();
        step.dBias.dispose();
        batch.x.dispose();
        batch.y.dispose();
      }
      let validationLoss: number | null = null;
      let validationAccuracy: number | null = null;
      if (validationAll !== undefined) {
        const [lossValue, right] = tf.tidy(() => {
          const logits = tf.add(tf.matMul(validationAll.x, kernel), bias);
          const l = lossAndGradients(validationAll.x, validationAll.y).loss.dataSync()[0] as number;
          const r = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(validationAll.y, 1)), 'float32')).dataSync()[0] as number;
          return [l, r];
        });
        validationLoss = lossValue;
        validationAccuracy = right;
      }
      const figures = { epoch, loss: total, validationLoss, validationAccuracy };
      epochs.push(figures);
      o.onEpoch?.(figures);
      // A turn of the event loop per epoch: progress messages leave, and a training process notices its parent has gone.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const watched = validationLoss ?? total;
      if (watched < best.loss - 1e-7) best = { loss: watched, epoch, kernel: kernel.dataSync().slice(), bias: bias.dataSync().slice() };
      else if (o.patience > 0 && epoch - best.epoch >= o.patience) break;
    }
  } finally {
    validationAll?.x.dispose();
    validationAll?.y.dispose();
    kernel.dispose();
    bias.dispose();
    classWeights.dispose();
    optimizer.dispose();
  }
  return { dims, classes: k, kernel: Float32Array.from(best.kernel), bias: Float32Array.from(best.bias), epochs, bestEpoch: best.epoch };
}

/** The head's probabilities for one embedding (softmax of x·W + b), computed in float64 as a check independent of TensorFlow.js. */
export function headProbabilities(head: TrainedHead, embedding: ArrayLike<number>): Float64Array {
  const logits = new Float64Array(head.classes);
  for (let c = 0; c < head.classes; c++) {
    let s = head.bias[c] as number;
    for (let d = 0; d < head.dims; d++) s += (embedding[d] as number) * (head.kernel[d * head.classes + c] as number);
    logits[c] = s;
  }
  const max = Math.max(...logits);
  let sum = 0;
  for (let c = 0; c < head.classes; c++) sum += logits[c] = Math.exp((logits[c] as number) - max);
  for (let c = 0; c < head.classes; c++) logits[c] = (logits[c] as number) / sum;
  return logits;
}
