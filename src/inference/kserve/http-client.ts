/**
 * The KServe v2 client over HTTP/REST. Health and metadata are JSON; `infer` uses the binary
 * tensor data extension both ways: the JSON inference header, its length in the
 * `Inference-Header-Content-Length` header, then each input's raw bytes (`binary_data_size`),
 * and outputs requested in binary (`binary_data: true`) come back the same way. A keep-alive agent
 * keeps a pool of connections, so several requests are in flight at once. Triton's model
 * configuration extension (`GET …/config`) is read too; a server without it answers 404 (null).
 */
import http from 'node:http';
import https from 'node:https';
import { CentaurError } from '../../core/errors.js';
import { callPolicy, callWithPolicy } from './call-policy.js';
import type { CallPolicy, KserveClientOptions } from './call-policy.js';
import { httpError, probeFailure, timeoutError, transportError } from './classify.js';
import { parseModelConfig } from './model-config.js';
import { isRecord, parseModelMetadata, parseParameters, parseServerMetadata } from './parse-metadata.js';
import { inputBytes, outputFromBytes, outputFromValues } from './tensor-bytes.js';
import type { InferOutput, InferRequest, InferResponse, KserveClient, ModelConfig, ModelMetadata, ServerMetadata, TlsMaterial } from './types.js';

const HEADER_LENGTH = 'inference-header-content-length';

/** Answers to `GET …/config` that mean the server has no such endpoint (not found, method not allowed, not implemented). */
const NOT_OFFERED: ReadonlySet<number> = new Set([404, 405, 501]);

/** A 404 that is about the model rather than the endpoint (Triton: "Request for unknown model: … is not found"). */
const UNKNOWN_MODEL = /unknown model/i;

/** Settings of the HTTP client. */
export interface HttpKserveClientOptions extends KserveClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  readonly url: string;
  /** Connections kept open to the server (default 8): the most requests in flight at once. */
  readonly maxConnections?: number;
  /** Send and receive tensors as raw bytes (default true); false sends JSON numbers, for servers without the extension. */
  readonly binaryData?: boolean;
  /** CAs to trust and a client certificate, for an https:// URL (default: the system's CAs, no client certificate). */
  readonly tls?: TlsMaterial;
}

interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Creates an HTTP/REST client for one server; connections open on the first call. */
export function createHttpKserveClient(options: HttpKserveClientOptions): KserveClient {
  return new HttpKserveClient(options);
}

class HttpKserveClient implements KserveClient {
  readonly protocol = 'http';
  readonly address: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly policy: CallPolicy;
  private readonly binary: boolean;
  lastProbeError: string | undefined;

  constructor(options: HttpKserveClientOptions) {
    this.base = new URL(options.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new CentaurError('CONFIG_INVALID', `KServe server URL ${options.url} is not http:// or https://`);
    }
    this.address = this.base.origin + this.base.pathname.replace(/\/$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.maxConnections ?? 8 };
    if (options.tls !== undefined && this.base.protocol !== 'https:') {
      throw new CentaurError('CONFIG_INVALID', `KServe server URL ${options.url} is not https://, but TLS settings are given`);
    }
    this.agent = this.base.protocol === 'https:' ? new https.Agent({ ...agentOptions, ...options.tls }) : new http.Agent(agentOptions);
    this.policy = callPolicy(options);
    this.binary = options.binaryData ?? true;
  }

  async live(): Promise<boolean> {
    return this.probe('/v2/health/live');
  }

  async ready(): Promise<boolean> {
    return this.probe('/v2/health/ready');
  }

  async modelReady(name: string, version?: string): Promise<boolean> {
    return this.probe(`${modelPath(name, version)}/ready`);
  }

  async serverMetadata(): Promise<ServerMetadata> {
    const where = `KServe server ${this.address}: server metadata`;
    const answer = await callWithPolicy(this.policy, where, () => this.expectOk(where, 'GET', '/v2'));
    return parseServerMetadata(where, parseJson(where, answer.body));
  }

