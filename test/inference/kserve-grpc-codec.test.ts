/**
 * The gRPC client's ModelInfer request bytes (grpc-codec.ts): what the encoder writes decodes with
 * the .proto to the message the client meant, for every datatype it sends, several inputs and
 * outputs, empty fields and lengths of every varint size; request buffers are reused only after
 * their call; and through an in-process grpc-js server, large requests in flight at once, and a
 * retried one, each arrive whole (the server answers a digest of the bytes it received).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { encodeModelInferRequest, RequestBuffers } from '../../src/inference/kserve/grpc-codec.js';
import { createKserveClient } from '../../src/inference/kserve/index.js';
import type { InferInput, KserveClient } from '../../src/inference/kserve/index.js';
import { loadKserveMethods } from '../../src/inference/kserve/proto.js';
import type { ModelInferRequestMessage } from '../../src/inference/kserve/proto.js';
import { inputBytes } from '../../src/inference/kserve/tensor-bytes.js';

const methods = await loadKserveMethods();
const encodeHead = methods.ModelInfer.requestSerialize;

/** The message the .proto's decoder reads from `bytes`. */
function decoded(bytes: Buffer): unknown {
  return methods.ModelInfer.requestDeserialize(bytes);
}

/** The message as the .proto's own encoder and decoder give it back: what ours must decode to. */
function expected(message: ModelInferRequestMessage): unknown {
  return decoded(encodeHead(message));
}

function message(inputs: readonly InferInput[], extra: Partial<ModelInferRequestMessage> = {}): ModelInferRequestMessage {
  return {
    model_name: 'horse-or-human',
    model_version: '',
    id: '',
    inputs: inputs.map((input) => ({ name: input.name, datatype: input.datatype, shape: input.shape })),
    outputs: [],
    raw_input_contents: inputs.map(inputBytes),
    ...extra,
  };
}

test('one FP32 batch decodes with the .proto to the same request, its tensor bytes unchanged', () => {
  const data = Float32Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => i / 7 - 3);
  const request = message([{ name: 'input', datatype: 'FP32', shape: [2, 4, 4, 3], data }]);
  const bytes = encodeModelInferRequest(request, encodeHead);
  assert.deepEqual(decoded(bytes), expected(request));
  const raw = (decoded(bytes) as { raw_input_contents: Buffer[] }).raw_input_contents;
  assert.deepEqual(new Float32Array(Uint8Array.from(raw[0] as Buffer).buffer), data);
});

test('several inputs of every datatype the client sends, requested outputs, version and id decode alike', () => {
  const inputs: InferInput[] = [
    { name: 'pixels', datatype: 'FP32', shape: [1, 2, 2, 3], data: Float32Array.from({ length: 12 }, (_, i) => -i * 0.25) },
    { name: 'half from float32', datatype: 'FP16', shape: [3], data: new Float32Array([1, -2, 0.5]) },
    { name: 'half bits', datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
    { name: 'raw', datatype: 'UINT8', shape: [2, 2], data: new Uint8Array([0, 128, 255, 7]) },
  ];
  const request = message(inputs, { model_version: '3', id: 'batch-17', outputs: [{ name: 'probabilities' }, { name: 'embedding' }] });
  const bytes = encodeModelInferRequest(request, encodeHead);
  assert.deepEqual(decoded(bytes), expected(request));
  const raw = (decoded(bytes) as { raw_input_contents: Buffer[] }).raw_input_contents;
  assert.deepEqual(raw.map((b) => [...b]), request.raw_input_contents.map((b) => [...b]));
});

test('empty fields, an empty tensor and a non-ASCII name decode alike; each raw entry keeps its place', () => {
  const empty = message([
    { name: 'none', datatype: 'FP32', shape: [0, 3], data: new Float32Array(0) },
    { name: 'caf\u00e9 \u{1F40E}', datatype: 'UINT8', shape: [1], data: new Uint8Array([42]) },
  ]);
  const bytes = encodeModelInferRequest(empty, encodeHead);
  assert.deepEqual(decoded(bytes), expected(empty));
  assert.deepEqual((decoded(bytes) as { raw_input_contents: Buffer[] }).raw_input_contents.map((b) => [...b]), [[], [42]]);
  const bare: ModelInferRequestMessage = { model_name: '', model_version: '', id: '', inputs: [], outputs: [], raw_input_contents: [] };
  assert.deepEqual(decoded(encodeModelInferRequest(bare, encodeHead)), expected(bare));
});

test('tensor lengths at every varint boundary decode to the right bytes', () => {
  for (const length of [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) % 251);
    const request = message([{ name: 'x', datatype: 'UINT8', shape: [length], data }]);
    const bytes = encodeModelInferRequest(request, encodeHead);
    const raw = (decoded(bytes) as { raw_input_contents: Buffer[] }).raw_input_contents;
    assert.equal(raw.length, 1, `length ${length}`);
    assert.ok((raw[0] as Buffer).equals(data), `length ${length}`);
    assert.equal(bytes.length, encodeHead(request).length, `length ${length}: the same size as the .proto's own encoding`);
  }
});

