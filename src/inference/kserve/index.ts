/**
 * The KServe v2 (Open Inference Protocol) client: `createKserveClient` picks the transport, and the
 * types, the metadata check and the FP16 helpers are re-exported for the `infer` backend.
 */
import { createGrpcKserveClient } from './grpc-client.js';
import type { GrpcKserveClientOptions } from './grpc-client.js';
import { createHttpKserveClient } from './http-client.js';
import type { HttpKserveClientOptions } from './http-client.js';
import type { KserveClient } from './types.js';

export type { KserveClientOptions } from './call-policy.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { CircuitState } from './circuit-breaker.js';
export { fromFloat16Array, fromFloat16Bits, toFloat16Array, toFloat16Bits } from './fp16.js';
export type { GrpcKserveClientOptions } from './grpc-client.js';
export type { HttpKserveClientOptions } from './http-client.js';
export { assertModelMetadata, checkModelMetadata } from './metadata-check.js';
export type { MetadataCheck } from './metadata-check.js';
export type * from './types.js';

/** Which transport, and its settings. */
export type KserveConnection =
  | ({ readonly protocol: 'http' } & HttpKserveClientOptions)
  | ({ readonly protocol: 'grpc' } & GrpcKserveClientOptions);

/** Creates a client over HTTP/REST (binary tensors) or gRPC; no connection is made until the first call. */
export async function createKserveClient(connection: KserveConnection): Promise<KserveClient> {
  return connection.protocol === 'http' ? createHttpKserveClient(connection) : createGrpcKserveClient(connection);
}
