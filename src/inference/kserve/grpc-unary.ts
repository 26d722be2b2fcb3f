/**
 * gRPC unary calls over node:http2, for `ModelInfer` only: its request is megabytes of tensor data
 * (19.3 MB for 32 float32 images of 224×224×3), and grpc-js copies every message into a new
 * 5-byte-prefixed frame before writing it. That copy, and the garbage collections a new 19 MB
 * buffer per call brings, cost the client about as much CPU as everything else in the call. Here
 * the caller hands over a message already framed in place (`frameSpace` bytes reserved before it),
 * and it goes to the socket as it is.
 *
 * It speaks the gRPC-over-HTTP/2 protocol as grpc-js does for a unary call: one POST to the
 * method's path with `content-type: application/grpc`, `te: trailers` and a `grpc-timeout`; the
 * answer is one length-prefixed message and `grpc-status`/`grpc-message` trailers (or a
 * trailers-only answer). Every failure rejects with a `GrpcStatusError` carrying the status grpc-js
 * would give: no connection or a lost one is UNAVAILABLE, a passed deadline DEADLINE_EXCEEDED (also
 * while the connection is still being opened), an answer over the size limit RESOURCE_EXHAUSTED,
 * a reset stream or a non-gRPC HTTP answer the status the gRPC specification maps it to. Health,
 * metadata and configuration calls stay on grpc-js.
 */
import http2 from 'node:http2';
import { describeError } from './classify.js';
import { GrpcStatus } from './grpc-status.js';
import type { TlsMaterial } from './types.js';

/** The bytes a gRPC message frame puts before the message: a compressed flag and a 4-byte length. */
export const frameSpace = 5;

/** A gRPC call that ended without OK: its status code and details, as grpc-js's ServiceError has them. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`gRPC status ${code}: ${details}`);
    this.name = 'GrpcStatusError';
  }
}

/** Settings of an HTTP/2 gRPC channel to one server. */
export interface Http2GrpcChannelOptions {
  /** `host:port` of the server's gRPC endpoint. */
  readonly address: string;
  /** Use TLS with these CAs (default: the system's) and client certificate (absent: plaintext). */
  readonly tls?: TlsMaterial;
  /** Largest message sent or received, in bytes. */
  readonly maxMessageBytes: number;
}

/** The longest delay a Node timer takes (about 24.8 days); a longer deadline waits this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The session's receive window: an answer of a few MiB (embeddings) arrives without waiting on updates. */
const RECEIVE_WINDOW = 8 * 1024 * 1024;

/**
 * One HTTP/2 connection to a gRPC server, opened on the first call and again after it is lost;
 * calls in flight share it. It keeps the process alive only while a call is in flight.
 */
export class Http2GrpcChannel {
  private session: http2.ClientHttp2Session | undefined;
  /** Calls in flight on each session: a session holds the process open only while it has some. */
  private readonly inFlight = new WeakMap<http2.ClientHttp2Session, number>();
  private closed = false;

  constructor(private readonly options: Http2GrpcChannelOptions) {}

