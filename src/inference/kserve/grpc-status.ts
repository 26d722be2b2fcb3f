/**
 * gRPC status codes, with the protocol's numbers and names: one table for the clients
 * (grpc-client.ts, grpc-unary.ts) and for classifying their failures (classify.ts).
 */

/** gRPC status codes by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** The protocol's name of a status code, e.g. `UNAVAILABLE`, or `status N` for one it does not define. */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? `status ${code}`;
}
