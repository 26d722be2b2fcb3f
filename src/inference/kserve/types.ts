/**
 * The KServe v2 (Open Inference Protocol) client contract: one interface, implemented over
 * HTTP/REST with the binary tensor data extension (`http-client.ts`) and over gRPC
 * (`grpc-client.ts`), and the request, response, metadata and model configuration shapes both
 * share.
 */

/** Tensor element types of the protocol. */
export type KserveDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** PEM material for TLS: the CAs to trust (default: the system's) and a client certificate with its key, for mutual TLS. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** The input datatypes Centaur sends: float32 pixels, half-precision pixels, raw bytes. */
export type InputDatatype = 'FP32' | 'FP16' | 'UINT8';

/** One input or output as the server describes it; -1 is a dimension of any size. */
export interface TensorMetadata {
  readonly name: string;
  /** A protocol datatype, as the server spells it (e.g. `FP32`). */
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** What `modelMetadata` returns. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /**
   * The largest batch one request may carry, where the server says (a `max_batch_size` model
   * parameter over HTTP); undefined when it does not (the protocol has no such field).
   */
  readonly maxBatchSize?: number;
}

/** One input or output of a model configuration. */
export interface ModelConfigTensor {
  readonly name: string;
  /**
   * The protocol datatype (`FP32`, `UINT8`, …; Triton's `TYPE_STRING` is `BYTES`), or Triton's own
   * name where the protocol has none (`TYPE_BF16`, `TYPE_INVALID`).
   */
  readonly datatype: string;
  /** Without the batch dimension when the model batches (`maxBatchSize` > 0); -1: any size. */
  readonly dims: readonly number[];
  /** The shape the server gives the tensor in place of `dims` before the model sees it, where set. */
  readonly reshape?: readonly number[];
  /** An input's declared image layout, where it declares one. */
  readonly format?: 'NHWC' | 'NCHW';
}

/** The server's dynamic batching of a model: requests queued up to the delay run together. */
export interface DynamicBatching {
  /** Batch sizes the server aims at (empty: the largest it can form). */
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMicroseconds: number;
}

/** One group of model instances: how many, on which kind of device. */
export interface InstanceGroup {
  readonly name: string;
  /** `KIND_AUTO`, `KIND_GPU`, `KIND_CPU` or `KIND_MODEL`. */
  readonly kind: string;
  readonly count: number;
  /** The GPUs a `KIND_GPU` group runs on; empty: every GPU. */
  readonly gpus: readonly number[];
}

/**
 * What `modelConfig` returns: the part of a Triton model configuration (its config.pbtxt, as the
 * server completed it) that says how the model takes requests.
 */
export interface ModelConfig {
  readonly name: string;
  /** e.g. `onnxruntime_onnx`; may be empty when `backend` is set. */
  readonly platform: string;
  /** e.g. `onnxruntime`; may be empty when `platform` is set. */
  readonly backend: string;
  /**
   * The most rows one request may carry. 0: the model does not batch; each tensor's `dims` is its
   * whole shape, with no batch dimension added.
   */
  readonly maxBatchSize: number;
  readonly inputs: readonly ModelConfigTensor[];
  readonly outputs: readonly ModelConfigTensor[];
  /** Undefined when the server does not batch requests together for this model. */
  readonly dynamicBatching?: DynamicBatching;
  readonly instanceGroups: readonly InstanceGroup[];
}

/** What `serverMetadata` returns. */
export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  /** Protocol extensions, e.g. `binary_tensor_data`. */
  readonly extensions: readonly string[];
}

/**
 * One input tensor, row-major. `FP32` takes a Float32Array; `FP16` a Float32Array (converted to
 * half precision, round to nearest even) or a Uint16Array of half-precision bits; `UINT8` a
 * Uint8Array. `data` must hold exactly the product of `shape` elements.
 */
export interface InferInput {
  readonly name: string;
  readonly datatype: InputDatatype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint16Array | Uint8Array;
}

/** One inference request. */
export interface InferRequest {
  readonly model: string;
  /** Empty or undefined: the version the server chooses. */
  readonly version?: string;
  /** Echoed by the server; useful in its logs. */
  readonly id?: string;
  readonly inputs: readonly InferInput[];
  /** Outputs to return (all of the model's when undefined). */
  readonly outputs?: readonly string[];
  /** Per-attempt deadline in milliseconds; the client's default when undefined. */
  readonly timeoutMs?: number;
}

/** Output elements as a typed array; `FP16` outputs are widened to Float32Array. */
export type OutputData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** One output tensor of a response. */
export interface InferOutput {
  readonly name: string;
  /** The datatype on the wire (an `FP16` output arrives here as a Float32Array). */
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: OutputData;
}

/** A parameter value of the protocol. */
export type ParameterValue = string | number | boolean;

/** One inference response. */
export interface InferResponse {
  readonly model: string;
  readonly version: string;
  readonly id: string;
  readonly outputs: readonly InferOutput[];
  /** Response parameters, e.g. a server-measured `compute_ms` where the server reports one. */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
}

/**
 * A client of one KServe v2 server. Health calls answer false when the server says no or cannot be
 * reached. `modelMetadata`, `modelConfig`, `serverMetadata` and `infer` retry retriable failures
 * with backoff behind a circuit breaker and reject with a CentaurError: INFERENCE_SERVER_UNAVAILABLE
 * (retriable) or INFERENCE_REQUEST_INVALID (the request's data; dead letter).
 */
export interface KserveClient {
  /** `http` or `grpc`. */
  readonly protocol: 'http' | 'grpc';
  /** The server address, for messages and logs. */
  readonly address: string;
  /** Whether the server is running. */
  live(): Promise<boolean>;
  /** Why the last health call (live, ready, modelReady) failed, if it did not answer at all (e.g. a refused connection, an untrusted certificate). */
  readonly lastProbeError?: string | undefined;
  /** Whether the server is ready for inference. */
  ready(): Promise<boolean>;
  /** Whether one model (version) is ready for inference. */
  modelReady(name: string, version?: string): Promise<boolean>;
  /** The server's name, version and extensions. */
  serverMetadata(): Promise<ServerMetadata>;
  /** A model's inputs and outputs, to check against the manifest at start. */
  modelMetadata(name: string, version?: string): Promise<ModelMetadata>;
  /**
   * A model's configuration, where the server offers it (Triton's extension: gRPC `ModelConfig`,
   * HTTP `GET …/config`); null where it does not (gRPC UNIMPLEMENTED, HTTP 404). Both clients have
   * it; a client without it (a wrapper, a test double) is treated as a server that does not offer it.
   */
  modelConfig?(name: string, version?: string): Promise<ModelConfig | null>;
  /** Runs one request; several may be in flight at once. */
  infer(request: InferRequest): Promise<InferResponse>;
  /** Closes connections; calls in flight fail. */
  close(): Promise<void>;
}
