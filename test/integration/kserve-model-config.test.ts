/**
 * Triton's model configuration against real implementations:
 *
 * - MLServer (the kserve service of `scripts/services/services.sh up`) does not offer it: both
 *   clients' `modelConfig` answers null, and the `kserve` backend starts on the metadata alone and
 *   classifies demo images.
 * - A real NVIDIA Triton (the triton service: PyTriton's Python backend, dynamic batcher) offers it
 *   over both protocols: the backend reads max_batch_size 64 and splits a batch of 100 into runs the
 *   server accepts, with the onnx backend's outputs.
 * - Triton's own protobuf classes (`tritonclient`, installed with that service's MLServer) encode a
 *   `ModelConfigResponse` from the config.pbtxt `centaur models export-triton` writes; the gRPC
 *   client's .proto decodes it to what the export wrote (max_batch_size, datatypes, dims, dynamic
 *   batching, instances), and Triton's classes decode the client's `ModelConfigRequest`: the field
 *   numbers and enum values agree. Without that Python environment this part is skipped (and fails
 *   under CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { renderImage } from '../../src/demo/generate-images.js';
import { createKserveBackend } from '../../src/inference/kserve-backend.js';
import { createKserveClient } from '../../src/inference/kserve/index.js';
import type { KserveConnection } from '../../src/inference/kserve/index.js';
import { checkModelConfig, parseModelConfig } from '../../src/inference/kserve/model-config.js';
import { loadKserveMethods } from '../../src/inference/kserve/proto.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { createOnnxBackend } from '../../src/inference/onnx-backend.js';
import { exportTritonRepository } from '../../src/inference/triton-repository.js';
import { packBatch } from '../../src/tensors/pack-batch.js';
import type { ImageTensor } from '../../src/core/envelope.js';
import { KSERVE_GRPC, KSERVE_MODEL, KSERVE_URL, requireKserve, requireTriton, TRITON_GRPC, TRITON_URL } from '../helpers/kserve.js';
import sharp from 'sharp';

const run = promisify(execFile);
const PYTHON = path.join(process.env.CENTAUR_SERVICES_HOME ?? path.join(homedir(), '.cache', 'centaur-services'), 'kserve', 'venv', 'bin', 'python');

const CONNECTIONS: readonly KserveConnection[] = [
  { protocol: 'http', url: KSERVE_URL },
  { protocol: 'grpc', address: KSERVE_GRPC },
];

for (const connection of CONNECTIONS) {
  const label = connection.protocol;

  test(`${label}: MLServer offers no model configuration; the backend starts on the metadata and classifies like onnx`, async (t) => {
    if (!(await requireKserve(t))) return;
    const client = await createKserveClient(connection);
    try {
      assert.equal(await client.modelConfig?.(KSERVE_MODEL), null);
      assert.equal(await client.modelConfig?.(KSERVE_MODEL, '1'), null);
    } finally {
      await client.close();
    }

    const model = await loadManifest(path.resolve('models/demo'));
    const { input } = model.manifest;
    const images = await demoImages(5_000_000);
    const floats = new Float32Array(2 * input.width * input.height * 3);
    const shape = packBatch(images, floats, 'NHWC', 'float32');
    const batch = { data: floats, shape, layout: 'NHWC' as const, release: () => {} };

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const endpoint = connection.protocol === 'http' ? connection.url : connection.address;
    const backend = await createKserveBackend(model, { kind: 'kserve', protocol: connection.protocol, endpoint, model: KSERVE_MODEL }, { logger });
    const onnx = await createOnnxBackend(model, { kind: 'onnx' });
    try {
      const served = await backend.run(batch);
      const local = await onnx.run(batch);
      assert.equal(served.probabilities.length, 4);
      for (let i = 0; i < 4; i += 1) assert.ok(Math.abs((served.probabilities[i] as number) - (local.probabilities[i] as number)) <= 1e-4);
      const ready = lines.find((l) => l.msg === 'Inference server ready; its model matches the manifest.');
      assert.equal(ready?.modelConfig, 'not offered');
    } finally {
      await backend.close();
      await onnx.close();
    }
  });
}

/** Two demo images (a horse, a human) resized to the model input, as uint8 images for packBatch. */
async function demoImages(seed = 5_100_000): Promise<ImageTensor[]> {
  const { input } = (await loadManifest(path.resolve('models/demo'))).manifest;
  return Promise.all(
    (['horse', 'human'] as const).map(async (label, i) => {
      const { data } = await sharp(await renderImage(label, seed + i))
        .removeAlpha()
        .resize(input.width, input.height, { fit: input.fit, kernel: input.kernel })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
    }),
  );
}

