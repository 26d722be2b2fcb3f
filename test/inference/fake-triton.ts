/**
 * In-process stand-ins for an inference server, over gRPC (grpc-js, serving Centaur's own .proto)
 * and over HTTP (node:http, binary tensors): health, model metadata, Triton's model configuration
 * (or none, as MLServer) and inference. They answer like the demo model's outputs, made from the
 * request: row r of a batch gets probabilities [its first value, r] and an embedding filled with
 * its first value, and every request's input shape is recorded.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import { loadKserveMethods } from '../../src/inference/kserve/proto.js';
import { loadManifest } from '../../src/inference/manifest.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';

/** What the server serves: protocol-shaped metadata, a Triton-shaped configuration (null: not offered). */
export interface FakeModel {
  readonly name: string;
  /** `ModelMetadataResponse` fields: name, versions, platform, inputs, outputs. */
  readonly metadata: Record<string, unknown>;
  /** Triton's configuration as its HTTP JSON has it (snake_case fields, enum names); null: the server does not offer one. */
  readonly config: Record<string, unknown> | null;
  /** Elements of each row's embedding. */
  readonly embedding: number;
}

/** A running stand-in: its address (`host:port` for gRPC, a URL for HTTP) and the input shape of every inference request. */
export interface FakeServer {
  readonly address: string;
  readonly shapes: number[][];
  /** How often the configuration was asked for. */
  configCalls: number;
  close(): Promise<void>;
}

/** The outputs for an FP32 input of `shape` holding `values`. */
function answer(model: FakeModel, shape: readonly number[], values: Float32Array): { probabilities: Float32Array; embedding: Float32Array; rows: number } {
  const rows = shape[0] as number;
  const perRow = rows === 0 ? 0 : values.length / rows;
  const probabilities = new Float32Array(rows * 2);
  const embedding = new Float32Array(rows * model.embedding);
  for (let r = 0; r < rows; r += 1) {
    const first = values[r * perRow] as number;
    probabilities.set([first, r], r * 2);
    embedding.fill(first, r * model.embedding, (r + 1) * model.embedding);
  }
  return { probabilities, embedding, rows };
}

function floats(bytes: Buffer): Float32Array {
  const copy = Buffer.from(bytes);
  return new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4);
}

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** The demo manifest with 4×4 images, so that batches stay small: what `tinyFakeModel` serves (a kserve backend never opens the model file). */
export async function tinyManifest(): Promise<LoadedManifest> {
  const demo = await loadManifest(path.resolve('models/demo'));
  return { ...demo, manifest: { ...demo.manifest, input: { ...demo.manifest.input, width: 4, height: 4 } } };
}

/** The demo model's outputs for 4×4×3 inputs, with 3-element embeddings, as a server with no configuration serves it. */
export function tinyFakeModel(): FakeModel {
  return {
    name: 'horse-or-human',
    metadata: {
      name: 'horse-or-human',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4, 4, 3] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        { name: 'embedding', datatype: 'FP32', shape: [-1, 3] },
      ],
    },
    config: null,
    embedding: 3,
  };
}

/** A server certificate and key; with `clientCa`, clients must present a certificate signed by it (mutual TLS). */
export interface FakeTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

/** A gRPC server on a free loopback port; without a configuration, ModelConfig is left unimplemented (grpc-js answers UNIMPLEMENTED). */
export async function startFakeGrpcServer(model: FakeModel, tls?: FakeTls): Promise<FakeServer> {
  const methods = await loadKserveMethods();
  const server = new grpc.Server();
  const state: FakeServer = {
    address: '',
    shapes: [],
    configCalls: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;
  const unary = (body: (request: Record<string, unknown>) => unknown) => (call: Call, callback: grpc.sendUnaryData<unknown>) => {
    try {
      callback(null, body(call.request));
    } catch (error) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: (error as Error).message });
    }
  };
  const ready = (request: Record<string, unknown>): { ready: boolean } => ({ ready: request.name === model.name });
  const implementation: grpc.UntypedServiceImplementation = {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: true })),
    ModelReady: unary(ready),
    ServerMetadata: unary(() => ({ name: 'fake', version: '0', extensions: [] })),
    ModelMetadata: unary(() => model.metadata),
    ModelInfer: unary((request) => {
      const input = (request.inputs as { shape: number[] }[])[0] as { shape: number[] };
      const shape = input.shape.map(Number);
      state.shapes.push(shape);
      const out = answer(model, shape, floats((request.raw_input_contents as Buffer[])[0] as Buffer));
      return {
        model_name: model.name,
        model_version: '1',
        id: request.id,
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [out.rows, 2] },
          { name: 'embedding', datatype: 'FP32', shape: [out.rows, model.embedding] },
        ],
        raw_output_contents: [bytesOf(out.probabilities), bytesOf(out.embedding)],
      };
    }),
  };
  if (model.config !== null) {
    const config = model.config;
    implementation.ModelConfig = unary(() => {
      state.configCalls += 1;
      return { config };
    });
  }
  server.addService(methods as unknown as grpc.ServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined),
      (error, bound) => (error === null ? resolve(bound) : reject(error)),
    ),
  );
  return Object.assign(state, { address: `127.0.0.1:${port}` });
}

/** An HTTP server on a free loopback port; without a configuration, `…/config` answers 404 as MLServer does. */
export async function startFakeHttpServer(model: FakeModel, tls?: FakeTls): Promise<FakeServer> {
  const state: FakeServer = { address: '', shapes: [], configCalls: 0, close: async () => {} };
  const json = (response: http.ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const match = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(\/ready|\/config|\/infer)?$/.exec(request.url ?? '');
      if (request.url === '/v2/health/live' || request.url === '/v2/health/ready') return json(response, 200, {});
      if (match === null) return json(response, 404, { detail: 'Not Found' });
      if (decodeURIComponent(match[1] as string) !== model.name) return json(response, 404, { error: `Request for unknown model: '${match[1]}' is not found` });
      const what = match[2];
      if (what === undefined) return json(response, 200, model.metadata);
      if (what === '/ready') return json(response, 200, {});
      if (what === '/config') {
        state.configCalls += 1;
        return model.config === null ? json(response, 404, { detail: 'Not Found' }) : json(response, 200, model.config);
      }
      const headerLength = Number(request.headers['inference-header-content-length'] ?? body.length);
      const header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { inputs: { shape: number[] }[] };
      const shape = (header.inputs[0] as { shape: number[] }).shape;
      state.shapes.push(shape);
      const out = answer(model, shape, floats(body.subarray(headerLength)));
      const blobs = [bytesOf(out.probabilities), bytesOf(out.embedding)];
      const head = Buffer.from(
        JSON.stringify({
          model_name: model.name,
          model_version: '1',
          outputs: [
            { name: 'probabilities', datatype: 'FP32', shape: [out.rows, 2], parameters: { binary_data_size: blobs[0]?.length } },
            { name: 'embedding', datatype: 'FP32', shape: [out.rows, model.embedding], parameters: { binary_data_size: blobs[1]?.length } },
          ],
        }),
      );
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': head.length });
      response.end(Buffer.concat([head, ...blobs]));
    });
  };
  const server =
    tls === undefined
      ? http.createServer(handle)
      : https.createServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }) }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    address: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
