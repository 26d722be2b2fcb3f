/**
 * The `kserve` backend against a scripted client (no server): the start-up checks and their
 * errors, how a batch becomes requests (split at the server's limit, at most `maxInFlight` at
 * once, the caller's buffer never read after `run` settles), and how errors keep their retry class.
 * test/integration/kserve-infer.test.ts runs it against the real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { BatchTensor } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import type { KserveBackendOptions } from '../../src/inference/backend.js';
import { connectionFor, startKserveBackend } from '../../src/inference/kserve-backend.js';
import { Limiter } from '../../src/core/limiter.js';
import type { InferRequest, InferResponse, KserveClient, ModelMetadata } from '../../src/inference/kserve/types.js';
import { loadManifest } from '../../src/inference/manifest.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';

const model = await loadManifest(path.resolve('models/demo'));
const PER_IMAGE = 224 * 224 * 3;
const OPTIONS: KserveBackendOptions = { kind: 'kserve', endpoint: '127.0.0.1:8001', retries: 1 };

function metadata(edit: Partial<ModelMetadata> = {}): ModelMetadata {
  return {
    name: 'horse-or-human',
    versions: ['1'],
    platform: 'onnxruntime',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 224, 224, 3] }],
    outputs: [
      { name: 'embedding', datatype: 'FP32', shape: [-1, 1280] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ],
    ...edit,
  };
}

/** A client that answers as scripted and records each inference request (with a copy of its data). */
class FakeClient implements KserveClient {
  readonly protocol = 'grpc';
  readonly address = '10.0.0.9:8001';
  readonly requests: { request: InferRequest; first: number; rows: number }[] = [];
  inFlight = 0;
  peakInFlight = 0;
  closed = false;
  isLive = true;
  isReady = true;
  served: ModelMetadata = metadata();
  /** Answers one request; the default answers like the demo model, row i with probabilities [i, -i]. */
  answer: (request: InferRequest, index: number) => Promise<InferResponse> = async (request) => demoAnswer(request);

  async live(): Promise<boolean> {
    return this.isLive;
  }
  async ready(): Promise<boolean> {
    return this.isLive && this.isReady;
  }
  async modelReady(): Promise<boolean> {
    return this.isLive && this.isReady;
  }
  async serverMetadata(): Promise<never> {
    throw new Error('not used');
  }
  async modelMetadata(): Promise<ModelMetadata> {
    return this.served;
  }
  async infer(request: InferRequest): Promise<InferResponse> {
    const input = request.inputs[0];
    assert.ok(input);
    this.requests.push({ request, first: Number(input.data[0]), rows: input.shape[0] as number });
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await this.answer(request, this.requests.length - 1);
    } finally {
      this.inFlight -= 1;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Probabilities [first pixel of the row, row] and a 1280-wide embedding of the row's first pixel. */
function demoAnswer(request: InferRequest): InferResponse {
  const input = request.inputs[0];
  assert.ok(input);
  const rows = input.shape[0] as number;
  const probabilities = new Float32Array(rows * 2);
  const embedding = new Float32Array(rows * 1280);
  for (let r = 0; r < rows; r += 1) {
    const first = Number(input.data[r * PER_IMAGE]);
    probabilities.set([first, r], r * 2);
    embedding.fill(first, r * 1280, (r + 1) * 1280);
  }
  return {
    model: request.model,
    version: '1',
    id: '',
    parameters: {},
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [rows, 2], data: probabilities },
      { name: 'embedding', datatype: 'FP32', shape: [rows, 1280], data: embedding },
    ],
  };
}

/** A pooled buffer with room for 64 images holding `n`, image i filled with i + 1. */
function batchOf(n: number): BatchTensor {
  const data = new Float32Array(64 * PER_IMAGE);
  for (let i = 0; i < n; i += 1) data.fill(i + 1, i * PER_IMAGE, (i + 1) * PER_IMAGE);
  return { data, shape: [n, 224, 224, 3], layout: 'NHWC', release: () => {} };
}

