/**
 * The inference backend contract: one interface every backend implements (onnx in process,
 * kserve: a KServe v2 / Triton server, and tfjs: TensorFlow.js in process), and the `backend` option of `infer` as a union
 * tagged by `kind`. A new backend adds one variant to `BackendOptions`, one module implementing
 * `InferenceBackend`, and one case in `createBackend` (`create-backend.ts`, which imports the module lazily, so unused
 * backends never load).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { BatchTensor } from '../core/envelope.js';
import type { PackedDtype as TensorDtype } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { NodeMetrics } from '../core/metric-family.js';

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
  /** The element types of batches it takes, the one it wants first, where not just the manifest's input type (kserve: float16 as well). */
  readonly batchDtypes?: readonly TensorDtype[];
  /** The most rows it sends in one request, where it splits larger batches (kserve: the server's max_batch_size). */
  readonly maxBatchRows?: number;
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

/** `backend: { kind: kserve, … }`: a KServe v2 (Open Inference Protocol) server such as NVIDIA Triton. */
export const KserveBackendOptions = Type.Object(
  {
    kind: Type.Literal('kserve', {
      description: 'A KServe v2 / Open Inference Protocol server (NVIDIA Triton, KServe, MLServer), over gRPC or HTTP.',
    }),
    protocol: Type.Optional(
      Type.Union([Type.Literal('grpc'), Type.Literal('http')], {
        description: 'Transport: `grpc` (default) or `http` (REST with the binary tensor data extension).',
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CAs that sign the server certificate (default: the system CAs).' })),
          certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate, for a server that asks for one (mutual TLS); with `keyFile`.' })),
          keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of `certFile`.' })),
        },
        {
          additionalProperties: false,
          description:
            'TLS towards the server: gRPC uses TLS when this is given (`{}`: the system CAs); HTTP uses TLS for an `https://` endpoint, and these settings need one. Files are relative to the topology file.',
        },
      ),
    ),
    grpcInfer: Type.Optional(
      Type.Union([Type.Literal('http2'), Type.Literal('grpc-js')], {
        description:
          'How gRPC sends inference requests: `http2` (default) writes each encoded request to the connection as it is; `grpc-js` sends them through @grpc/grpc-js like the other calls, which copies every request once more (4–6× the client CPU per request at batch 32–64), for a server only grpc-js reaches (e.g. through `grpc_proxy`).',
      }),
    ),
    endpoint: Type.String({
      minLength: 1,
      description: 'Where the server listens: `host:port` for gRPC (e.g. `127.0.0.1:8001`), the base URL for HTTP (e.g. `http://127.0.0.1:8000`).',
    }),
    model: Type.Optional(Type.String({ minLength: 1, description: "Model name on the server (default: the manifest's `name`)." })),
    version: Type.Optional(
      Type.String({ minLength: 1, description: 'Model version on the server (default: the version the server chooses).' }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Deadline of one request attempt, in milliseconds (default 30000).' }),
    ),
    retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "Retries of a request the server could not answer (unreachable, timed out, overloaded, 5xx), with backoff (default 3); then `infer` retries the batch as for any backend, and dead-letters it at the end.",
      }),
    ),
    maxInFlight: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Requests in flight at once: open connections over HTTP, concurrent calls on the one channel over gRPC (default 8).',
      }),
    ),
    inputDatatype: Type.Optional(
      Type.Union([Type.Literal('FP32'), Type.Literal('FP16'), Type.Literal('UINT8')], {
        description:
          "Datatype the pixels travel as (default: the server's, from its model metadata). `FP16` halves the bytes; `UINT8` sends raw pixels (a quarter), which a float model's server must scale itself as the manifest's `scale` says.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type KserveBackendOptions = Static<typeof KserveBackendOptions>;

/** `backend: { kind: tfjs, … }`: TensorFlow.js in process (graph and layers models, `format: tfjs`). */
export const TfjsBackendOptions = Type.Object(
  {
    kind: Type.Literal('tfjs', {
      description: 'TensorFlow.js in process: tfjs-node(-gpu) where installed, else WebAssembly, else plain JavaScript.',
    }),
    engine: Type.Optional(
      Type.Union(
        [Type.Literal('auto'), Type.Literal('node-gpu'), Type.Literal('node'), Type.Literal('wasm'), Type.Literal('cpu')],
        {
          description:
            'TF.js engine: `auto` (default) tries `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` (both optional, installed by the user), then `wasm`, then `cpu`. One engine serves the whole process.',
        },
      ),
    ),
    threads: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "XNNPACK threads for the `wasm` engine, where its build can run them (default: one per core); tfjs-backend-wasm 4.x runs one thread under Node.js, and the backend's description says how many it uses.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type TfjsBackendOptions = Static<typeof TfjsBackendOptions>;

/**
 * The `backend` option: a union tagged by `kind`. Defaults inside the variants are applied by the
 * backend itself (Ajv does not fill defaults inside `anyOf`).
 */
export const BackendOptions = Type.Union([OnnxBackendOptions, KserveBackendOptions, TfjsBackendOptions], {
  description: 'Inference engine that runs the model, chosen by `kind`.',
  default: { kind: 'onnx' },
});
export type BackendOptions = Static<typeof BackendOptions>;

/** What a backend may use from the node that creates it; every field is optional (tests pass none). */
export interface BackendContext {
  /** The `infer` node's id, for messages. */
  readonly nodeId?: string;
  /** The node's logger, for start-up and retry lines. */
  readonly logger?: Logger;
  /** Folder that relative file options (TLS files) resolve against: the topology file's. */
  readonly baseDir?: string;
  /** Where the backend reports its server's retries and circuit state (absent outside a runtime). */
  readonly metrics?: NodeMetrics;
}