  /**
   * Calls `path` with `framed`: a message preceded by `frameSpace` bytes that this fills in.
   * Resolves with the answer's message bytes. Once the promise settles `framed` may be reused: an
   * answered stream has sent all of it, and what a cancelled one still had queued for the socket
   * belongs to a reset stream, which the server discards.
   */
  call(path: string, framed: Buffer, timeoutMs: number): Promise<Buffer> {
    const length = framed.length - frameSpace;
    if (length < 0) return Promise.reject(new Error(`a framed gRPC message has at least ${frameSpace} bytes`));
    if (length > this.options.maxMessageBytes) {
      return Promise.reject(
        new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${length} vs. ${this.options.maxMessageBytes})`),
      );
    }
    if (this.closed) return Promise.reject(new GrpcStatusError(GrpcStatus.UNAVAILABLE, 'Channel has been shut down'));
    framed[0] = 0;
    framed.writeUInt32BE(length, 1);
    let session: http2.ClientHttp2Session;
    try {
      session = this.connected();
    } catch (error) {
      return Promise.reject(new GrpcStatusError(GrpcStatus.UNAVAILABLE, error instanceof Error ? error.message : String(error)));
    }
    this.inFlight.set(session, (this.inFlight.get(session) ?? 0) + 1);
    session.ref();
    return this.exchange(session, path, framed, timeoutMs).finally(() => {
      const left = (this.inFlight.get(session) ?? 1) - 1;
      this.inFlight.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
    });
  }

  /** Closes the connection; calls in flight end with UNAVAILABLE, and later calls are refused. */
  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  /** The open session, or a new one. */
  private connected(): http2.ClientHttp2Session {
    const open = this.session;
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const { tls } = this.options;
    const session = http2.connect(`${tls === undefined ? 'http' : 'https'}://${this.options.address}`, {
      ...tls,
      // Outgoing data waiting for the socket counts against this credit; a few large requests in flight must fit.
      maxSessionMemory: Math.max(64, Math.ceil((4 * this.options.maxMessageBytes) / (1024 * 1024))),
      settings: { initialWindowSize: RECEIVE_WINDOW },
    });
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    // A failed or closing session fails its streams (each says why); the next call opens a new one.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    session.once('connect', () => session.setLocalWindowSize(RECEIVE_WINDOW));
    session.unref();
    this.session = session;
    return session;
  }

  /** One stream: the request written, the answer and its status read; settles by the deadline at the latest. */
  private exchange(session: http2.ClientHttp2Session, path: string, framed: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': grpcTimeout(timeoutMs),
          'grpc-accept-encoding': 'identity',
        });
      } catch (error) {
        reject(new GrpcStatusError(GrpcStatus.UNAVAILABLE, error instanceof Error ? error.message : String(error)));
        return;
      }
      const answer = new AnswerReader(this.options.maxMessageBytes);
      let settled = false;
      let status: { code: number; details: string } | undefined;
      const settle = (outcome: Buffer | GrpcStatusError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (outcome instanceof GrpcStatusError) reject(outcome);
        else resolve(outcome);
      };
      // Ends the call now with `error`, and the stream with it (cancelled, or dropped before it was sent).
      const fail = (error: GrpcStatusError): void => {
        if (settled || status !== undefined) return;
        settle(error);
        if (stream.pending) stream.destroy();
        else stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const deadline = setTimeout(() => {
        // A connection still being opened at the deadline is not going to serve anyone.
        if (session.connecting) session.destroy();
        fail(new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, `Deadline exceeded after ${timeoutMs} ms`));
      }, Math.min(timeoutMs, MAX_TIMER_MS));
      stream.on('response', (headers) => {
        const httpStatus = Number(headers[':status']);
        const inHeaders = statusOf(headers);
        if (inHeaders !== undefined) status = inHeaders;
        else if (httpStatus !== 200) fail(new GrpcStatusError(httpStatusCode(httpStatus), `Received HTTP status code ${httpStatus}`));
        else if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
          fail(new GrpcStatusError(GrpcStatus.UNKNOWN, `Received content-type ${String(headers['content-type'])}, not application/grpc`));
        }
      });
      stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
        status = statusOf(trailers) ?? { code: GrpcStatus.UNKNOWN, details: 'Trailers without grpc-status' };
      });
      stream.on('data', (chunk: Buffer) => {
        const problem = answer.push(chunk);
        if (problem !== undefined) fail(problem);
      });
      // 'error' comes before 'close' for a reset stream or a lost connection; for a connection that
      // failed (refused, reset) its cause names why, e.g. "connect ECONNREFUSED …".
      let streamError: Error | undefined;
      stream.on('error', (error: Error) => {
        streamError ??= error;
      });
      stream.on('close', () => {
        if (settled) return;
        if (status === undefined) {
          // A stream closed with its connection (refused, reset, gone away) is the server's absence, whatever code it got.
          const lost = session.destroyed || session.closed;
          settle(new GrpcStatusError(lost ? GrpcStatus.UNAVAILABLE : resetCode(stream.rstCode), endedWithout(stream.rstCode, streamError, lost)));
        } else if (status.code !== 0) {
          settle(new GrpcStatusError(status.code, status.details));
        } else {
          settle(answer.message());
        }
      });
      stream.end(framed);
    });
  }
}

