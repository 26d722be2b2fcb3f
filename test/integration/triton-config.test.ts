/**
 * The generated config.pbtxt read by Triton's own schema: `ModelConfig` from the `tritonclient`
 * package (installed with the kserve service's MLServer) parses it with protobuf's text format, so
 * every field name, enum value and type is one Triton accepts. Without that Python environment the
 * test is skipped (and fails under CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportTritonRepository } from '../../src/inference/triton-repository.js';

const run = promisify(execFile);
const PYTHON = path.join(process.env.CENTAUR_SERVICES_HOME ?? path.join(homedir(), '.cache', 'centaur-services'), 'kserve', 'venv', 'bin', 'python');

const READ_CONFIG = `
import sys
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2
config = text_format.Parse(open(sys.argv[1]).read(), model_config_pb2.ModelConfig())
print(json_format.MessageToJson(config))
`;

test("config.pbtxt parses as Triton's ModelConfig, field for field", async (t) => {
  try {
    await access(PYTHON);
  } catch {
    if (process.env.CI === 'true') throw new Error(`${PYTHON} is missing; CI must run scripts/services/services.sh up`);
    t.skip(`${PYTHON} is missing; run scripts/services/services.sh up kserve`);
    return;
  }
  const out = await mkdtemp(path.join(tmpdir(), 'centaur-triton-config-'));
  try {
    const exported = await exportTritonRepository(path.resolve('models/demo'), out, { preferredBatchSizes: [16, 32], maxQueueDelayMicroseconds: 100, instances: 2, kind: 'KIND_CPU' });
    const { stdout } = await run(PYTHON, ['-c', READ_CONFIG, exported.configPath]);
    // protobuf's JSON form: camelCase names, 64-bit integers as strings, enum defaults left out.
    assert.deepEqual(JSON.parse(stdout), {
      name: 'horse-or-human',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      maxBatchSize: 64,
      input: [{ name: 'input', dataType: 'TYPE_FP32', format: 'FORMAT_NHWC', dims: ['224', '224', '3'] }],
      output: [
        { name: 'probabilities', dataType: 'TYPE_FP32', dims: ['2'], labelFilename: 'labels.txt' },
        { name: 'embedding', dataType: 'TYPE_FP32', dims: ['1280'] },
      ],
      dynamicBatching: { preferredBatchSize: [16, 32], maxQueueDelayMicroseconds: '100' },
      instanceGroup: [{ count: 2, kind: 'KIND_CPU' }],
    });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
