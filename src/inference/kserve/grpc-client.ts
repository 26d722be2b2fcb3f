/**
 * The KServe v2 client over gRPC (`inference.GRPCInferenceService`, @grpc/grpc-js with the .proto
 * loaded at run time). Tensors travel as raw bytes: `raw_input_contents` out, and
 * `raw_output_contents` back (typed `contents` are read too, for servers that answer that way).
 * A ModelInfer request is encoded by grpc-codec.ts (its tensors copied once, into a reused buffer,
 * with room for the gRPC frame's prefix) and sent by grpc-unary.ts on node:http2 as it is, where
 * grpc-js would copy it again (`inferVia: grpc-js`, the backend's `grpcInfer`, sends it through grpc-js all the same); every
 * other call goes through grpc-js. Each of the two connections
 * carries its calls multiplexed. Triton's `ModelConfig` extension is called too; a server without
 * it answers UNIMPLEMENTED (null).
 */
import type { CallOptions, Client, MethodDefinition, ServiceError } from '@grpc/grpc-js';
import { CentaurError } from '../../core/errors.js';
import { callPolicy, callWithPolicy } from './call-policy.js';
import type { CallPolicy, KserveClientOptions } from './call-policy.js';
import { grpcError, probeFailure, transportError } from './classify.js';
import { encodeModelInferRequest, RequestBuffers } from './grpc-codec.js';
import { GrpcStatus } from './grpc-status.js';
import { frameSpace, GrpcStatusError, Http2GrpcChannel } from './grpc-unary.js';
import { parseModelConfig } from './model-config.js';
import { parseModelMetadata, parseServerMetadata } from './parse-metadata.js';
import { loadKserveMethods } from './proto.js';
import type { InferParameterMessage, KserveMethods, ModelInferResponseMessage, TensorContentsMessage } from './proto.js';
import { inputBytes, outputFromBytes, outputFromValues } from './tensor-bytes.js';
import type { InferOutput, InferRequest, InferResponse, KserveClient, ModelConfig, ModelMetadata, ParameterValue, ServerMetadata, TlsMaterial } from './types.js';

/** Settings of the gRPC client. */
export interface GrpcKserveClientOptions extends KserveClientOptions {
  /** `host:port` of the server's gRPC endpoint, e.g. `127.0.0.1:8001`. */
  readonly address: string;
  /** Use TLS: true with the system's CAs, or the CAs and client certificate given (default false: plaintext, as on a loopback or a private network). */
  readonly tls?: boolean | TlsMaterial;
  /** Largest message sent or received, in bytes (default 256 MiB; a batch of 64 224×224×3 float32 images is 38.5 MB). */
  readonly maxMessageBytes?: number;
  /** How ModelInfer goes: `http2` (default) as encoded, by grpc-unary.ts; `grpc-js` like the other calls (one more copy per request). */
  readonly inferVia?: 'http2' | 'grpc-js';
}

/** Creates a gRPC client for one server; loads grpc-js and the .proto, and opens the channel lazily. */
export async function createGrpcKserveClient(options: GrpcKserveClientOptions): Promise<KserveClient> {
  const [grpc, methods] = await Promise.all([import('@grpc/grpc-js'), loadKserveMethods()]);
  const maxMessageBytes = options.maxMessageBytes ?? 256 * 1024 * 1024;
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const credentials = tls === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
  const client = new grpc.Client(options.address, credentials, {
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
  });
  const inferChannel = options.inferVia === 'grpc-js' ? null : new Http2GrpcChannel({ address: options.address, ...(tls === undefined ? {} : { tls }), maxMessageBytes });
  return new GrpcKserveClient(options.address, client, inferChannel, methods, callPolicy(options));
}

class GrpcKserveClient implements KserveClient {
  readonly protocol = 'grpc';
  lastProbeError: string | undefined;
  /** ModelInfer request bytes, reused from call to call. */
  private readonly buffers = new RequestBuffers();

