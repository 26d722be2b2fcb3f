/**
 * Both KServe v2 clients (HTTP with binary tensors, gRPC with raw contents) against the real
 * inference server of `scripts/services/services.sh up` (MLServer serving models/demo): health and
 * metadata, the metadata check against the manifest, 8 demo images giving the in-process onnx
 * backend's outputs within 1e-4 (FP32 and UINT8 inputs; FP16 within half-precision rounding),
 * requests in flight at once, a bad shape becoming a data error, an unreachable server a retriable
 * error after the retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import type { BatchTensor } from '../../src/core/envelope.js';
import type { CentaurError } from '../../src/core/errors.js';
import { renderImage } from '../../src/demo/generate-images.js';
import type { DemoClass } from '../../src/demo/generate-images.js';
import type { InferenceOutput } from '../../src/inference/backend.js';
import { assertModelMetadata, createKserveClient } from '../../src/inference/kserve/index.js';
import type { InferInput, InferResponse, KserveClient, KserveConnection } from '../../src/inference/kserve/index.js';
import { loadManifest } from '../../src/inference/manifest.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';
import { createOnnxBackend } from '../../src/inference/onnx-backend.js';
import { packBatch } from '../../src/tensors/pack-batch.js';
import { KSERVE_GRPC, KSERVE_MODEL, KSERVE_URL, requireKserve } from '../helpers/kserve.js';

const N = 8;
const SIZE = 224;
const PER_IMAGE = SIZE * SIZE * 3;
const TOLERANCE = 1e-4;

interface Fixture {
  readonly model: LoadedManifest;
  /** The 8 images decoded and resized as decode-image does: HWC uint8, concatenated. */
  readonly pixels: Uint8Array;
  /** The same batch scaled as micro-batch packs it for the model: NHWC float32 /255. */
  readonly floats: Float32Array;
  /** The in-process onnx backend's outputs for `floats`. */
  readonly expected: InferenceOutput;
}

let fixture: Promise<Fixture> | undefined;

/** Renders, decodes and packs 8 demo images, and runs them through the onnx backend once. */
function demoBatch(): Promise<Fixture> {
  fixture ??= (async () => {
    const model = await loadManifest(path.resolve('models/demo'));
    const { input } = model.manifest;
    const labels: DemoClass[] = ['horse', 'human'];
    const decoded = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const jpeg = await renderImage(labels[i % 2] as DemoClass, 4_000_000 + i);
        const { data } = await sharp(jpeg, { failOn: 'truncated', autoOrient: true })
          .toColourspace('srgb')
          .removeAlpha()
          .resize(input.width, input.height, { fit: input.fit, kernel: input.kernel })
          .raw({ depth: 'uchar' })
          .toBuffer({ resolveWithObject: true });
        return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
      }),
    );
    const pixels = new Uint8Array(N * PER_IMAGE);
    decoded.forEach((image, i) => pixels.set(image.data, i * PER_IMAGE));
    const floats = new Float32Array(N * PER_IMAGE);
    const shape = packBatch(decoded, floats, 'NHWC', 'float32');
    const backend = await createOnnxBackend(model, { kind: 'onnx' });
    try {
      const batch: BatchTensor = { data: floats, shape, layout: 'NHWC', release: () => {} };
      return { model, pixels, floats, expected: await backend.run(batch) };
    } finally {
      await backend.close();
    }
  })();
  return fixture;
}

const CONNECTIONS: readonly KserveConnection[] = [
  { protocol: 'http', url: KSERVE_URL },
  { protocol: 'grpc', address: KSERVE_GRPC },
  // ModelInfer through grpc-js, as `backend.grpcInfer: grpc-js` has it, instead of the client's own HTTP/2 caller.
  { protocol: 'grpc', address: KSERVE_GRPC, inferVia: 'grpc-js' },
];

function output(response: InferResponse, name: string): Float32Array {
  const found = response.outputs.find((o) => o.name === name);
  assert.ok(found, `the response has no output ${name}`);
  assert.ok(found.data instanceof Float32Array, `${name} is a ${found.data.constructor.name}`);
  return found.data;
}