for (const connection of [{ protocol: 'http', url: TRITON_URL }, { protocol: 'grpc', address: TRITON_GRPC }] satisfies KserveConnection[]) {
  test(`Triton ${connection.protocol}: the model configuration gives max_batch_size 64; a batch of 100 is split into runs Triton accepts, with the onnx backend's outputs`, async (t) => {
    if (!(await requireTriton(t))) return;
    const client = await createKserveClient(connection);
    try {
      const config = await client.modelConfig?.(KSERVE_MODEL);
      assert.equal(config?.maxBatchSize, 64);
      assert.equal(config?.backend, 'python');
      assert.ok(config?.dynamicBatching !== undefined, 'the dynamic batcher is on');
    } finally {
      await client.close();
    }
    const model = await loadManifest(path.resolve('models/demo'));
    const two = await demoImages();
    const images = Array.from({ length: 100 }, (_, i) => two[i % 2]!);
    const { input } = model.manifest;
    const floats = new Float32Array(100 * input.width * input.height * 3);
    const batch = { data: floats, shape: packBatch(images, floats, 'NHWC', 'float32'), layout: 'NHWC' as const, release: () => {} };
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const endpoint = connection.protocol === 'http' ? connection.url : connection.address;
    const backend = await createKserveBackend(model, { kind: 'kserve', protocol: connection.protocol, endpoint, model: KSERVE_MODEL }, { logger });
    const onnx = await createOnnxBackend(model, { kind: 'onnx' });
    try {
      const ready = lines.find((l) => l.msg === 'Inference server ready; its model matches the manifest.');
      assert.deepEqual(ready?.modelConfig, { platform: 'python', maxBatchSize: 64 });
      // Triton refuses a request of more than 64 rows: all 100 answered means the client split them.
      const served = await backend.run(batch);
      const local = await onnx.run(batch);
      assert.equal(served.probabilities.length, 200);
      assert.equal(served.embedding?.length, 100 * 1280);
      let gap = 0;
      for (let i = 0; i < 200; i += 1) gap = Math.max(gap, Math.abs((served.probabilities[i] as number) - (local.probabilities[i] as number)));
      assert.ok(gap <= 1e-4, `probabilities within 1e-4 (${gap})`);
    } finally {
      await backend.close();
      await onnx.close();
    }
  });
}

const WIRE = `
import base64, json, sys
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2, service_pb2
config = text_format.Parse(open(sys.argv[1]).read(), model_config_pb2.ModelConfig())
# What Triton completes on a one-GPU machine: the instance group's kind and GPUs.
config.instance_group[0].kind = model_config_pb2.ModelInstanceGroup.KIND_GPU
config.instance_group[0].gpus.append(0)
request = service_pb2.ModelConfigRequest()
request.ParseFromString(base64.b64decode(sys.argv[2]))
response = service_pb2.ModelConfigResponse(config=config)
print(json.dumps({"response": base64.b64encode(response.SerializeToString()).decode(), "request": [request.name, request.version]}))
`;

test("Triton's own protobuf classes and the client's .proto agree on ModelConfig, field for field", async (t) => {
  try {
    await access(PYTHON);
  } catch {
    if (process.env.CI === 'true') throw new Error(`${PYTHON} is missing; CI must run scripts/services/services.sh up`);
    t.skip(`${PYTHON} is missing; run scripts/services/services.sh up kserve`);
    return;
  }
  const out = await mkdtemp(path.join(tmpdir(), 'centaur-model-config-wire-'));
  try {
    const exported = await exportTritonRepository(path.resolve('models/demo'), out, { maxBatchSize: 48, preferredBatchSizes: [12, 24], maxQueueDelayMicroseconds: 250, instances: 2 });
    const methods = await loadKserveMethods();
    const request = methods.ModelConfig.requestSerialize({ name: 'horse-or-human', version: '1' });
    const { stdout } = await run(PYTHON, ['-c', WIRE, exported.configPath, request.toString('base64')]);
    const answer = JSON.parse(stdout) as { response: string; request: [string, string] };
    assert.deepEqual(answer.request, ['horse-or-human', '1']);

    const decoded = methods.ModelConfig.responseDeserialize(Buffer.from(answer.response, 'base64'));
    const config = parseModelConfig('wire', decoded.config);
    const { input, outputs } = exported.config;
    assert.deepEqual(config, {
      name: 'horse-or-human',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      maxBatchSize: 48,
      inputs: [{ name: input.name, datatype: 'FP32', dims: [...input.dims], format: 'NHWC' }],
      outputs: outputs.map((o) => ({ name: o.name, datatype: 'FP32', dims: [...o.dims] })),
      dynamicBatching: { preferredBatchSizes: [12, 24], maxQueueDelayMicroseconds: 250 },
      instanceGroups: [{ name: '', kind: 'KIND_GPU', count: 2, gpus: [0] }],
    });
    const model = await loadManifest(path.resolve('models/demo'));
    assert.deepEqual(checkModelConfig(model.manifest, config), { problems: [], maxRows: 48, batchOfOne: false });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