  constructor(
    readonly address: string,
    private readonly client: Client,
    /** Where ModelInfer goes; null: through grpc-js. */
    private readonly inferChannel: Http2GrpcChannel | null,
    private readonly methods: KserveMethods,
    private readonly policy: CallPolicy,
  ) {}

  async live(): Promise<boolean> {
    return this.probe(async () => (await this.call(this.methods.ServerLive, {}, this.policy.healthTimeoutMs)).live);
  }

  async ready(): Promise<boolean> {
    return this.probe(async () => (await this.call(this.methods.ServerReady, {}, this.policy.healthTimeoutMs)).ready);
  }

  async modelReady(name: string, version?: string): Promise<boolean> {
    const request = { name, version: version ?? '' };
    return this.probe(async () => (await this.call(this.methods.ModelReady, request, this.policy.healthTimeoutMs)).ready);
  }

  async serverMetadata(): Promise<ServerMetadata> {
    const where = `KServe server ${this.address} (gRPC): server metadata`;
    const answer = await callWithPolicy(this.policy, where, () => this.checked(where, this.methods.ServerMetadata, {}));
    return parseServerMetadata(where, answer);
  }

  async modelMetadata(name: string, version?: string): Promise<ModelMetadata> {
    const where = `KServe server ${this.address} (gRPC): metadata of model ${describeModel(name, version)}`;
    const request = { name, version: version ?? '' };
    const answer = await callWithPolicy(this.policy, where, () => this.checked(where, this.methods.ModelMetadata, request));
    return parseModelMetadata(where, answer);
  }

  async modelConfig(name: string, version?: string): Promise<ModelConfig | null> {
    const where = `KServe server ${this.address} (gRPC): configuration of model ${describeModel(name, version)}`;
    const request = { name, version: version ?? '' };
    const answer = await callWithPolicy(this.policy, where, async () => {
      try {
        return await this.checked(where, this.methods.ModelConfig, request);
      } catch (error) {
        // A server without Triton's extension (MLServer) does not have the method.
        if (error instanceof CentaurError && (error.cause as { code?: unknown } | undefined)?.code === GrpcStatus.UNIMPLEMENTED) return null;
        throw error;
      }
    });
    return answer?.config === null || answer?.config === undefined ? null : parseModelConfig(where, answer.config);
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    const where = `KServe server ${this.address} (gRPC): infer ${describeModel(request.model, request.version)}`;
    // Encoded once, before any attempt: a caller's mistake is not the server's failure.
    const message = {
      model_name: request.model,
      model_version: request.version ?? '',
      id: request.id ?? '',
      inputs: request.inputs.map((input) => ({ name: input.name, datatype: input.datatype, shape: input.shape })),
      outputs: (request.outputs ?? []).map((name) => ({ name })),
      raw_input_contents: request.inputs.map(inputBytes),
    };
    const timeoutMs = request.timeoutMs ?? this.policy.timeoutMs;
    // The tensors are copied once, into the message bytes (a kept buffer, the frame's prefix before them).
    let framed: Buffer = Buffer.alloc(0);
    const allocate = (size: number): Buffer => {
      framed = this.buffers.take(size + frameSpace);
      return framed.subarray(frameSpace);
    };
    encodeModelInferRequest(message, this.methods.ModelInfer.requestSerialize, allocate);
    const { path, responseDeserialize } = this.methods.ModelInfer;
    try {
      const channel = this.inferChannel;
      const answer = await callWithPolicy(this.policy, where, async () => {
        if (channel === null) return this.checked(where, modelInferBytes(this.methods), framed.subarray(frameSpace), timeoutMs);
        try {
          return responseDeserialize(await channel.call(path, framed, timeoutMs));
        } catch (error) {
          if (error instanceof GrpcStatusError) throw grpcError(where, error.code, error.details, error);
          throw transportError(where, error);
        }
      });
      return readInferResponse(answer);
    } finally {
      // Every attempt has ended, and its stream with it: the bytes are not read again.
      this.buffers.give(framed);
    }
  }

