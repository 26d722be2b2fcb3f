/**
 * The `tfjs` backend: TensorFlow.js in process, on the engine `tfjs-engine.ts` picks (tfjs-node-gpu,
 * tfjs-node, wasm or cpu). It loads TF.js graph models and layers models (`format: tfjs`, `file`:
 * the model.json) and checks their input and output names against the manifest; a warm-up batch of
 * one at load checks the output shapes. `run` feeds the first n·h·w·c values of the pooled batch
 * tensor and copies the outputs out; every tensor it makes is disposed before the call settles, so
 * TF.js memory stays flat however many batches run. A float16 batch (`micro-batch` with
 * `dtype: float16`, meant for a KServe server that takes FP16) is refused with TENSOR_SHAPE_MISMATCH:
 * TF.js has no float16 tensors, and widening it back would only cost a pass.
 */
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { BatchTensor } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import type { BackendContext, InferenceBackend, InferenceOutput, TfjsBackendOptions } from './backend.js';
import type { LoadedManifest } from './manifest.js';
import { selectTfjsEngine } from './tfjs-engine.js';
import type { TfApi, TfjsEngineRequest } from './tfjs-engine.js';
import { readTfjsModel } from './tfjs-model-files.js';

/** A loaded model behind one shape: names, input spec, and a run that yields the fetched outputs in order. */
interface Runner {
  /** Distinct inputs the model takes. */
  readonly inputCount: number;
  /** Names the input can be fed by (signature keys and node names). */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Input shape with -1 or null for free dimensions; undefined when the model does not say. */
  readonly inputShape: readonly (number | null)[] | undefined;
  readonly inputDtype: string | undefined;
  /** Runs the model; the returned tensors belong to the caller. */
  run(inputName: string, makeInput: () => Tensor, fetches: readonly string[]): Promise<Tensor[]>;
  dispose(): void;
}

