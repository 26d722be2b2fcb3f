/**
 * Turns what the S3 SDK, the Azure SDK and Node's file system throw into Centaur's coded errors,
 * so every store fails the same way: missing → OBJECT_FETCH_FAILED (a dead letter with the URI),
 * refused → OBJECT_ACCESS_DENIED, unreachable / 5xx / throttled → OBJECT_STORE_UNAVAILABLE
 * (retriable), any other refusal of a write → OBJECT_WRITE_FAILED.
 */
import { CentaurError } from '../core/errors.js';

/** What the failed request was doing, for the message and the code of a refusal. */
export type StoreAction = 'read' | 'write' | 'list' | 'check';

/** Error codes (S3's, Azure's) that mean the object, bucket or container does not exist. */
const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'BlobNotFound', 'ContainerNotFound', 'ResourceNotFound', 'ENOENT', 'ENOTDIR']);
/** Error codes that mean the credentials may not do this. */
const DENIED = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthenticationFailed',
  'InsufficientAccountPermissions',
  'EACCES',
  'EPERM',
]);
/** Error codes of a server or network that may answer later. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
  'RequestTimeout',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'ServerBusy',
  'OperationTimedOut',
  'REQUEST_SEND_ERROR',
  'ENOSPC',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EBUSY',
]);

/** The parts of an SDK or system error that decide its class. */
interface Shape {
  readonly status?: number;
  readonly codes: readonly string[];
}

/** How a store failure is treated. */
export type FailureKind = 'missing-object' | 'missing-bucket' | 'denied' | 'unavailable' | 'refused';

/** Classifies an SDK or system error by its HTTP status and codes. */
export function classifyStoreFailure(error: unknown): FailureKind {
  const shape = shapeOf(error);
  const has = (set: ReadonlySet<string>): boolean => shape.codes.some((c) => set.has(c));
  if (shape.status === 404 || ((shape.status === undefined || shape.status < 500) && has(MISSING))) {
    return shape.codes.includes('NoSuchBucket') || shape.codes.includes('ContainerNotFound') ? 'missing-bucket' : 'missing-object';
  }
  if (shape.status === 401 || shape.status === 403 || has(DENIED)) return 'denied';
  if (shape.status === 408 || shape.status === 429 || (shape.status !== undefined && shape.status >= 500) || has(UNAVAILABLE)) return 'unavailable';
  if (shape.status === undefined && isNetworkFailure(error)) return 'unavailable';
  return 'refused';
}

/** Maps anything a store operation threw to a CentaurError naming the URI; CentaurErrors pass through. */
export function storeError(error: unknown, uri: string, action: StoreAction): CentaurError {
  if (error instanceof CentaurError) return error;
  const detail = describe(error, shapeOf(error));
  const refusal = action === 'write' ? 'OBJECT_WRITE_FAILED' : 'OBJECT_FETCH_FAILED';
  switch (classifyStoreFailure(error)) {
    case 'missing-object':
      return new CentaurError(refusal, `cannot ${action} ${uri}: no such object${detail}`, { cause: error });
    case 'missing-bucket':
      return new CentaurError(refusal, `cannot ${action} ${uri}: no such bucket or container${detail}`, { cause: error });
    case 'denied':
      return new CentaurError('OBJECT_ACCESS_DENIED', `cannot ${action} ${uri}: access denied${detail}`, { cause: error });
    case 'unavailable':
      return new CentaurError('OBJECT_STORE_UNAVAILABLE', `cannot ${action} ${uri}: the object store is unavailable${detail}`, { cause: error });
    case 'refused':
      return new CentaurError(refusal, `cannot ${action} ${uri}${detail}`, { cause: error });
  }
}

/** Reads the HTTP status and every error code on the error, its `cause` chain and aggregated errors. */
function shapeOf(error: unknown): Shape {
  const codes: string[] = [];
  let status: number | undefined;
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== 'object' || seen.has(e) || depth > 5) return;
    seen.add(e);
    const o = e as Record<string, unknown>;
    // S3 SDK: $metadata.httpStatusCode, name/Code; Azure RestError: statusCode, code; Node: code, errno.
    const meta = o.$metadata as { httpStatusCode?: unknown } | undefined;
    const candidates = [meta?.httpStatusCode, o.statusCode, o.status, (o.$response as { statusCode?: unknown } | undefined)?.statusCode];
    for (const c of candidates) if (status === undefined && typeof c === 'number' && c >= 100) status = c;
    for (const c of [o.code, o.Code, o.name, (o.details as { errorCode?: unknown } | undefined)?.errorCode]) {
      if (typeof c === 'string' && c.length > 0 && c !== 'Error' && !codes.includes(c)) codes.push(c);
    }
    visit(o.cause, depth + 1);
    if (Array.isArray(o.errors)) for (const inner of o.errors as unknown[]) visit(inner, depth + 1);
  };
  visit(error, 0);
  return { ...(status === undefined ? {} : { status }), codes };
}

/** A failure without an HTTP answer whose message says the connection failed. */
function isNetworkFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /socket hang up|connect|network|timed? ?out|ECONN|EPIPE/i.test(message);
}

/** ` (NoSuchKey, HTTP 404: message)`, or the system error's message. */
function describe(error: unknown, shape: Shape): string {
  const message = firstMessage(error) ?? '';
  const parts = [shape.codes[0], shape.status === undefined ? undefined : `HTTP ${shape.status}`].filter((p): p is string => p !== undefined);
  const text = message.length > 0 && message !== 'UnknownError' && !parts.includes(message) ? message.split('\n')[0] : undefined;
  if (parts.length === 0 && text === undefined) return '';
  return ` (${[parts.join(', '), text].filter((p) => p !== undefined && p.length > 0).join(': ')})`;
}

/** The first non-empty message on the error, its causes or its aggregated errors (Node's connection AggregateError has none itself). */
function firstMessage(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || error === null || typeof error !== 'object') return typeof error === 'string' && error.length > 0 ? error : undefined;
  const o = error as { message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof o.message === 'string' && o.message.length > 0) return o.message;
  const inner = [o.cause, ...(Array.isArray(o.errors) ? (o.errors as unknown[]) : [])];
  for (const e of inner) {
    const m = firstMessage(e, depth + 1);
    if (m !== undefined) return m;
  }
  return undefined;
}
