import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchTensor, PixelScale } from '../../src/core/envelope.js';
import type { CentaurError } from '../../src/core/errors.js';
import { fromFloat16Bits, toFloat16Array } from '../../src/core/fp16.js';
import { batchInputs, toPixelBytes } from '../../src/inference/kserve-input.js';
import type { InputPlan } from '../../src/inference/kserve-input.js';
import { inputBytes } from '../../src/inference/kserve/tensor-bytes.js';
import { halfScaleTable, scaleTable } from '../../src/tensors/pack-batch.js';

const PER_IMAGE = 2 * 2 * 3;

/** A pooled buffer with room for 8 images, holding `n` (values 0, 1, 2, … then a marker past them). */
function pooled(n: number): BatchTensor {
  const data = new Float32Array(8 * PER_IMAGE).fill(-7);
  for (let i = 0; i < n * PER_IMAGE; i += 1) data[i] = i;
  return { data, shape: [n, 2, 2, 3], layout: 'NHWC', release: () => {} };
}

const FP32: InputPlan = { name: 'input', datatype: 'FP32', scale: 'unit', maxRows: undefined };

test('only the first n·h·w·c values of the pooled buffer are sent, as a view for FP32', () => {
  const batch = pooled(3);
  const [chunk, ...rest] = batchInputs(batch, FP32);
  assert.equal(rest.length, 0);
  assert.ok(chunk);
  assert.equal(chunk.rows, 3);
  assert.deepEqual(chunk.input.shape, [3, 2, 2, 3]);
  assert.equal(chunk.input.data.length, 3 * PER_IMAGE);
  assert.ok(!Array.from(chunk.input.data).includes(-7), 'nothing past the batch');
  assert.equal(chunk.input.data.buffer, batch.data.buffer, 'FP32 is not copied');
  assert.equal(chunk.input.name, 'input');
  assert.equal(chunk.input.datatype, 'FP32');
});

test('a batch larger than the server takes is split into requests of at most maxRows, in order', () => {
  const chunks = batchInputs(pooled(7), { ...FP32, maxRows: 3 });
  assert.deepEqual(
    chunks.map((c) => [c.rows, c.input.shape[0], c.input.data[0]]),
    [
      [3, 3, 0],
      [3, 3, 3 * PER_IMAGE],
      [1, 1, 6 * PER_IMAGE],
    ],
  );
  assert.equal(batchInputs(pooled(3), { ...FP32, maxRows: 64 }).length, 1);
});

test('FP16 leaves the float32 view to the client, which converts it', () => {
  const [chunk] = batchInputs(pooled(1), { ...FP32, datatype: 'FP16' });
  assert.ok(chunk?.input.data instanceof Float32Array);
  assert.equal(chunk.input.datatype, 'FP16');
});

/** The float16 batch micro-batch packs with `dtype: float16`: the pooled() values as half-precision bits. */
function pooledHalf(n: number): BatchTensor & { data: Uint16Array } {
  const data = toFloat16Array(pooled(n).data as Float32Array);
  return { data, shape: [n, 2, 2, 3], layout: 'NHWC', release: () => {} };
}

test('a float16 batch goes as FP16 without a copy: each request input, and the bytes the client sends, are views of the pooled buffer', () => {
  const batch = pooledHalf(7);
  const chunks = batchInputs(batch, { ...FP32, datatype: 'FP16', maxRows: 3 });
  assert.deepEqual(
    chunks.map((c) => c.rows),
    [3, 3, 1],
  );
  let start = 0;
  for (const { rows, input } of chunks) {
    assert.equal(input.datatype, 'FP16');
    assert.ok(input.data instanceof Uint16Array);
    assert.equal(input.data.buffer, batch.data.buffer, 'a view, not a copy');
    assert.equal(input.data.byteOffset, start * PER_IMAGE * 2);
    assert.equal(input.data.length, rows * PER_IMAGE);
    const bytes = inputBytes(input);
    assert.equal(bytes.buffer, batch.data.buffer, 'the client sends the same memory');
    assert.equal(bytes.byteOffset, start * PER_IMAGE * 2);
    assert.equal(bytes.byteLength, rows * PER_IMAGE * 2);
    start += rows;
  }
  // The pooled buffer's tail (marker values past the batch) is not sent.
  assert.equal(chunks.reduce((sum, c) => sum + c.input.data.length, 0), 7 * PER_IMAGE);
});

test('a float16 batch for an FP32 input is widened exactly; for UINT8, the exact bytes come back under every scale', () => {
  const batch = pooledHalf(2);
  const [chunk] = batchInputs(batch, FP32);
  assert.ok(chunk?.input.data instanceof Float32Array);
  assert.notEqual(chunk.input.data.buffer, batch.data.buffer);
  assert.deepEqual(
    Array.from(chunk.input.data),
    Array.from(batch.data.subarray(0, 2 * PER_IMAGE), (bits) => fromFloat16Bits(bits)),
  );
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const scale of ['unit', 'symmetric', 'uint8'] as PixelScale[]) {
    const table = halfScaleTable(scale);
    const halves = Uint16Array.from(bytes, (b) => table[b] as number);
    assert.deepEqual(toPixelBytes(halves, scale), bytes, scale);
    const [asBytes] = batchInputs({ data: halves, shape: [1, 16, 16, 1], layout: 'NHWC', release: () => {} }, { ...FP32, scale, datatype: 'UINT8' });
    assert.deepEqual(asBytes?.input.data, bytes, `${scale} through batchInputs`);
  }
});

test('UINT8 from float pixels gives back the exact bytes under every scale; a uint8 batch goes as it is', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const scale of ['unit', 'symmetric', 'uint8'] as PixelScale[]) {
    const table = scaleTable(scale);
    const floats = Float32Array.from(bytes, (b) => table[b] as number);
    assert.deepEqual(toPixelBytes(floats, scale), bytes, scale);
  }
  assert.deepEqual(Array.from(toPixelBytes(Float32Array.from([-0.5, 1.5, Number.NaN]), 'unit')), [0, 255, 0], 'clamped');

  const data = new Uint8Array(8 * PER_IMAGE).fill(9);
  const [chunk] = batchInputs({ data, shape: [2, 2, 2, 3], layout: 'NHWC', release: () => {} }, { ...FP32, datatype: 'UINT8' });
  assert.equal(chunk?.input.data.buffer, data.buffer);
  assert.equal(chunk.input.data.length, 2 * PER_IMAGE);
});

test('a buffer smaller than its shape is a bug (INTERNAL); a uint8 batch cannot go as FP32', () => {
  const short: BatchTensor = { data: new Float32Array(PER_IMAGE), shape: [2, 2, 2, 3], layout: 'NHWC', release: () => {} };
  assert.throws(() => batchInputs(short, FP32), (error: CentaurError) => error.code === 'INTERNAL' && /holds 12 elements/.test(error.message));
  const bytes: BatchTensor = { data: new Uint8Array(PER_IMAGE), shape: [1, 2, 2, 3], layout: 'NHWC', release: () => {} };
  assert.throws(() => batchInputs(bytes, FP32), (error: CentaurError) => error.code === 'INTERNAL');
});