/** Loads the manifest's TF.js model on the chosen engine and checks it against the manifest. */
export async function createTfjsBackend(
  model: LoadedManifest,
  options: TfjsBackendOptions,
  context: BackendContext = {},
  importModule?: TfjsEngineRequest['importModule'],
): Promise<InferenceBackend> {
  const { manifest, modelPath } = model;
  const fail = (problem: string, cause?: unknown): CentaurError =>
    new CentaurError('MODEL_LOAD_FAILED', `${modelPath}: ${problem}`, cause === undefined ? undefined : { cause });
  if (manifest.format !== 'tfjs') {
    throw fail(`the manifest says \`format: ${manifest.format}\`; the tfjs backend loads TF.js models (\`format: tfjs\`, \`file: model.json\`)`);
  }

  const engine = await selectTfjsEngine({
    engine: options.engine ?? 'auto',
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(context.logger === undefined ? {} : { logger: context.logger }),
    ...(importModule === undefined ? {} : { importModule }),
  });
  const { tf } = engine;

  let files: Awaited<ReturnType<typeof readTfjsModel>>;
  try {
    files = await readTfjsModel(modelPath, tf.core.io);
  } catch (error) {
    throw fail(messageOf(error), error);
  }
  let runner: Runner;
  try {
    runner = files.kind === 'graph' ? graphRunner(await tf.loadGraphModel(files.handler), tf) : layersRunner(await tf.loadLayersModel(files.handler), tf);
  } catch (error) {
    throw fail(`TF.js cannot load the ${files.kind} model (${messageOf(error)})`, error);
  }

  const { input, outputs } = manifest;
  const wantEmbedding = outputs.embedding;
  const fetches = wantEmbedding === undefined ? [outputs.probabilities] : [outputs.probabilities, wantEmbedding];
  const classes = manifest.classes.length;
  const elementsPerImage = input.width * input.height * input.channels;
  const shapeOf = (n: number): [number, number, number, number] =>
    input.layout === 'NHWC' ? [n, input.height, input.width, input.channels] : [n, input.channels, input.height, input.width];

  /** Runs n images from `data` and returns the outputs as the onnx backend does. */
  const infer = async (data: Float32Array | Uint8Array, shape: readonly [number, number, number, number]): Promise<InferenceOutput> => {
    const n = shape[0];
    const elements = n * shape[1] * shape[2] * shape[3];
    const makeInput = (): Tensor => {
      const values = data.subarray(0, elements);
      // TF.js has no uint8 tensors: a uint8 model input is int32 in TF.js.
      return values instanceof Float32Array
        ? tf.core.tensor(values, [...shape], 'float32')
        : tf.core.tensor(Int32Array.from(values), [...shape], 'int32');
    };
    let result: Tensor[];
    try {
      result = await runner.run(input.name, makeInput, fetches);
    } catch (error) {
      throw new CentaurError('INFERENCE_FAILED', `TF.js failed on a batch of ${n}: ${messageOf(error)}`, { cause: error });
    }
    try {
      const probabilities = await copyFloat(result[0], outputs.probabilities);
      if (probabilities.length !== n * classes) {
        throw new Error(`output ${outputs.probabilities} has ${probabilities.length} values for ${n} inputs × ${classes} classes`);
      }
      if (wantEmbedding === undefined) return { probabilities, embedding: null, embeddingSize: 0 };
      const embedding = await copyFloat(result[1], wantEmbedding);
      if (n === 0 || embedding.length % n !== 0) throw new Error(`output ${wantEmbedding} has ${embedding.length} values for ${n} inputs`);
      return { probabilities, embedding, embeddingSize: embedding.length / n };
    } catch (error) {
      throw new CentaurError('INFERENCE_FAILED', `TF.js output for a batch of ${n}: ${messageOf(error)}`, { cause: error, retriable: false });
    } finally {
      tf.core.dispose(result);
    }
  };

  try {
    checkRunner(runner, model);
    // A batch of one at load: checks output shapes against the manifest and warms the kernels up.
    const warm = await infer(input.dtype === 'float32' ? new Float32Array(elementsPerImage) : new Uint8Array(elementsPerImage), shapeOf(1));
    if (wantEmbedding !== undefined && warm.embeddingSize === 0) throw new Error(`output \`${wantEmbedding}\` is empty`);
  } catch (error) {
    runner.dispose();
    throw fail(messageOf(error), error);
  }

  context.logger?.info(
    { engine: engine.name, description: engine.description, model: files.kind, weightBytes: files.weightBytes, shards: files.shards.length },
    `TF.js ${files.kind} model loaded on ${engine.description}.`,
  );
  let closed = false;

  return {
    name: 'tfjs',
    description: engine.description,
    async run(batch: BatchTensor): Promise<InferenceOutput> {
      if (closed) throw new CentaurError('INFERENCE_FAILED', 'the tfjs backend is closed', { retriable: false });
      const elements = batch.shape[0] * batch.shape[1] * batch.shape[2] * batch.shape[3];
      if (batch.data.length < elements) {
        throw new CentaurError('INTERNAL', `batch tensor holds ${batch.data.length} elements, its shape needs ${elements}`);
      }
      if (batch.data instanceof Uint16Array) {
        throw new CentaurError(
          'TENSOR_SHAPE_MISMATCH',
          `the batch is float16 (micro-batch \`dtype: float16\`) but the tfjs backend feeds input \`${input.name}\` as ${input.dtype}; set \`dtype: ${input.dtype}\` on micro-batch (float16 is for a kserve backend whose server takes FP16)`,
        );
      }
      return infer(batch.data, batch.shape);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      runner.dispose();
    },
  };
}

