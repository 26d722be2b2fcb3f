/**
 * Triton's model configuration: both clients read it (gRPC `ModelConfig`, HTTP `GET …/config`)
 * from in-process servers into the same typed shape, or null where the server does not offer it;
 * the `kserve` backend takes `max_batch_size` as the most images per request, refuses a
 * configuration that differs from the manifest at start, and starts on the metadata alone without
 * one. The configuration Triton would report for the repository `centaur models export-triton`
 * writes (a fixture written from the config.pbtxt fields) is read as the export wrote it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { BatchTensor } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import type { KserveBackendOptions } from '../../src/inference/backend.js';
import { connectionFor, startKserveBackend } from '../../src/inference/kserve-backend.js';
import { createKserveClient } from '../../src/inference/kserve/index.js';
import type { KserveClient, ModelConfig } from '../../src/inference/kserve/index.js';
import { checkModelConfig, parseModelConfig } from '../../src/inference/kserve/model-config.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { exportTritonRepository } from '../../src/inference/triton-repository.js';
import { startFakeGrpcServer, startFakeHttpServer, tinyManifest } from './fake-triton.js';
import type { FakeModel, FakeServer } from './fake-triton.js';

const demo = await loadManifest(path.resolve('models/demo'));
const tiny = await tinyManifest();
const PER_IMAGE = 4 * 4 * 3;
const EMBEDDING = 3;

/** Triton's JSON for the tiny model with `max_batch_size` 4, as its HTTP endpoint writes it (every field, enums by name). */
function tritonConfig(edit: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'horse-or-human',
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: 4,
    input: [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NHWC', dims: [4, 4, 3], is_shape_tensor: false, optional: false }],
    output: [
      { name: 'probabilities', data_type: 'TYPE_FP32', dims: [2], label_filename: 'labels.txt', is_shape_tensor: false },
      { name: 'embedding', data_type: 'TYPE_FP32', dims: [EMBEDDING], label_filename: '', is_shape_tensor: false },
    ],
    dynamic_batching: { preferred_batch_size: [2, 4], max_queue_delay_microseconds: 100, preserve_ordering: false, priority_levels: 0 },
    instance_group: [{ name: 'horse-or-human_0', kind: 'KIND_GPU', count: 2, gpus: [0, 1], profile: [], passive: false, host_policy: '' }],
    default_model_filename: 'model.onnx',
    ...edit,
  };
}

/** The typed form of `tritonConfig()`. */
const EXPECTED: ModelConfig = {
  name: 'horse-or-human',
  platform: 'onnxruntime_onnx',
  backend: 'onnxruntime',
  maxBatchSize: 4,
  inputs: [{ name: 'input', datatype: 'FP32', dims: [4, 4, 3], format: 'NHWC' }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', dims: [2] },
    { name: 'embedding', datatype: 'FP32', dims: [EMBEDDING] },
  ],
  dynamicBatching: { preferredBatchSizes: [2, 4], maxQueueDelayMicroseconds: 100 },
  instanceGroups: [{ name: 'horse-or-human_0', kind: 'KIND_GPU', count: 2, gpus: [0, 1] }],
};

/** The model metadata a server derives from a configuration of `maxBatchSize` (-1 prepended when it batches). */
function model(config: Record<string, unknown> | null, inputShape = [-1, 4, 4, 3], datatype = 'FP32'): FakeModel {
  return {
    name: 'horse-or-human',
    metadata: {
      name: 'horse-or-human',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype, shape: inputShape }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [inputShape[0], 2] },
        { name: 'embedding', datatype: 'FP32', shape: [inputShape[0], EMBEDDING] },
      ],
    },
    config,
    embedding: EMBEDDING,
  };
}

const PROTOCOLS = [
  { protocol: 'grpc', start: startFakeGrpcServer },
  { protocol: 'http', start: startFakeHttpServer },
] as const;

/** Backend options for a fake server of `protocol`. */
function optionsFor(protocol: 'grpc' | 'http', server: FakeServer): KserveBackendOptions {
  return { kind: 'kserve', protocol, endpoint: server.address, retries: 0, timeoutMs: 10_000 };
}

async function clientFor(protocol: 'grpc' | 'http', server: FakeServer): Promise<KserveClient> {
  return createKserveClient(connectionFor(optionsFor(protocol, server)));
}

/** A batch of `n` tiny images, image i filled with i + 1, in a pooled buffer with room for 16. */
function batchOf(n: number): BatchTensor {
  const data = new Float32Array(16 * PER_IMAGE);
  for (let i = 0; i < n; i += 1) data.fill(i + 1, i * PER_IMAGE, (i + 1) * PER_IMAGE);
  return { data, shape: [n, 4, 4, 3], layout: 'NHWC', release: () => {} };
}

