/**
 * Loads `grpc_service.proto` at run time with @grpc/proto-loader and describes the messages the
 * gRPC client exchanges. The file is found beside this module (running from src/ with tsx) or,
 * from the compiled dist/, in the package's src/ folder, so the build needs no copy step.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import { CentaurError } from '../../core/errors.js';

const PROTO = 'grpc_service.proto';

/** A protocol parameter as decoded: one of its fields is set, named by `parameter_choice`. */
export interface InferParameterMessage {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  readonly bool_param?: boolean;
  readonly int64_param?: number;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: number;
}

/** Typed tensor contents, for servers that answer without raw bytes. */
export interface TensorContentsMessage {
  readonly bool_contents?: readonly boolean[];
  readonly int_contents?: readonly number[];
  readonly int64_contents?: readonly number[];
  readonly uint_contents?: readonly number[];
  readonly uint64_contents?: readonly number[];
  readonly fp32_contents?: readonly number[];
  readonly fp64_contents?: readonly number[];
  readonly bytes_contents?: readonly Buffer[];
}

export interface ModelInferRequestMessage {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly inputs: readonly { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }[];
  readonly outputs: readonly { readonly name: string }[];
  readonly raw_input_contents: readonly Buffer[];
}

export interface ModelInferResponseMessage {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: Readonly<Record<string, InferParameterMessage>>;
  readonly outputs: readonly {
    readonly name: string;
    readonly datatype: string;
    readonly shape: readonly number[];
    readonly contents: TensorContentsMessage | null;
  }[];
  readonly raw_output_contents: readonly Buffer[];
}

/** Triton's `ModelConfigResponse`: `config` is null when the answer has none (read by model-config.ts). */
export interface ModelConfigResponseMessage {
  readonly config: unknown;
}

/** The seven methods of `inference.GRPCInferenceService` the client calls, with their message types. */
export interface KserveMethods {
  readonly ServerLive: MethodDefinition<object, { live: boolean }>;
  readonly ServerReady: MethodDefinition<object, { ready: boolean }>;
  readonly ModelReady: MethodDefinition<{ name: string; version: string }, { ready: boolean }>;
  readonly ServerMetadata: MethodDefinition<object, unknown>;
  readonly ModelMetadata: MethodDefinition<{ name: string; version: string }, unknown>;
  readonly ModelInfer: MethodDefinition<ModelInferRequestMessage, ModelInferResponseMessage>;
  /** Triton's extension; other servers answer UNIMPLEMENTED. */
  readonly ModelConfig: MethodDefinition<{ name: string; version: string }, ModelConfigResponseMessage>;
}

let loaded: Promise<KserveMethods> | undefined;

/** Loads the service definition once per process; throws INTERNAL when the .proto cannot be found or read. */
export function loadKserveMethods(): Promise<KserveMethods> {
  loaded ??= (async () => {
    const file = protoPath();
    try {
      const loader = await import('@grpc/proto-loader');
      // keepCase: the protocol's field names; longs as numbers (shapes and counts fit easily);
      // defaults: empty lists rather than missing ones; oneofs: name the parameter's set field.
      const definition = await loader.load(file, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
      return definition['inference.GRPCInferenceService'] as unknown as KserveMethods;
    } catch (error) {
      loaded = undefined;
      throw new CentaurError('INTERNAL', `cannot load ${file}: ${(error as Error).message}`, { cause: error });
    }
  })();
  return loaded;
}

/** Where the .proto is: beside this module, else in the package's src/ (when running from dist/). */
export function protoPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, PROTO), path.resolve(here, '../../../src/inference/kserve', PROTO)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new CentaurError('INTERNAL', `${PROTO} is missing; looked in ${candidates.join(' and ')}`);
  return found;
}