  async modelMetadata(name: string, version?: string): Promise<ModelMetadata> {
    const where = `KServe server ${this.address}: metadata of model ${describeModel(name, version)}`;
    const answer = await callWithPolicy(this.policy, where, () => this.expectOk(where, 'GET', modelPath(name, version)));
    return parseModelMetadata(where, parseJson(where, answer.body));
  }

  async modelConfig(name: string, version?: string): Promise<ModelConfig | null> {
    const where = `KServe server ${this.address}: configuration of model ${describeModel(name, version)}`;
    const path = `${modelPath(name, version)}/config`;
    const answer = await callWithPolicy(this.policy, where, async () => {
      let reply: HttpAnswer;
      try {
        reply = await this.send('GET', path, {});
      } catch (error) {
        throw transportError(where, error);
      }
      if (reply.status === 200) return reply;
      const message = errorText(reply.body);
      // A server without Triton's extension (MLServer) has no such route.
      if (NOT_OFFERED.has(reply.status) && !UNKNOWN_MODEL.test(message)) return null;
      throw httpError(where, reply.status, message);
    });
    // Triton answers an empty body for a model with an empty configuration.
    if (answer === null || answer.body.length === 0) return null;
    return parseModelConfig(where, parseJson(where, answer.body));
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    const where = `KServe server ${this.address}: infer ${describeModel(request.model, request.version)}`;
    // Encoded once, before any attempt: a caller's mistake is not the server's failure.
    const { header, blobs } = this.binary ? binaryRequest(request) : jsonRequest(request);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': this.binary ? 'application/octet-stream' : 'application/json',
      'content-length': header.length + blobs.reduce((n, b) => n + b.length, 0),
    };
    if (this.binary) headers[HEADER_LENGTH] = header.length;
    const path = `${modelPath(request.model, request.version)}/infer`;
    const timeoutMs = request.timeoutMs ?? this.policy.timeoutMs;
    const answer = await callWithPolicy(this.policy, where, () =>
      this.expectOk(where, 'POST', path, { headers, chunks: [header, ...blobs], timeoutMs }),
    );
    return parseInferAnswer(where, answer);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** A health call: true on HTTP 200, false on any other answer or none. */
  private async probe(path: string): Promise<boolean> {
    try {
      const answer = await this.send('GET', path, { timeoutMs: this.policy.healthTimeoutMs });
      this.lastProbeError = undefined;
      return answer.status === 200;
    } catch (error) {
      this.lastProbeError = probeFailure(error);
      return false;
    }
  }

  /** Sends a request and classifies any answer but 200 (and any transport failure) as a CentaurError. */
  private async expectOk(
    where: string,
    method: string,
    path: string,
    extra: { headers?: http.OutgoingHttpHeaders; chunks?: readonly Buffer[]; timeoutMs?: number } = {},
  ): Promise<HttpAnswer> {
    let answer: HttpAnswer;
    try {
      answer = await this.send(method, path, extra);
    } catch (error) {
      throw transportError(where, error);
    }
    if (answer.status !== 200) throw httpError(where, answer.status, errorText(answer.body));
    return answer;
  }

  /** One HTTP exchange on the keep-alive agent, with a deadline on the whole exchange. */
  private send(
    method: string,
    path: string,
    extra: { headers?: http.OutgoingHttpHeaders; chunks?: readonly Buffer[]; timeoutMs?: number },
  ): Promise<HttpAnswer> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const timeoutMs = extra.timeoutMs ?? this.policy.timeoutMs;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = transport.request(url, { method, agent: this.agent, headers: extra.headers ?? {} }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      const timer = setTimeout(() => request.destroy(timeoutError(timeoutMs)), timeoutMs);
      request.on('error', reject);
      request.on('close', () => clearTimeout(timer));
      for (const chunk of extra.chunks ?? []) request.write(chunk);
      request.end();
    });
  }
}

/** `/v2/models/{name}[/versions/{version}]`. */
function modelPath(name: string, version?: string): string {
  const model = `/v2/models/${encodeURIComponent(name)}`;
  return version === undefined || version === '' ? model : `${model}/versions/${encodeURIComponent(version)}`;
}

function describeModel(name: string, version?: string): string {
  return version === undefined || version === '' ? name : `${name} version ${version}`;
}

