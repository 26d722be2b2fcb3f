/**
 * The `onnx` backend: onnxruntime-node in process. onnxruntime is imported when the first backend
 * is created, so topologies without `infer` never load the native library. At load the session's
 * inputs and outputs are checked against the manifest; at run, outputs are copied out so the caller
 * can release its pooled input buffer as soon as the promise settles. A float16 batch (`micro-batch`
 * with `dtype: float16`, meant for a KServe server that takes FP16) is refused with
 * TENSOR_SHAPE_MISMATCH: the model takes float32, and widening it back would only cost a pass.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type * as OrtModule from 'onnxruntime-node';
import type { BatchTensor } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import type { InferenceBackend, InferenceOutput, OnnxBackendOptions } from './backend.js';
import type { LoadedManifest } from './manifest.js';

type Ort = typeof OrtModule;

/** Loads the manifest's ONNX file into a session and checks its names and shapes against the manifest. */
export async function createOnnxBackend(model: LoadedManifest, options: OnnxBackendOptions): Promise<InferenceBackend> {
  const { manifest, modelPath } = model;
  const fail = (problem: string, cause?: unknown): CentaurError =>
    new CentaurError('MODEL_LOAD_FAILED', `${modelPath}: ${problem}`, cause === undefined ? undefined : { cause });

  let ort: Ort;
  try {
    ort = await import('onnxruntime-node');
  } catch (error) {
    throw fail(`cannot load onnxruntime-node (${messageOf(error)})`, error);
  }
  const executionProviders = options.executionProviders ?? ['cpu'];
  const sessionOptions: InferenceSession.SessionOptions = { executionProviders };
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpNumThreads;
  if (options.graphOptimizationLevel !== undefined) sessionOptions.graphOptimizationLevel = options.graphOptimizationLevel;
  // Idle intra-op threads spin by default, taking the cores that decoding needs between batches.
  sessionOptions.extra = { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } };

  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, sessionOptions);
  } catch (error) {
    throw fail(`onnxruntime cannot load the model (${messageOf(error)})`, error);
  }
  try {
    checkSession(session, model);
  } catch (error) {
    await session.release().catch(() => undefined);
    throw fail(messageOf(error), error);
  }

  const { input, outputs } = manifest;
  const wantEmbedding = outputs.embedding;
  const fetches = wantEmbedding === undefined ? [outputs.probabilities] : [outputs.probabilities, wantEmbedding];
  const classes = manifest.classes.length;
  const threads = options.intraOpNumThreads ? `${options.intraOpNumThreads} threads` : 'default threads';
  const description = `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common} (${executionProviders.join(', ')}, ${threads})`;
  let closed = false;

  return {
    name: 'onnx',
    description,
    async run(batch: BatchTensor): Promise<InferenceOutput> {
      if (closed) throw new CentaurError('INFERENCE_FAILED', 'the onnx backend is closed', { retriable: false });
      const n = batch.shape[0];
      const elements = batch.shape[0] * batch.shape[1] * batch.shape[2] * batch.shape[3];
      if (batch.data.length < elements) {
        throw new CentaurError('INTERNAL', `batch tensor holds ${batch.data.length} elements, its shape needs ${elements}`);
      }
      if (batch.data instanceof Uint16Array) {
        throw new CentaurError(
          'TENSOR_SHAPE_MISMATCH',
          `the batch is float16 (micro-batch \`dtype: float16\`) but the onnx backend feeds input \`${input.name}\` as ${input.dtype}; set \`dtype: ${input.dtype}\` on micro-batch (float16 is for a kserve backend whose server takes FP16)`,
        );
      }
      let result: InferenceSession.ReturnType;
      try {
        const data = batch.data.subarray(0, elements);
        const tensor =
          data instanceof Float32Array
            ? new ort.Tensor('float32', data, batch.shape)
            : new ort.Tensor('uint8', data, batch.shape);
        result = await session.run({ [input.name]: tensor }, fetches);
      } catch (error) {
        throw new CentaurError('INFERENCE_FAILED', `onnxruntime failed on a batch of ${n}: ${messageOf(error)}`, { cause: error });
      }
      try {
        const probabilities = copyFloat(result[outputs.probabilities], outputs.probabilities);
        if (probabilities.length !== n * classes) {
          throw new Error(`output ${outputs.probabilities} has ${probabilities.length} values for ${n} inputs × ${classes} classes`);
        }
        if (wantEmbedding === undefined) return { probabilities, embedding: null, embeddingSize: 0 };
        const embedding = copyFloat(result[wantEmbedding], wantEmbedding);
        if (n === 0 || embedding.length % n !== 0) {
          throw new Error(`output ${wantEmbedding} has ${embedding.length} values for ${n} inputs`);
        }
        return { probabilities, embedding, embeddingSize: embedding.length / n };
      } catch (error) {
        throw new CentaurError('INFERENCE_FAILED', `onnxruntime output for a batch of ${n}: ${messageOf(error)}`, {
          cause: error,
          retriable: false,
        });
      } finally {
        for (const value of Object.values(result)) value.dispose();
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}

/** Throws a plain Error describing the first way the session disagrees with the manifest. */
function checkSession(session: InferenceSession, model: LoadedManifest): void {
  const { input, outputs, classes } = model.manifest;
  if (!session.inputNames.includes(input.name)) {
    throw new Error(`the model has no input \`${input.name}\` (inputs: ${session.inputNames.join(', ')}); fix input.name in the manifest`);
  }
  for (const [role, name] of Object.entries(outputs)) {
    if (name !== undefined && !session.outputNames.includes(name)) {
      throw new Error(
        `the model has no output \`${name}\` for ${role} (outputs: ${session.outputNames.join(', ')}); fix outputs.${role} in the manifest`,
      );
    }
  }
  const inputMeta = session.inputMetadata.find((m) => m.name === input.name);
  if (inputMeta?.isTensor === true) {
    if (inputMeta.type !== input.dtype) {
      throw new Error(`input \`${input.name}\` is ${inputMeta.type}, the manifest says ${input.dtype}`);
    }
    const expected = input.layout === 'NHWC' ? [input.height, input.width, input.channels] : [input.channels, input.height, input.width];
    const dims = inputMeta.shape;
    if (dims.length === 4) {
      for (let i = 0; i < 3; i += 1) {
        const d = dims[i + 1];
        if (typeof d === 'number' && d > 0 && d !== expected[i]) {
          throw new Error(
            `input \`${input.name}\` has shape [${dims.join(', ')}], the manifest says ${input.layout} ${input.height}×${input.width}×${input.channels}`,
          );
        }
      }
    } else if (dims.length !== 0) {
      throw new Error(`input \`${input.name}\` has rank ${dims.length}, a batch of images needs rank 4`);
    }
  }
  const probMeta = session.outputMetadata.find((m) => m.name === outputs.probabilities);
  if (probMeta?.isTensor === true) {
    const last = probMeta.shape[probMeta.shape.length - 1];
    if (typeof last === 'number' && last > 0 && last !== classes.length) {
      throw new Error(`output \`${outputs.probabilities}\` has ${last} classes, the manifest lists ${classes.length}`);
    }
  }
}

function copyFloat(value: Tensor | undefined, name: string): Float32Array {
  if (value === undefined) throw new Error(`output ${name} is missing`);
  if (value.type !== 'float32') throw new Error(`output ${name} is ${value.type}, expected float32`);
  // A copy: the session's output buffer is disposed right after.
  return (value.data as Float32Array).slice();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