function coded(code: string, pattern: RegExp, retriable: boolean): (error: CentaurError) => boolean {
  return (error) => {
    assert.ok(error instanceof CentaurError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.retriable, retriable);
    assert.match(error.message, pattern);
    return true;
  };
}

test('start-up: the description names protocol, server, model and datatype; a batch maps to the onnx output shape', async () => {
  const client = new FakeClient();
  const backend = await startKserveBackend(model, OPTIONS, client, { nodeId: 'infer' });
  assert.equal(backend.name, 'kserve');
  assert.equal(backend.description, 'kserve grpc 10.0.0.9:8001 model horse-or-human (FP32)');
  const out = await backend.run(batchOf(3));
  assert.deepEqual(Array.from(out.probabilities), [1, 0, 2, 1, 3, 2]);
  assert.equal(out.embeddingSize, 1280);
  assert.equal(out.embedding?.[1280], 2);
  const [sent] = client.requests;
  assert.equal(sent?.request.model, 'horse-or-human');
  assert.equal(sent?.request.version, undefined);
  assert.deepEqual(sent?.request.outputs, ['probabilities', 'embedding']);
  assert.equal(sent?.request.timeoutMs, 30000);
  assert.deepEqual(sent?.request.inputs[0]?.shape, [3, 224, 224, 3]);
  assert.equal(sent?.request.inputs[0]?.data.length, 3 * PER_IMAGE, 'only the batch, not the whole pooled buffer');
  await backend.close();
  assert.equal(client.closed, true);
  await assert.rejects(backend.run(batchOf(1)), coded('INFERENCE_FAILED', /closed/, false));
});

test('a named model and version are asked for and described', async () => {
  const client = new FakeClient();
  const backend = await startKserveBackend(model, { ...OPTIONS, model: 'hoh', version: '3', timeoutMs: 1234 }, client);
  assert.equal(backend.description, 'kserve grpc 10.0.0.9:8001 model hoh version 3 (FP32)');
  await backend.run(batchOf(1));
  assert.equal(client.requests[0]?.request.model, 'hoh');
  assert.equal(client.requests[0]?.request.version, '3');
  assert.equal(client.requests[0]?.request.timeoutMs, 1234);
});

test("a batch over the server's limit is split, at most maxInFlight requests at once, and joined in order", async () => {
  const client = new FakeClient();
  client.served = metadata({ maxBatchSize: 4 });
  client.answer = async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return demoAnswer(request);
  };
  const backend = await startKserveBackend(model, { ...OPTIONS, maxInFlight: 2 }, client);
  const out = await backend.run(batchOf(10));
  assert.deepEqual(
    client.requests.map((r) => [r.rows, r.first]),
    [
      [4, 1],
      [4, 5],
      [2, 9],
    ],
  );
  assert.equal(client.peakInFlight, 2);
  assert.deepEqual(
    Array.from(out.probabilities).filter((_, i) => i % 2 === 0),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test('a failed request rejects run only once every request has settled, keeping its retry class', async () => {
  const client = new FakeClient();
  client.served = metadata({ maxBatchSize: 2 });
  let slowDone = false;
  client.answer = async (request, index) => {
    if (index === 0) throw new CentaurError('INFERENCE_SERVER_UNAVAILABLE', 'server went away (gave up after 2 attempts)');
    await new Promise((resolve) => setTimeout(resolve, 30));
    slowDone = true;
    return demoAnswer(request);
  };
  const backend = await startKserveBackend(model, OPTIONS, client);
  await assert.rejects(backend.run(batchOf(4)), coded('INFERENCE_SERVER_UNAVAILABLE', /server went away/, true));
  assert.equal(slowDone, true, 'no request still reads the buffer after run settled');

  client.answer = async () => {
    throw new CentaurError('INFERENCE_REQUEST_INVALID', 'HTTP 400: bad shape');
  };
  await assert.rejects(backend.run(batchOf(1)), coded('INFERENCE_REQUEST_INVALID', /bad shape/, false));

  client.answer = async (request) => ({ ...demoAnswer(request), outputs: demoAnswer(request).outputs.slice(1) });
  await assert.rejects(
    backend.run(batchOf(1)),
    coded('INFERENCE_FAILED', /KServe server 10\.0\.0\.9:8001 \(grpc\): model `horse-or-human`: the answer has no output `probabilities`/, false),
  );
});

test('a served model that differs from the manifest stops the start with a config error naming both sides', async () => {
  const client = new FakeClient();
  client.served = metadata({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 112, 112, 3] }] });
  await assert.rejects(startKserveBackend(model, OPTIONS, client, { nodeId: 'infer' }), (error: CentaurError) => {
    assert.equal(error.code, 'MODEL_METADATA_MISMATCH');
    assert.equal(error.category, 'config');
    assert.match(error.message, /^node `infer`: model `horse-or-human` on 10\.0\.0\.9:8001 \(grpc\) does not match the manifest .*models\/demo\/manifest\.json/);
    assert.match(error.message, /the server says shape \[-1, 112, 112, 3\], the manifest says \[-1, 224, 224, 3\]/);
    return true;
  });
});