  async close(): Promise<void> {
    this.inferChannel?.close();
    this.client.close();
  }

  /** A health call: its answer, or false when the call fails. */
  private async probe(call: () => Promise<boolean>): Promise<boolean> {
    try {
      const answer = await call();
      this.lastProbeError = undefined;
      return answer;
    } catch (error) {
      this.lastProbeError = probeFailure(error);
      return false;
    }
  }

  /** One call, with its failure classified as a CentaurError. */
  private async checked<Req, Res>(where: string, method: MethodDefinition<Req, Res>, request: Req, timeoutMs?: number): Promise<Res> {
    try {
      return await this.call(method, request, timeoutMs ?? this.policy.timeoutMs);
    } catch (error) {
      const status = error as Partial<ServiceError>;
      if (typeof status.code === 'number') throw grpcError(where, status.code, status.details ?? '', error);
      throw transportError(where, error);
    }
  }

  /** One unary call on the shared channel, with a deadline. */
  private call<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    const options: CallOptions = { deadline: Date.now() + timeoutMs };
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, options, (error, value) => {
        if (error !== null) reject(error);
        else if (value === undefined) reject(new Error(`${method.path} answered nothing`));
        else resolve(value);
      });
    });
  }
}

/** ModelInfer with its request already encoded (grpc-codec.ts): grpc-js frames the bytes as they are. */
function modelInferBytes(methods: KserveMethods): MethodDefinition<Buffer, ModelInferResponseMessage> {
  const bytes = (message: Buffer): Buffer => message;
  return { ...methods.ModelInfer, requestSerialize: bytes, requestDeserialize: bytes };
}

function describeModel(name: string, version?: string): string {
  return version === undefined || version === '' ? name : `${name} version ${version}`;
}

/** The response's outputs as typed arrays, from raw bytes (in output order) or typed contents. */
function readInferResponse(message: ModelInferResponseMessage): InferResponse {
  const raw = message.raw_output_contents;
  const outputs: InferOutput[] = message.outputs.map((output, i) => {
    const shape = output.shape.map(Number);
    const bytes = raw[i];
    const data =
      raw.length > 0 && bytes !== undefined
        ? outputFromBytes(output.name, output.datatype, shape, bytes)
        : outputFromValues(output.name, output.datatype, shape, contentsValues(output.name, output.datatype, output.contents));
    return { name: output.name, datatype: output.datatype, shape, data };
  });
  const parameters: Record<string, ParameterValue> = {};
  for (const [key, parameter] of Object.entries(message.parameters)) {
    const value = parameterValue(parameter);
    if (value !== undefined) parameters[key] = value;
  }
  return { model: message.model_name, version: message.model_version, id: message.id, outputs, parameters };
}

/** The typed contents field that holds a datatype's elements. */
function contentsValues(name: string, datatype: string, contents: TensorContentsMessage | null): readonly unknown[] {
  const field: Readonly<Record<string, keyof TensorContentsMessage>> = {
    BOOL: 'bool_contents',
    INT8: 'int_contents',
    INT16: 'int_contents',
    INT32: 'int_contents',
    INT64: 'int64_contents',
    UINT8: 'uint_contents',
    UINT16: 'uint_contents',
    UINT32: 'uint_contents',
    UINT64: 'uint64_contents',
    FP32: 'fp32_contents',
    FP64: 'fp64_contents',
  };
  const key = field[datatype];
  if (key === undefined || contents === null) {
    throw new CentaurError('INFERENCE_FAILED', `output \`${name}\` (${datatype}) came without raw bytes or readable contents`, {
      retriable: false,
    });
  }
  return contents[key] ?? [];
}

function parameterValue(parameter: InferParameterMessage): ParameterValue | undefined {
  const choice = parameter.parameter_choice;
  return choice === undefined ? undefined : parameter[choice];
}