/** The inference header and the raw bytes of each input, in input order. */
function binaryRequest(request: InferRequest): { header: Buffer; blobs: Buffer[] } {
  const blobs = request.inputs.map(inputBytes);
  const body = {
    ...(request.id === undefined ? {} : { id: request.id }),
    inputs: request.inputs.map((input, i) => ({
      name: input.name,
      shape: input.shape,
      datatype: input.datatype,
      parameters: { binary_data_size: (blobs[i] as Buffer).length },
    })),
    ...requestedOutputs(request, true),
  };
  return { header: Buffer.from(JSON.stringify(body)), blobs };
}

/** The whole request as JSON numbers (FP16 inputs travel as their float values). */
function jsonRequest(request: InferRequest): { header: Buffer; blobs: Buffer[] } {
  const body = {
    ...(request.id === undefined ? {} : { id: request.id }),
    inputs: request.inputs.map((input) => {
      const raw = inputBytes(input);
      const data = outputFromBytes(input.name, input.datatype, input.shape, raw);
      return { name: input.name, shape: input.shape, datatype: input.datatype, data: Array.from(data as ArrayLike<number>) };
    }),
    ...requestedOutputs(request, false),
  };
  return { header: Buffer.from(JSON.stringify(body)), blobs: [] };
}

function requestedOutputs(request: InferRequest, binary: boolean): Record<string, unknown> {
  if (request.outputs === undefined) return binary ? { parameters: { binary_data_output: true } } : {};
  return { outputs: request.outputs.map((name) => (binary ? { name, parameters: { binary_data: true } } : { name })) };
}

/** Splits an infer answer into its JSON header and binary section and reads every output. */
function parseInferAnswer(where: string, answer: HttpAnswer): InferResponse {
  const lengthHeader = answer.headers[HEADER_LENGTH];
  const headerLength = lengthHeader === undefined ? answer.body.length : Number(lengthHeader);
  if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > answer.body.length) {
    throw protocolError(where, `Inference-Header-Content-Length is ${String(lengthHeader)}, the body has ${answer.body.length} bytes`);
  }
  const json = parseJson(where, answer.body.subarray(0, headerLength));
  if (!isRecord(json) || !Array.isArray(json.outputs)) throw protocolError(where, 'the answer has no `outputs` list');
  let offset = headerLength;
  const outputs: InferOutput[] = json.outputs.map((raw: unknown) => {
    if (!isRecord(raw) || typeof raw.name !== 'string' || typeof raw.datatype !== 'string' || !Array.isArray(raw.shape)) {
      throw protocolError(where, `an output is not {name, datatype, shape}: ${JSON.stringify(raw).slice(0, 200)}`);
    }
    const shape = raw.shape.map(Number);
    const size = isRecord(raw.parameters) ? raw.parameters.binary_data_size : undefined;
    if (typeof size === 'number') {
      if (offset + size > answer.body.length) throw protocolError(where, `output \`${raw.name}\` runs past the end of the body`);
      const data = outputFromBytes(raw.name, raw.datatype, shape, answer.body.subarray(offset, offset + size));
      offset += size;
      return { name: raw.name, datatype: raw.datatype, shape, data };
    }
    if (!Array.isArray(raw.data)) throw protocolError(where, `output \`${raw.name}\` has neither data nor binary_data_size`);
    return { name: raw.name, datatype: raw.datatype, shape, data: outputFromValues(raw.name, raw.datatype, shape, raw.data) };
  });
  return {
    model: typeof json.model_name === 'string' ? json.model_name : '',
    version: typeof json.model_version === 'string' ? json.model_version : '',
    id: typeof json.id === 'string' ? json.id : '',
    outputs,
    parameters: parseParameters(json.parameters),
  };
}

function parseJson(where: string, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw protocolError(where, `the answer is not JSON (${(error as Error).message})`);
  }
}

/** The `error` of a KServe error body, or the body's start. */
function errorText(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the text itself.
  }
  return text.slice(0, 500);
}

function protocolError(where: string, message: string): CentaurError {
  return new CentaurError('INFERENCE_FAILED', `${where}: ${message}`, { retriable: false });
}
