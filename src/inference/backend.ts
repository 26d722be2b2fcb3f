/**
 * The inference backend contract: one interface every backend implements (onnx now; tfjs and
 * triton later), and the `backend` option of `infer` as a union tagged by `kind`. A new backend
 * adds one variant to `BackendOptions`, one module implementing `InferenceBackend`, and one case in
 * `createBackend` (which imports the module lazily, so unused backends never load).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { BatchTensor } from '../core/envelope.js';
import type { LoadedManifest } from './manifest.js';

/** What a backend returns for a batch of n inputs; arrays are the backend's own copies. */
export interface InferenceOutput {
  /** n × classes, row-major. */
  readonly probabilities: Float32Array;
  /** n × embeddingSize, row-major; null when the model has no embedding output. */
  readonly embedding: Float32Array | null;
  /** Length of one embedding row (0 without an embedding). */
  readonly embeddingSize: number;
}

/** Runs a model on batch tensors. */
export interface InferenceBackend {
  /** Backend kind, e.g. `onnx`. */
  readonly name: string;
  /** Human-readable engine and settings, e.g. "onnxruntime-node 1.30 (cpu, 2 threads)". */
  readonly description: string;
  /**
   * Runs one batch (n = `input.shape[0]`); rejects with INFERENCE_FAILED. The input is only read
   * during the call: the caller may release its buffer once the promise settles.
   */
  run(input: BatchTensor): Promise<InferenceOutput>;
  /** Releases the model and its native resources. */
  close(): Promise<void>;
}

/** `backend: { kind: onnx, … }`: onnxruntime-node in process. */
export const OnnxBackendOptions = Type.Object(
  {
    kind: Type.Literal('onnx', { description: 'onnxruntime-node, in process.' }),
    intraOpNumThreads: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Threads used inside one operator; 0 or unset lets onnxruntime choose.' }),
    ),
    interOpNumThreads: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Threads used across operators; 0 or unset lets onnxruntime choose.' }),
    ),
    executionProviders: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal('cpu'),
          Type.Literal('cuda'),
          Type.Literal('tensorrt'),
          Type.Literal('dml'),
          Type.Literal('coreml'),
          Type.Literal('webgpu'),
        ]),
        { minItems: 1, description: 'Execution providers in order of preference (default `[cpu]`).' },
      ),
    ),
    allowSpinning: Type.Optional(
      Type.Boolean({
        description:
          'Let idle onnxruntime threads spin-wait for work (lower latency when inference has the cores to itself; default false, since decoding shares them).',
      }),
    ),
    graphOptimizationLevel: Type.Optional(
      Type.Union(
        [Type.Literal('disabled'), Type.Literal('basic'), Type.Literal('extended'), Type.Literal('layout'), Type.Literal('all')],
        { description: 'Graph optimizations applied when the model loads (onnxruntime default: `all`).' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type OnnxBackendOptions = Static<typeof OnnxBackendOptions>;

/**
 * The `backend` option: a union tagged by `kind`. Defaults inside the variants are applied by the
 * backend itself (Ajv does not fill defaults inside `anyOf`).
 */
export const BackendOptions = Type.Union([OnnxBackendOptions], {
  description: 'Inference engine that runs the model, chosen by `kind`.',
  default: { kind: 'onnx' },
});
export type BackendOptions = Static<typeof BackendOptions>;

/** Creates the backend named by `options.kind` for a loaded manifest; throws MODEL_LOAD_FAILED. */
export async function createBackend(options: BackendOptions, model: LoadedManifest): Promise<InferenceBackend> {
  switch (options.kind) {
    case 'onnx': {
      const { createOnnxBackend } = await import('./onnx-backend.js');
      return createOnnxBackend(model, options);
    }
  }
}