test('a server that cannot be reached, or lacks the model, stops the start with a retriable INFERENCE_SERVER_UNAVAILABLE', async () => {
  const down = new FakeClient();
  down.isLive = false;
  await assert.rejects(
    startKserveBackend(model, OPTIONS, down, { nodeId: 'infer' }),
    coded('INFERENCE_SERVER_UNAVAILABLE', /^node `infer`: KServe server 10\.0\.0\.9:8001 \(grpc\): cannot be reached \(after 2 attempts in [\d.]+ s\); is it running, and are `backend.endpoint` and `backend.tls` right\?$/, true),
  );
  const noModel = new FakeClient();
  noModel.isReady = false;
  await assert.rejects(
    startKserveBackend(model, { ...OPTIONS, model: 'nope', version: '2' }, noModel),
    coded('INFERENCE_SERVER_UNAVAILABLE', /model `nope` version 2 is not ready .*check `backend.model` and `backend.version`/, true),
  );
});

test('batchDtypes: float16 first when the pixels travel as FP16 (server input FP16, or inputDatatype FP16); maxBatchRows: the server limit', async () => {
  const fp32 = await startKserveBackend(model, OPTIONS, new FakeClient());
  assert.deepEqual(fp32.batchDtypes, ['float32', 'float16']);
  assert.equal(fp32.maxBatchRows, undefined, 'no limit reported');
  assert.deepEqual((await startKserveBackend(model, { ...OPTIONS, inputDatatype: 'FP16' }, new FakeClient())).batchDtypes, ['float16', 'float32']);
  assert.deepEqual((await startKserveBackend(model, { ...OPTIONS, inputDatatype: 'UINT8' }, new FakeClient())).batchDtypes, ['float32', 'float16']);
  const fp16Served = new FakeClient();
  fp16Served.served = metadata({ inputs: [{ name: 'input', datatype: 'FP16', shape: [-1, 224, 224, 3] }], maxBatchSize: 16 });
  const fp16 = await startKserveBackend(model, OPTIONS, fp16Served);
  assert.deepEqual(fp16.batchDtypes, ['float16', 'float32']);
  assert.equal(fp16.maxBatchRows, 16);
  const uint8Model: LoadedManifest = { ...model, manifest: { ...model.manifest, input: { ...model.manifest.input, dtype: 'uint8', scale: 'uint8' } } };
  const uint8Client = new FakeClient();
  uint8Client.served = metadata({ inputs: [{ name: 'input', datatype: 'UINT8', shape: [-1, 224, 224, 3] }] });
  assert.equal((await startKserveBackend(uint8Model, OPTIONS, uint8Client)).batchDtypes, undefined, 'a uint8 model takes its own type only');
});

