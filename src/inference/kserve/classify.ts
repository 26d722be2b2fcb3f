/**
 * Turns what a KServe v2 server or the network answered into Centaur's typed errors, the same way
 * for HTTP and gRPC:
 *
 * - the request's data is wrong (HTTP 400/413/422, gRPC INVALID_ARGUMENT/OUT_OF_RANGE):
 *   INFERENCE_REQUEST_INVALID, a data error: the batch's inputs go to the dead letter;
 * - the server is unreachable, slow, overloaded or failing (connection refused or reset, a
 *   timeout, HTTP 404/408/429/5xx, gRPC UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, …), or says the
 *   model is missing or not ready (Triton and MLServer answer that with 400 too):
 *   INFERENCE_SERVER_UNAVAILABLE, retriable, and counted by the circuit breaker;
 * - anything else (authentication, an unimplemented call): INFERENCE_FAILED, not retriable.
 */
import { CentaurError } from '../../core/errors.js';
import { GrpcStatus as GRPC, grpcStatusName } from './grpc-status.js';

const RETRIABLE_GRPC: ReadonlySet<number> = new Set([
  GRPC.CANCELLED,
  GRPC.UNKNOWN,
  GRPC.DEADLINE_EXCEEDED,
  GRPC.NOT_FOUND,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.ABORTED,
  GRPC.INTERNAL,
  GRPC.UNAVAILABLE,
  GRPC.DATA_LOSS,
]);

/** A refusal that is about the model's availability, not the request's data. */
const MODEL_UNAVAILABLE = /\b(not (found|ready|loaded|available)|unknown model|unavailable)\b/i;

/** The message grpc-js and grpc-unary.ts give when a message is over the size limit: the client's setting, not the data. */
const MESSAGE_TOO_LARGE = /larger than max/i;

/** Error codes that mean the client is set up wrong (an address it cannot use), not that the server is away. */
const SETUP_CODES: ReadonlySet<string> = new Set(['ERR_INVALID_URL', 'ERR_INVALID_PROTOCOL', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']);

/** Classifies an HTTP answer other than 200; `where` names the server and the call. */
export function httpError(where: string, status: number, message: string): CentaurError {
  const text = `${where}: HTTP ${status}${message === '' ? '' : `: ${message}`}`;
  if (status === 400 || status === 413 || status === 422) {
    return MODEL_UNAVAILABLE.test(message)
      ? new CentaurError('INFERENCE_SERVER_UNAVAILABLE', text)
      : new CentaurError('INFERENCE_REQUEST_INVALID', text);
  }
  if (status === 404 || status === 408 || status === 429 || status >= 500) {
    return new CentaurError('INFERENCE_SERVER_UNAVAILABLE', text);
  }
  return new CentaurError('INFERENCE_FAILED', text, { retriable: false });
}

/** Classifies a gRPC status other than OK. */
export function grpcError(where: string, code: number, details: string, cause?: unknown): CentaurError {
  const name = grpcStatusName(code);
  const text = `${where}: gRPC ${name}${details === '' ? '' : `: ${details}`}`;
  const options = cause === undefined ? {} : { cause };
  if (code === GRPC.INVALID_ARGUMENT || code === GRPC.OUT_OF_RANGE) {
    return MODEL_UNAVAILABLE.test(details)
      ? new CentaurError('INFERENCE_SERVER_UNAVAILABLE', text, options)
      : new CentaurError('INFERENCE_REQUEST_INVALID', text, options);
  }
  if (code === GRPC.RESOURCE_EXHAUSTED && MESSAGE_TOO_LARGE.test(details)) {
    return new CentaurError('INFERENCE_FAILED', `${text} (raise the client's maxMessageBytes or send smaller batches)`, {
      ...options,
      retriable: false,
    });
  }
  if (RETRIABLE_GRPC.has(code)) return new CentaurError('INFERENCE_SERVER_UNAVAILABLE', text, options);
  return new CentaurError('INFERENCE_FAILED', text, { ...options, retriable: false });
}

/** Classifies an error thrown by the transport before any answer (socket, DNS, timeout). */
export function transportError(where: string, error: unknown): CentaurError {
  if (error instanceof CentaurError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const label = describeError(error);
  if (typeof code === 'string' && SETUP_CODES.has(code)) {
    return new CentaurError('INFERENCE_FAILED', `${where}: ${label}`, { cause: error, retriable: false });
  }
  // Refused, reset, unreachable, timed out, a broken answer: the server's or the network's trouble.
  return new CentaurError('INFERENCE_SERVER_UNAVAILABLE', `${where}: ${label}`, { cause: error });
}

/** Whether an error means the server is in trouble: it is retried and counts against the circuit breaker. */
export function isServerTrouble(error: unknown): boolean {
  return error instanceof CentaurError && error.code === 'INFERENCE_SERVER_UNAVAILABLE';
}

/** A timeout error for a request that got no answer in time (transports throw it). */
export function timeoutError(timeoutMs: number): Error {
  return Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'KSERVE_TIMEOUT' });
}

/** What a failed health call met, in one line (a grpc-js status keeps only its details). */
export function probeFailure(error: unknown): string {
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details !== '') return details;
  return describeError(error);
}

/** An error in one line: its message, after its string code (e.g. `ECONNREFUSED`) unless the message holds it. */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // The client's own timeout code says nothing its message does not.
  return typeof code === 'string' && code !== 'KSERVE_TIMEOUT' && !message.includes(code) ? `${code} ${message}` : message;
}