/** A graph model: `execute` when the graph is static, `executeAsync` when it has control flow. */
function graphRunner(model: GraphModel, tf: TfApi): Runner {
  const info = model.inputs[0];
  let needsAsync = false;
  return {
    inputCount: model.inputs.length,
    inputNames: unique([...model.inputNodes, ...model.inputs.map((i) => i.name)]),
    outputNames: unique([...model.outputNodes, ...model.outputs.map((o) => o.name)]),
    inputShape: info?.shape,
    inputDtype: info?.dtype,
    async run(inputName, makeInput, fetches) {
      const names = [...fetches];
      if (!needsAsync) {
        try {
          return tf.core.tidy(() => asArray(model.execute({ [inputName]: makeInput() }, names)));
        } catch (error) {
          // TF.js asks for executeAsync when the graph has control flow or dynamic shapes.
          if (!/executeAsync/.test(messageOf(error))) throw error;
          needsAsync = true;
        }
      }
      const x = makeInput();
      try {
        return asArray(await model.executeAsync({ [inputName]: x }, names));
      } finally {
        x.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

/** A layers model: `predict` yields every output in `outputNames` order; the unfetched ones are disposed by tidy. */
function layersRunner(model: LayersModel, tf: TfApi): Runner {
  const info = model.inputs[0];
  return {
    inputCount: model.inputs.length,
    inputNames: model.inputNames,
    outputNames: model.outputNames,
    inputShape: info?.shape,
    inputDtype: info?.dtype,
    async run(_inputName, makeInput, fetches) {
      return tf.core.tidy(() => {
        const x = makeInput();
        const all = asArray(model.predict(x, { batchSize: x.shape[0] }));
        return fetches.map((name) => {
          const found = all[model.outputNames.indexOf(name)];
          if (found === undefined) throw new Error(`the model has no output ${name}`);
          return found;
        });
      });
    },
    dispose: () => {
      model.dispose();
    },
  };
}

/** Throws a plain Error describing the first way the model disagrees with the manifest. */
function checkRunner(runner: Runner, model: LoadedManifest): void {
  const { input, outputs } = model.manifest;
  if (runner.inputCount !== 1) {
    throw new Error(`the model has ${runner.inputCount} inputs (${runner.inputNames.join(', ')}); the tfjs backend feeds one image tensor`);
  }
  if (!runner.inputNames.includes(input.name)) {
    throw new Error(`the model has no input \`${input.name}\` (inputs: ${runner.inputNames.join(', ')}); fix input.name in the manifest`);
  }
  for (const [role, name] of Object.entries(outputs)) {
    if (name !== undefined && !runner.outputNames.includes(name)) {
      throw new Error(`the model has no output \`${name}\` for ${role} (outputs: ${runner.outputNames.join(', ')}); fix outputs.${role} in the manifest`);
    }
  }
  const wantDtype = input.dtype === 'float32' ? 'float32' : 'int32';
  if (runner.inputDtype !== undefined && runner.inputDtype !== wantDtype) {
    throw new Error(`input \`${input.name}\` is ${runner.inputDtype}, the manifest says ${input.dtype} (${wantDtype} in TF.js)`);
  }
  const dims = runner.inputShape;
  if (dims !== undefined && dims.length > 0) {
    if (dims.length !== 4) throw new Error(`input \`${input.name}\` has rank ${dims.length}, a batch of images needs rank 4`);
    const expected = input.layout === 'NHWC' ? [input.height, input.width, input.channels] : [input.channels, input.height, input.width];
    for (let i = 0; i < 3; i += 1) {
      const d = dims[i + 1];
      if (typeof d === 'number' && d > 0 && d !== expected[i]) {
        throw new Error(
          `input \`${input.name}\` has shape [${dims.map((v) => v ?? -1).join(', ')}], the manifest says ${input.layout} ${input.height}×${input.width}×${input.channels}`,
        );
      }
    }
  }
}

/** A float32 copy of an output tensor's values (the tensor is disposed right after). */
async function copyFloat(tensor: Tensor | undefined, name: string): Promise<Float32Array> {
  if (tensor === undefined) throw new Error(`output ${name} is missing`);
  if (tensor.dtype !== 'float32') throw new Error(`output ${name} is ${tensor.dtype}, expected float32`);
  return (await tensor.data<'float32'>()).slice();
}

function asArray(result: Tensor | Tensor[] | Record<string, Tensor>): Tensor[] {
  if (Array.isArray(result)) return result;
  if (isTensor(result)) return [result];
  return Object.values(result);
}

function isTensor(value: Tensor | Record<string, Tensor>): value is Tensor {
  return typeof (value as Partial<Tensor>).dataId === 'object' && typeof (value as Partial<Tensor>).dtype === 'string';
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