test('inputDatatype: UINT8 sends the exact bytes of float pixels; a uint8 model takes nothing but UINT8', async () => {
  const client = new FakeClient();
  const backend = await startKserveBackend(model, { ...OPTIONS, inputDatatype: 'UINT8' }, client);
  assert.match(backend.description, /\(UINT8\)$/);
  const data = new Float32Array(2 * PER_IMAGE).fill(Math.fround(17 / 255));
  await backend.run({ data, shape: [1, 224, 224, 3], layout: 'NHWC', release: () => {} });
  const sent = client.requests[0]?.request.inputs[0];
  assert.equal(sent?.datatype, 'UINT8');
  assert.ok(sent?.data instanceof Uint8Array);
  assert.equal(sent.data.length, PER_IMAGE);
  assert.ok(sent.data.every((v) => v === 17));

  const uint8Model: LoadedManifest = { ...model, manifest: { ...model.manifest, input: { ...model.manifest.input, dtype: 'uint8', scale: 'uint8' } } };
  const uint8Client = new FakeClient();
  uint8Client.served = metadata({ inputs: [{ name: 'input', datatype: 'UINT8', shape: [-1, 224, 224, 3] }] });
  assert.match((await startKserveBackend(uint8Model, OPTIONS, uint8Client)).description, /\(UINT8\)$/);
  await assert.rejects(
    startKserveBackend(uint8Model, { ...OPTIONS, inputDatatype: 'FP16' }, uint8Client),
    coded('CONFIG_INVALID', /inputDatatype FP16 cannot carry the uint8 input/, false),
  );
});

test('endpoints: gRPC takes host:port, HTTP a URL; defaults for deadline, retries and connections', () => {
  const grpc = connectionFor({ kind: 'kserve', endpoint: 'triton.local:8001' });
  assert.equal(grpc.protocol, 'grpc');
  assert.equal(grpc.protocol === 'grpc' ? grpc.address : '', 'triton.local:8001');
  assert.equal(grpc.timeoutMs, 30000);
  assert.equal(grpc.retry?.attempts, 4);
  assert.equal(grpc.protocol === 'grpc' ? grpc.inferVia : 'not grpc', undefined, 'ModelInfer on the HTTP/2 caller by default');
  const viaGrpcJs = connectionFor({ kind: 'kserve', endpoint: 'triton.local:8001', grpcInfer: 'grpc-js' });
  assert.equal(viaGrpcJs.protocol === 'grpc' ? viaGrpcJs.inferVia : 'not grpc', 'grpc-js');
  const http = connectionFor({ kind: 'kserve', protocol: 'http', endpoint: 'https://triton.local/prefix', maxInFlight: 3, retries: 0 });
  assert.deepEqual(
    http.protocol === 'http' ? [http.url, http.maxConnections, http.retry?.attempts] : [],
    ['https://triton.local/prefix', 3, 1],
  );
  assert.throws(
    () => connectionFor({ kind: 'kserve', endpoint: 'http://127.0.0.1:8000' }, { nodeId: 'infer' }),
    coded('CONFIG_INVALID', /^node `infer`: backend.endpoint `http:\/\/127.0.0.1:8000` is not a gRPC `host:port`.*set `protocol: http`/, false),
  );
  assert.throws(() => connectionFor({ kind: 'kserve', endpoint: 'triton.local' }), coded('CONFIG_INVALID', /not a gRPC `host:port`/, false));
  assert.throws(
    () => connectionFor({ kind: 'kserve', protocol: 'http', endpoint: '127.0.0.1:8000' }),
    coded('CONFIG_INVALID', /not an http:\/\/ or https:\/\/ URL/, false),
  );
});

test('the limiter runs at most its limit at once, in arrival order, and frees a slot on failure', async () => {
  const limiter = new Limiter(2);
  const order: number[] = [];
  let peak = 0;
  const task = (i: number, fail = false) =>
    limiter.run(async () => {
      peak = Math.max(peak, limiter.inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      order.push(i);
      if (fail) throw new Error(`task ${i}`);
      return i;
    });
  const results = await Promise.allSettled([task(0), task(1, true), task(2), task(3), task(4)]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.equal(limiter.inFlight, 0);
});
