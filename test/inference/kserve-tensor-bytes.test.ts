import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { CentaurError } from '../../src/core/errors.js';
import { loadKserveMethods, protoPath } from '../../src/inference/kserve/proto.js';
import { inputBytes, outputFromBytes, outputFromValues } from '../../src/inference/kserve/tensor-bytes.js';

test('inputs become little-endian bytes: FP32 and UINT8 as views, FP16 converted from float32 or taken as bits', () => {
  const fp32 = new Float32Array([1, -2.5, 0.1]);
  const bytes = inputBytes({ name: 'x', datatype: 'FP32', shape: [1, 3], data: fp32 });
  assert.equal(bytes.buffer, fp32.buffer);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]);
  const uint8 = new Uint8Array([0, 128, 255, 7]);
  assert.deepEqual([...inputBytes({ name: 'x', datatype: 'UINT8', shape: [2, 2], data: uint8 })], [0, 128, 255, 7]);
  const half = inputBytes({ name: 'x', datatype: 'FP16', shape: [2], data: new Float32Array([1, -2]) });
  assert.deepEqual([...half], [0x00, 0x3c, 0x00, 0xc0]);
  const bits = inputBytes({ name: 'x', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3555]) });
  assert.deepEqual([...bits], [0x55, 0x35]);
});

test('an input whose data does not fit its shape or datatype is a caller bug (INTERNAL), caught before sending', () => {
  const internal = (pattern: RegExp) => (error: CentaurError) => error.code === 'INTERNAL' && pattern.test(error.message);
  assert.throws(() => inputBytes({ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Float32Array(5) }), internal(/holds 5 elements, its shape \[2, 3\] needs 6/));
  assert.throws(() => inputBytes({ name: 'x', datatype: 'FP32', shape: [2], data: new Uint8Array(2) }), internal(/is FP32 but its data is a Uint8Array/));
  assert.throws(() => inputBytes({ name: 'x', datatype: 'UINT8', shape: [2], data: new Float32Array(2) }), internal(/is UINT8 but its data is a Float32Array/));
  assert.throws(() => inputBytes({ name: 'x', datatype: 'FP32', shape: [-1, 2], data: new Float32Array(0) }), internal(/dimensions must be whole numbers/));
});

test('outputs come back as owned, aligned typed arrays; FP16 is widened to float32', () => {
  const source = Buffer.concat([Buffer.from([9]), Buffer.from(new Float32Array([0.5, 2]).buffer)]);
  // An odd offset: the bytes cannot be viewed as floats in place.
  const fp32 = outputFromBytes('p', 'FP32', [1, 2], source.subarray(1));
  assert.ok(fp32 instanceof Float32Array);
  assert.deepEqual(Array.from(fp32), [0.5, 2]);
  const fp16 = outputFromBytes('p', 'FP16', [2], Buffer.from([0x00, 0x3c, 0x00, 0xc0]));
  assert.ok(fp16 instanceof Float32Array);
  assert.deepEqual(Array.from(fp16), [1, -2]);
  assert.deepEqual(Array.from(outputFromBytes('i', 'INT64', [1], Buffer.from(new BigInt64Array([-3n]).buffer)) as BigInt64Array), [-3n]);
  assert.throws(() => outputFromBytes('p', 'FP32', [3], Buffer.alloc(8)), /has 8 bytes; FP32 of shape \[3\] needs 12/);
  assert.throws(() => outputFromBytes('s', 'BYTES', [1], Buffer.alloc(5)), /BYTES/);
});

test('JSON data (flat or nested) and typed contents become typed arrays too', () => {
  assert.deepEqual(Array.from(outputFromValues('p', 'FP32', [2, 2], [[1, 2], [3, 4]]) as Float32Array), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(outputFromValues('b', 'BOOL', [2], [true, false]) as Uint8Array), [1, 0]);
  assert.deepEqual(Array.from(outputFromValues('i', 'INT64', [1], ['12']) as BigInt64Array), [12n]);
  assert.throws(() => outputFromValues('p', 'FP32', [3], [1, 2]), (error: CentaurError) => error.code === 'INFERENCE_FAILED' && !error.retriable);
});

test('the .proto is found from the sources and declares the six protocol methods', async () => {
  assert.ok(existsSync(protoPath()));
  const methods = await loadKserveMethods();
  for (const name of ['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata', 'ModelInfer'] as const) {
    assert.equal(methods[name].path, `/inference.GRPCInferenceService/${name}`);
  }
  // raw_input_contents survives a round trip through the serializer, as bytes.
  const request = { model_name: 'm', model_version: '', id: 'r', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], outputs: [], raw_input_contents: [Buffer.from([1, 2, 3])] };
  const wire = methods.ModelInfer.requestSerialize(request);
  const back = methods.ModelInfer.requestDeserialize(wire);
  assert.deepEqual(back.inputs[0]?.shape, [1, 2]);
  assert.deepEqual([...(back.raw_input_contents[0] ?? [])], [1, 2, 3]);
});