/** A logger that keeps its lines, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function withServer(server: FakeServer, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await server.close();
  }
}

for (const { protocol, start } of PROTOCOLS) {
  test(`${protocol}: modelConfig reads Triton's configuration into the typed subset`, async () => {
    const server = await start(model(tritonConfig()));
    await withServer(server, async () => {
      const client = await clientFor(protocol, server);
      try {
        assert.deepEqual(await client.modelConfig?.('horse-or-human'), EXPECTED);
        assert.deepEqual(await client.modelConfig?.('horse-or-human', '1'), EXPECTED);
      } finally {
        await client.close();
      }
    });
  });

  test(`${protocol}: the configuration's max_batch_size cuts a batch of 10 into requests of 4, 4 and 2, with one warning`, async () => {
    const server = await start(model(tritonConfig()));
    await withServer(server, async () => {
      const { logger, lines } = recordingLogger();
      const backend = await startKserveBackend(tiny, optionsFor(protocol, server), await clientFor(protocol, server), { nodeId: 'infer', logger });
      try {
        const out = await backend.run(batchOf(10));
        assert.deepEqual(server.shapes, [
          [4, 4, 4, 3],
          [4, 4, 4, 3],
          [2, 4, 4, 3],
        ]);
        // Joined in order: row i's first probability is image i's pixel value, i + 1.
        assert.deepEqual(
          Array.from(out.probabilities).filter((_, i) => i % 2 === 0),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        );
        assert.equal(out.embeddingSize, EMBEDDING);
        await backend.run(batchOf(3));
        await backend.run(batchOf(9));
        assert.deepEqual(server.shapes.slice(3).map((s) => s[0]), [3, 4, 4, 1]);

        const ready = lines.find((l) => l.msg === 'Inference server ready; its model matches the manifest.');
        assert.ok(ready, JSON.stringify(lines));
        assert.equal(ready.maxBatchSize, 4);
        assert.deepEqual(ready.dynamicBatching, { preferredBatchSizes: [2, 4], maxQueueDelayMicroseconds: 100 });
        assert.deepEqual(ready.instanceGroups, ['2 × KIND_GPU (GPUs 0, 1)']);
        const warnings = lines.filter((l) => l.level === 40);
        assert.equal(warnings.length, 1, 'one warning, however many batches are split');
        assert.match(String(warnings[0]?.msg), /Batches of 10 images are larger than the server's max_batch_size 4, so each goes out as 3 requests; set the micro-batch `maxSize`/);
        assert.equal(warnings[0]?.from, 'model configuration');
      } finally {
        await backend.close();
      }
    });
  });

  test(`${protocol}: without a configuration (MLServer) modelConfig is null and the backend starts on the metadata alone`, async () => {
    const server = await start(model(null));
    await withServer(server, async () => {
      const client = await clientFor(protocol, server);
      assert.equal(await client.modelConfig?.('horse-or-human'), null);
      const { logger, lines } = recordingLogger();
      const backend = await startKserveBackend(tiny, optionsFor(protocol, server), client, { logger });
      try {
        await backend.run(batchOf(10));
        assert.deepEqual(server.shapes, [[10, 4, 4, 3]], 'no limit: the whole batch in one request');
        const ready = lines.find((l) => l.msg === 'Inference server ready; its model matches the manifest.');
        assert.equal(ready?.modelConfig, 'not offered');
        assert.equal(ready?.maxBatchSize, undefined);
        assert.equal(lines.filter((l) => l.level === 40).length, 0);
      } finally {
        await backend.close();
      }
    });
  });

  test(`${protocol}: a configuration whose datatypes and dims differ from the manifest stops the start, naming both sides`, async () => {
    const config = tritonConfig({
      input: [{ name: 'input', data_type: 'TYPE_UINT8', format: 'FORMAT_NHWC', dims: [4, 4, 3] }],
      output: [
        { name: 'probabilities', data_type: 'TYPE_INT64', dims: [3] },
        { name: 'embedding', data_type: 'TYPE_FP32', dims: [EMBEDDING] },
      ],
    });
    const server = await start(model(config, [-1, 4, 4, 3], 'UINT8'));
    await withServer(server, async () => {
      await assert.rejects(startKserveBackend(tiny, optionsFor(protocol, server), await clientFor(protocol, server), { nodeId: 'infer' }), (error: CentaurError) => {
        assert.ok(error instanceof CentaurError);
        assert.equal(error.code, 'MODEL_METADATA_MISMATCH', error.message);
        assert.equal(error.category, 'config');
        assert.match(
          error.message,
          /^node `infer`: the configuration of model `horse-or-human` on (http:\/\/)?127\.0\.0\.1:\d+ \((grpc|http)\) \(max_batch_size 4\) does not match the manifest .*models\/demo\/manifest\.json:\n/,
        );
        assert.match(error.message, /input `input`: the configuration says data_type TYPE_UINT8, the manifest says float32 \(TYPE_FP32 or TYPE_FP16\)/);
        assert.match(error.message, /probabilities output `probabilities`: the configuration says data_type TYPE_INT64, Centaur reads TYPE_FP32/);
        assert.match(error.message, /probabilities output `probabilities`: the configuration says dims \[3\] \(after the batch dimension\), the manifest needs \[2\] \(2 classes in the manifest\)/);
        return true;
      });
      assert.equal(server.shapes.length, 0, 'nothing was sent');
    });
  });
}

test('max_batch_size 0 (the model does not batch): dims are the whole shape; -1 first takes any batch, 1 first one image per request', () => {
  const nonBatching = (dims: number[], outFirst = dims[0] as number): ModelConfig => ({
    ...EXPECTED,
    maxBatchSize: 0,
    inputs: [{ name: 'input', datatype: 'FP32', dims }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', dims: [outFirst, 2] },
      { name: 'embedding', datatype: 'FP32', dims: [outFirst, EMBEDDING] },
    ],
  });
  assert.deepEqual(checkModelConfig(tiny.manifest, nonBatching([-1, 4, 4, 3])), { problems: [], maxRows: undefined, batchOfOne: false });
  assert.deepEqual(checkModelConfig(tiny.manifest, nonBatching([1, 4, 4, 3])), { problems: [], maxRows: 1, batchOfOne: true });
  assert.deepEqual(checkModelConfig(tiny.manifest, nonBatching([1, 4, 4, 3], -1)).problems, []);

  const single = checkModelConfig(tiny.manifest, { ...nonBatching([4, 4, 3]), outputs: [{ name: 'probabilities', datatype: 'FP32', dims: [2] }, { name: 'embedding', datatype: 'FP32', dims: [3] }] });
  assert.equal(single.problems.length, 1, single.problems.join('\n'));
  assert.match(single.problems[0] as string, /max_batch_size is 0 and dims are \[4, 4, 3\], so the model takes one image per request with no batch dimension.*set max_batch_size to 1 or more/);

  const fixed = checkModelConfig(tiny.manifest, nonBatching([8, 4, 4, 3]));
  assert.match(fixed.problems.join('\n'), /dims \[8, 4, 4, 3\] fix the batch at 8; Centaur's batches vary in size/);
  const wrongOutput = checkModelConfig(tiny.manifest, nonBatching([1, 4, 4, 3], 4));
  assert.match(wrongOutput.problems.join('\n'), /output `probabilities`: .*the batch dimension is 4, the input's is 1/);

  // A layout that disagrees with the manifest, and an extra input.
  const nchw = checkModelConfig(tiny.manifest, {
    ...EXPECTED,
    inputs: [
      { name: 'input', datatype: 'FP32', dims: [3, 4, 4], format: 'NCHW' },
      { name: 'mask', datatype: 'BOOL', dims: [4, 4] },
    ],
  });
  assert.match(nchw.problems.join('\n'), /the configuration says format FORMAT_NCHW, the manifest says layout NHWC/);
  assert.match(nchw.problems.join('\n'), /dims \[3, 4, 4\] \(after the batch dimension\), the manifest says NHWC \[4, 4, 3\]: dimension 0 is 3, not 4/);
  assert.match(nchw.problems.join('\n'), /more inputs than the manifest's `input`: `mask` TYPE_BOOL \[4, 4\]/);
});

for (const { protocol, start } of PROTOCOLS) {
  test(`${protocol}: a model configured as batch-of-one (max_batch_size 0, dims [1, …]) gets one image per request`, async () => {
    const config = tritonConfig({
      max_batch_size: 0,
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [1, 4, 4, 3] }],
      output: [
        { name: 'probabilities', data_type: 'TYPE_FP32', dims: [1, 2] },
        { name: 'embedding', data_type: 'TYPE_FP32', dims: [1, EMBEDDING] },
      ],
    });
    const server = await start(model(config, [1, 4, 4, 3]));
    await withServer(server, async () => {
      const backend = await startKserveBackend(tiny, optionsFor(protocol, server), await clientFor(protocol, server));
      try {
        const out = await backend.run(batchOf(3));
        assert.deepEqual(server.shapes.map((s) => s[0]), [1, 1, 1]);
        assert.deepEqual(Array.from(out.probabilities).filter((_, i) => i % 2 === 0), [1, 2, 3]);
      } finally {
        await backend.close();
      }
    });
  });
}

test('the configuration reads the same from every form: 64-bit integers as strings, enums as numbers; a malformed one is refused', () => {
  const protobufJson = tritonConfig({
    input: [{ name: 'input', data_type: 11, format: 1, dims: ['4', '4', '3'] }],
    output: [
      { name: 'probabilities', data_type: 'TYPE_FP32', dims: ['2'] },
      { name: 'embedding', data_type: 11, dims: [String(EMBEDDING)] },
    ],
    dynamic_batching: { preferred_batch_size: [2, 4], max_queue_delay_microseconds: '100' },
    instance_group: [{ name: 'horse-or-human_0', kind: 1, count: 2, gpus: [0, 1] }],
  });
  assert.deepEqual(parseModelConfig('test', protobufJson), EXPECTED);
  // No dynamic batching (null from gRPC, absent from JSON), TYPE_STRING as the protocol's BYTES.
  const plain = parseModelConfig('test', tritonConfig({ dynamic_batching: null, input: [{ name: 'text', data_type: 'TYPE_STRING', dims: [1] }] }));
  assert.equal(plain.dynamicBatching, undefined);
  assert.deepEqual(plain.inputs, [{ name: 'text', datatype: 'BYTES', dims: [1] }]);

  for (const [bad, pattern] of [
    [{ max_batch_size: 4 }, /without a name/],
    [tritonConfig({ max_batch_size: -1 }), /max_batch_size is -1/],
    [tritonConfig({ input: [{ name: 'input', dims: [4, 'x'] }] }), /input `input` has dims \[4,"x"\]/],
    [tritonConfig({ output: {} }), /`output` is not a list/],
  ] as const) {
    assert.throws(
      () => parseModelConfig('KServe server x: configuration of model m', bad),
      (error: CentaurError) => error.code === 'INFERENCE_FAILED' && !error.retriable && pattern.test(error.message) && error.message.startsWith('KServe server x: configuration of model m: malformed model configuration: '),
    );
  }
});

test('http: a 404 about an unknown model is an error, not a missing configuration', async () => {
  const server = await startFakeHttpServer(model(tritonConfig()));
  await withServer(server, async () => {
    const client = await createKserveClient({ protocol: 'http', url: server.address, retry: { attempts: 1 } });
    try {
      await assert.rejects(client.modelConfig?.('nope') ?? Promise.resolve(), (error: CentaurError) => {
        assert.equal(error.code, 'INFERENCE_SERVER_UNAVAILABLE');
        assert.match(error.message, /configuration of model nope: HTTP 404: Request for unknown model/);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});

test("the configuration Triton reports for export-triton's repository reads as the export wrote it, and fits the manifest", async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'centaur-model-config-'));
  try {
    const exported = await exportTritonRepository(path.resolve('models/demo'), out);
    const text = await readFile(exported.configPath, 'utf8');
    // The fixture is Triton's JSON for this config.pbtxt on a one-GPU machine (KIND_AUTO completed to KIND_GPU).
    const fixture: unknown = JSON.parse(await readFile(path.resolve('test/inference/fixtures/triton-config-horse-or-human.json'), 'utf8'));
    const read = parseModelConfig('fixture', fixture);

    assert.equal(read.name, exported.config.name);
    assert.equal(read.maxBatchSize, exported.config.maxBatchSize);
    assert.match(text, new RegExp(`^max_batch_size: ${read.maxBatchSize}$`, 'm'));
    const input = exported.config.input;
    assert.deepEqual(read.inputs, [{ name: input.name, datatype: input.dataType.replace('TYPE_', ''), dims: input.dims, format: 'NHWC' }]);
    assert.deepEqual(
      read.outputs,
      exported.config.outputs.map((o) => ({ name: o.name, datatype: o.dataType.replace('TYPE_', ''), dims: o.dims })),
    );
    for (const tensor of [input, ...exported.config.outputs]) {
      assert.match(text, new RegExp(`name: "${tensor.name}"\\n    data_type: ${tensor.dataType}\\n(    format: \\w+\\n)?    dims: \\[ ${tensor.dims.join(', ')} \\]`));
    }
    assert.deepEqual(read.dynamicBatching, {
      preferredBatchSizes: exported.config.preferredBatchSizes,
      maxQueueDelayMicroseconds: exported.config.maxQueueDelayMicroseconds,
    });
    assert.equal(read.instanceGroups[0]?.count, exported.config.instances);

    // The backend's start-up check takes it: 64 images per request at most.
    assert.deepEqual(checkModelConfig(demo.manifest, read), { problems: [], maxRows: 64, batchOfOne: false });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