test('the message is written into the buffer the allocator gives', () => {
  const request = message([{ name: 'x', datatype: 'UINT8', shape: [4], data: new Uint8Array([1, 2, 3, 4]) }]);
  const backing = Buffer.alloc(1024);
  const bytes = encodeModelInferRequest(request, encodeHead, (size) => backing.subarray(0, size));
  assert.equal(bytes.buffer, backing.buffer);
  assert.deepEqual(decoded(bytes), expected(request));
});

test('request buffers: a large one is reused once given back, small ones are not kept, at most `keep` (the largest) are', () => {
  const buffers = new RequestBuffers(2);
  const first = buffers.take(3 << 20);
  assert.equal(first.length, 3 << 20);
  assert.notEqual(buffers.take(3 << 20).buffer, first.buffer, 'a buffer still lent is not handed out twice');
  buffers.give(first);
  assert.equal(buffers.keptBytes, 3 << 20);
  const again = buffers.take(2 << 20);
  assert.equal(again.buffer, first.buffer, 'a smaller request reuses the kept buffer');
  assert.equal(again.length, 2 << 20);
  assert.equal(buffers.keptBytes, 0);
  buffers.give(again);
  assert.equal(buffers.keptBytes, 3 << 20, 'the whole buffer comes back, not the view');

  const small = buffers.take(1000);
  buffers.give(small);
  assert.equal(buffers.keptBytes, 3 << 20, 'requests under 1 MiB are not kept');

  buffers.give(buffers.take(4 << 20));
  buffers.give(Buffer.allocUnsafeSlow(2 << 20));
  assert.equal(buffers.keptBytes, (3 << 20) + (4 << 20), 'only the two largest are kept');
  buffers.give(Buffer.allocUnsafeSlow(5 << 20));
  assert.equal(buffers.keptBytes, (4 << 20) + (5 << 20));
});

/** An in-process server whose ModelInfer answers what it received: a SHA-256 of each raw input and the request's fields. */
async function startDigestServer(failFirst = 0): Promise<{ address: string; calls: number; close: () => Promise<void> }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  const state = { address: '', calls: 0, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
  type Request = { model_name: string; id: string; inputs: { name: string; datatype: string; shape: number[] }[]; outputs: { name: string }[]; raw_input_contents: Buffer[] };
  const implementation: grpc.UntypedServiceImplementation = {
    ModelInfer: (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      state.calls += 1;
      if (state.calls <= failFirst) return callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      const request = call.request;
      const fields = { model: request.model_name, inputs: request.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(Number) })), outputs: request.outputs.map((o) => o.name) };
      callback(null, {
        model_name: request.model_name,
        id: request.id,
        parameters: { request: { string_param: JSON.stringify(fields) } },
        outputs: request.raw_input_contents.map((_, i) => ({ name: `digest${i}`, datatype: 'UINT8', shape: [32] })),
        raw_output_contents: request.raw_input_contents.map((raw) => createHash('sha256').update(raw).digest()),
      });
    },
  };
  server.addService(methods as unknown as grpc.ServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  state.address = `127.0.0.1:${port}`;
  return state;
}