/** Reads one length-prefixed message from the answer's data, refusing more than `maxBytes`. */
class AnswerReader {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  /** The message's length from its prefix, once the prefix has arrived. */
  private length: number | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Takes a chunk of data; a problem with the answer so far, if any. */
  push(chunk: Buffer): GrpcStatusError | undefined {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.length === undefined) {
      if (this.received < frameSpace) return undefined;
      // Read once: the prefix is in the first chunk but for a first chunk of under 5 bytes.
      const first = this.chunks[0] as Buffer;
      const head = first.length >= frameSpace ? first : Buffer.concat(this.chunks, this.received);
      if (head[0] !== 0) return new GrpcStatusError(GrpcStatus.INTERNAL, 'Received a compressed message, though none was asked for');
      this.length = head.readUInt32BE(1);
      if (this.length > this.maxBytes) return new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${this.length} vs. ${this.maxBytes})`);
    }
    if (this.received > frameSpace + this.length) return new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, 'Received more than one message for a unary call');
    return undefined;
  }

  /** The message, once the answer has ended. */
  message(): Buffer | GrpcStatusError {
    if (this.received === 0) return new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, 'No message received for a unary call');
    if (this.length === undefined || this.received !== frameSpace + this.length) {
      return new GrpcStatusError(GrpcStatus.INTERNAL, `Received a truncated message (${this.received} bytes)`);
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.received);
    return all.subarray(frameSpace);
  }
}

/** A `grpc-timeout` header value: whole milliseconds, at most 8 digits as the protocol allows. */
function grpcTimeout(timeoutMs: number): string {
  const ms = Math.max(1, Math.ceil(timeoutMs));
  return ms < 1e8 ? `${ms}m` : `${Math.min(99_999_999, Math.ceil(ms / 1000))}S`;
}

/** The status in a header block, if it has `grpc-status`; `grpc-message` is percent-decoded. */
function statusOf(headers: http2.IncomingHttpHeaders): { code: number; details: string } | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  const message = headers['grpc-message'];
  const text = typeof message === 'string' ? message : '';
  let details = text;
  try {
    details = decodeURIComponent(text);
  } catch {
    // Not valid percent-encoding: kept as it came.
  }
  return { code: Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, details };
}

/** The gRPC status for an HTTP answer that is not gRPC, as the gRPC specification maps them. */
function httpStatusCode(status: number): number {
  if (status === 400) return GrpcStatus.INTERNAL;
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

/** The gRPC status of a stream reset, or ended without a status, on a connection that is still up (gRPC's HTTP/2 mapping). */
function resetCode(rstCode: number | undefined): number {
  if (rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) return GrpcStatus.UNAVAILABLE;
  if (rstCode === http2.constants.NGHTTP2_CANCEL) return GrpcStatus.CANCELLED;
  if (rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (rstCode === http2.constants.NGHTTP2_INADEQUATE_SECURITY) return GrpcStatus.PERMISSION_DENIED;
  // NO_ERROR without a status, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR and the rest.
  return GrpcStatus.INTERNAL;
}

/** What a stream that ended without a status met: its error (a connection refused or lost), else its reset code. */
function endedWithout(rstCode: number | undefined, streamError: Error | undefined, lost: boolean): string {
  // A stream cancelled by its failed connection carries the connection's error as its cause.
  const error = streamError?.cause instanceof Error ? streamError.cause : streamError;
  if (error !== undefined && (error as { code?: unknown }).code !== 'ERR_HTTP2_STREAM_ERROR') return describeError(error);
  if (lost) return 'Connection lost';
  return `Stream closed without a status (HTTP/2 error code ${rstCode ?? 'none'})`;
}