/** Largest absolute difference between two arrays of the same length. */
function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function assertMatchesOnnx(response: InferResponse, expected: InferenceOutput, tolerance: number, label: string): void {
  const probabilities = output(response, 'probabilities');
  const embedding = output(response, 'embedding');
  assert.deepEqual(response.outputs.find((o) => o.name === 'probabilities')?.shape, [N, 2]);
  assert.deepEqual(response.outputs.find((o) => o.name === 'embedding')?.shape, [N, 1280]);
  const p = maxDifference(probabilities, expected.probabilities);
  const e = maxDifference(embedding, expected.embedding as Float32Array);
  assert.ok(p <= tolerance, `${label}: probabilities differ from onnx by up to ${p}`);
  assert.ok(e <= tolerance, `${label}: embeddings differ from onnx by up to ${e}`);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function withClient(connection: KserveConnection, body: (client: KserveClient) => Promise<void>): Promise<void> {
  const client = await createKserveClient(connection);
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

for (const connection of CONNECTIONS) {
  const label = connection.protocol === 'grpc' && connection.inferVia === 'grpc-js' ? 'grpc (infer via grpc-js)' : connection.protocol;

  test(`${label}: health, server and model metadata, and the metadata check against the manifest`, async (t) => {
    if (!(await requireKserve(t))) return;
    const { model } = await demoBatch();
    await withClient(connection, async (client) => {
      assert.equal(await client.live(), true);
      assert.equal(await client.ready(), true);
      assert.equal(await client.modelReady(KSERVE_MODEL), true);
      assert.equal(await client.modelReady(KSERVE_MODEL, '1'), true);
      assert.equal(await client.modelReady('no-such-model'), false);
      const server = await client.serverMetadata();
      assert.equal(server.name, 'centaur-kserve');
      assert.ok(server.extensions.includes('binary_tensor_data'));
      const metadata = await client.modelMetadata(KSERVE_MODEL);
      assert.equal(metadata.name, KSERVE_MODEL);
      assert.deepEqual(metadata.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 224, 224, 3] }]);
      const checked = assertModelMetadata(model.manifest, metadata, { server: client.address, manifestFile: model.modelPath });
      assert.equal(checked.inputDatatype, 'FP32');
      // Only the JSON metadata (HTTP) has room for the server's batch limit.
      assert.equal(checked.maxBatchSize, label === 'http' ? 64 : undefined);

      // The same served model against a manifest that wants 112×112 images: a config error naming both sides.
      const small = { ...model.manifest, input: { ...model.manifest.input, width: 112, height: 112 } };
      assert.throws(
        () => assertModelMetadata(small, metadata, { server: client.address, manifestFile: 'manifest.json' }),
        (error: CentaurError) =>
          error.code === 'MODEL_METADATA_MISMATCH' &&
          error.category === 'config' &&
          error.message.includes('the server says shape [-1, 224, 224, 3], the manifest says [-1, 112, 112, 3]'),
      );
    });
  });

  test(`${label}: 8 demo images give the onnx backend's outputs within 1e-4 (FP32, UINT8; FP16 within its rounding)`, async (t) => {
    if (!(await requireKserve(t))) return;
    const { floats, pixels, expected } = await demoBatch();
    await withClient(connection, async (client) => {
      const shape = [N, SIZE, SIZE, 3];
      const fp32 = await client.infer({ model: KSERVE_MODEL, id: `fp32-${label}`, inputs: [{ name: 'input', datatype: 'FP32', shape, data: floats }] });
      assertMatchesOnnx(fp32, expected, TOLERANCE, `${label} FP32`);
      // The argmax agrees too: the served model classifies like the in-process one.
      const served = output(fp32, 'probabilities');
      for (let i = 0; i < N; i += 1) {
        const mine = (expected.probabilities[2 * i] as number) > (expected.probabilities[2 * i + 1] as number);
        assert.equal((served[2 * i] as number) > (served[2 * i + 1] as number), mine);
      }
      if (label === 'http') assert.equal(typeof fp32.parameters.compute_ms, 'number');

      // Raw pixels: the server's runtime divides by 255, as the manifest's `unit` scale does.
      const uint8 = await client.infer({ model: KSERVE_MODEL, version: '1', inputs: [{ name: 'input', datatype: 'UINT8', shape, data: pixels }], outputs: ['probabilities', 'embedding'] });
      assertMatchesOnnx(uint8, expected, TOLERANCE, `${label} UINT8`);

      // Half precision carries about 3 significant digits of each pixel.
      const fp16 = await client.infer({ model: KSERVE_MODEL, inputs: [{ name: 'input', datatype: 'FP16', shape, data: floats }] });
      assertMatchesOnnx(fp16, expected, 1e-2, `${label} FP16`);
    });
  });

  test(`${label}: several requests in flight at once, each with its own answer`, async (t) => {
    if (!(await requireKserve(t))) return;
    const { floats, expected } = await demoBatch();
    await withClient(connection, async (client) => {
      // Four requests of two images each, sent together.
      const responses = await Promise.all(
        [0, 1, 2, 3].map((k) => {
          const input: InferInput = { name: 'input', datatype: 'FP32', shape: [2, SIZE, SIZE, 3], data: floats.subarray(2 * k * PER_IMAGE, (2 * k + 2) * PER_IMAGE) };
          return client.infer({ model: KSERVE_MODEL, inputs: [input], outputs: ['probabilities'] });
        }),
      );
      responses.forEach((response, k) => {
        assert.deepEqual(response.outputs.map((o) => o.name), ['probabilities']);
        const want = expected.probabilities.subarray(4 * k, 4 * k + 4);
        assert.ok(maxDifference(output(response, 'probabilities'), want) <= TOLERANCE, `request ${k}`);
      });
    });
  });

  test(`${label}: a request of the wrong shape is a data error (dead letter), not retried`, async (t) => {
    if (!(await requireKserve(t))) return;
    const { floats } = await demoBatch();
    let retries = 0;
    await withClient({ ...connection, onRetry: () => (retries += 1) }, async (client) => {
      const shape = [2, 112, 224, 3];
      await assert.rejects(
        client.infer({ model: KSERVE_MODEL, inputs: [{ name: 'input', datatype: 'FP32', shape, data: floats.subarray(0, 2 * 112 * 224 * 3) }] }),
        (error: CentaurError) => {
          assert.equal(error.code, 'INFERENCE_REQUEST_INVALID', error.message);
          assert.equal(error.category, 'data');
          assert.equal(error.retriable, false);
          assert.match(error.message, /input `input` has shape \[2, 112, 224, 3\]; the model takes \[-1, 224, 224, 3\]/);
          return true;
        },
      );
      // A wrong input name too.
      await assert.rejects(
        client.infer({ model: KSERVE_MODEL, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, SIZE, SIZE, 3], data: floats.subarray(0, PER_IMAGE) }] }),
        (error: CentaurError) => error.code === 'INFERENCE_REQUEST_INVALID' && /no input `pixels`/.test(error.message),
      );
      // The server is fine afterwards.
      assert.equal(await client.modelReady(KSERVE_MODEL), true);
    });
    assert.equal(retries, 0);
  });

  test(`${label}: an unreachable server (wrong port) is a retriable error after the retries`, async (t) => {
    if (!(await requireKserve(t))) return;
    const port = await closedPort();
    const unreachable: KserveConnection =
      connection.protocol === 'http' ? { protocol: 'http', url: `http://127.0.0.1:${port}` } : { ...connection, address: `127.0.0.1:${port}` };
    const retries: number[] = [];
    await withClient(
      { ...unreachable, timeoutMs: 2000, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, onRetry: (_e, attempt) => retries.push(attempt) },
      async (client) => {
        assert.equal(await client.live(), false);
        assert.equal(await client.modelReady(KSERVE_MODEL), false);
        await assert.rejects(
          client.infer({ model: KSERVE_MODEL, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, SIZE, SIZE, 3], data: new Float32Array(PER_IMAGE) }] }),
          (error: CentaurError) => {
            assert.equal(error.code, 'INFERENCE_SERVER_UNAVAILABLE', error.message);
            assert.equal(error.category, 'infrastructure');
            assert.equal(error.retriable, true);
            assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*gave up after 3 attempts`));
            return true;
          },
        );
      },
    );
    assert.deepEqual(retries, [1, 2]);
  });
}

test('http: the JSON form (no binary extension) gives the same outputs', async (t) => {
  if (!(await requireKserve(t))) return;
  const { floats, expected } = await demoBatch();
  await withClient({ protocol: 'http', url: KSERVE_URL, binaryData: false }, async (client) => {
    const response = await client.infer({ model: KSERVE_MODEL, inputs: [{ name: 'input', datatype: 'FP32', shape: [N, SIZE, SIZE, 3], data: floats }] });
    assertMatchesOnnx(response, expected, TOLERANCE, 'http JSON');
  });
});