function digest(input: InferInput): string {
  return createHash('sha256').update(inputBytes(input)).digest('hex');
}

/** A float32 batch of `rows` 256×256×3 images (768 KiB each), its values set by `seed`. */
function batch(rows: number, seed: number): InferInput {
  const data = new Float32Array(rows * 256 * 256 * 3);
  for (let i = 0; i < data.length; i += 1) data[i] = ((i * 7 + seed * 131) % 1009) / 1009;
  return { name: 'input', datatype: 'FP32', shape: [rows, 256, 256, 3], data };
}

async function withClient(address: string, body: (client: KserveClient) => Promise<void>): Promise<void> {
  const client = await createKserveClient({ protocol: 'grpc', address, retry: { attempts: 3, baseDelayMs: 1 } });
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

test('large requests, one after another and several in flight at once, each reach the server whole', async () => {
  const server = await startDigestServer();
  try {
    await withClient(server.address, async (client) => {
      const one = async (input: InferInput, outputs?: string[]) => {
        const answer = await client.infer({ model: 'm', id: `seed-${input.data[0]}`, inputs: [input], ...(outputs === undefined ? {} : { outputs }) });
        assert.equal(Buffer.from(answer.outputs[0]?.data as Uint8Array).toString('hex'), digest(input));
        return answer;
      };
      // Sequential calls reuse one buffer; each must still carry its own bytes.
      for (let seed = 0; seed < 3; seed += 1) await one(batch(2 + seed, seed));
      // Five in flight at once: more than the buffers kept, of different sizes.
      await Promise.all([1, 2, 3, 4, 5].map((seed) => one(batch(seed % 3 === 0 ? 1 : 2, seed + 10))));
      const answer = await one(batch(2, 99), ['probabilities']);
      assert.deepEqual(JSON.parse(String(answer.parameters.request)), {
        model: 'm',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 256, 256, 3] }],
        outputs: ['probabilities'],
      });
    });
  } finally {
    await server.close();
  }
});

test('every datatype the client sends, several inputs in one request, arrive as their bytes', async () => {
  const server = await startDigestServer();
  try {
    await withClient(server.address, async (client) => {
      const inputs: InferInput[] = [
        batch(2, 5),
        { name: 'half', datatype: 'FP16', shape: [2, 3], data: new Float32Array([1, -2, 0.5, 65504, 1e-8, 3.14159]) },
        { name: 'bits', datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0x7bff]) },
        { name: 'pixels', datatype: 'UINT8', shape: [1, 2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) },
      ];
      const answer = await client.infer({ model: 'm', inputs });
      assert.deepEqual(
        answer.outputs.map((o) => Buffer.from(o.data as Uint8Array).toString('hex')),
        inputs.map(digest),
      );
    });
  } finally {
    await server.close();
  }
});

test('a retried call sends the same bytes again', async () => {
  const server = await startDigestServer(2);
  try {
    await withClient(server.address, async (client) => {
      const input = batch(2, 7);
      const answer = await client.infer({ model: 'm', inputs: [input] });
      assert.equal(server.calls, 3);
      assert.equal(Buffer.from(answer.outputs[0]?.data as Uint8Array).toString('hex'), digest(input));
      // The next call reuses the buffer the retried one used.
      const next = batch(2, 8);
      const second = await client.infer({ model: 'm', inputs: [next] });
      assert.equal(Buffer.from(second.outputs[0]?.data as Uint8Array).toString('hex'), digest(next));
    });
  } finally {
    await server.close();
  }
});
