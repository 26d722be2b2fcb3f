import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageTensor, PixelScale } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { fromFloat16Bits, toFloat16Array } from '../../src/core/fp16.js';
import { halfScaleTable, packBatch, scaleTable } from '../../src/tensors/pack-batch.js';
import { TensorPool, dtypeOf } from '../../src/tensors/tensor-pool.js';

const image = (height: number, width: number, channels: number, pixels: number[], scale: PixelScale = 'unit'): ImageTensor => ({
  data: Uint8Array.from(pixels),
  width,
  height,
  channels,
  scale,
});

// Two 1×2 RGB images (h=1, w=2): pixel values are easy to follow through the layouts.
const A = [0, 51, 255, 127, 128, 1]; // (r,g,b) of pixel 0, then pixel 1
const B = [10, 20, 30, 40, 50, 60];

const unit = (v: number): number => Math.fround(v / 255);
const sym = (v: number): number => Math.fround(v / 127.5 - 1);

void test('NHWC float32 unit: images one after another, pixels interleaved', () => {
  const out = new Float32Array(12);
  const shape = packBatch([image(1, 2, 3, A), image(1, 2, 3, B)], out, 'NHWC', 'float32');
  assert.deepEqual(shape, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(out), [...A, ...B].map(unit));
});

void test('NCHW float32 symmetric: each image as planes R, G, B', () => {
  const out = new Float32Array(12);
  const shape = packBatch([image(1, 2, 3, A, 'symmetric'), image(1, 2, 3, B, 'symmetric')], out, 'NCHW', 'float32');
  assert.deepEqual(shape, [2, 3, 1, 2]);
  const planes = (p: number[]): number[] => [p[0], p[3], p[1], p[4], p[2], p[5]] as number[];
  assert.deepEqual(Array.from(out), [...planes(A), ...planes(B)].map(sym));
  assert.equal(out[0], -1);
  assert.equal(out[4], 1); // B channel of pixel 0 of A is 255
});

void test('float32 with uint8 scale carries raw values as floats, in both layouts', () => {
  const nhwc = new Float32Array(6);
  packBatch([image(1, 2, 3, A, 'uint8')], nhwc, 'NHWC', 'float32');
  assert.deepEqual(Array.from(nhwc), A);
  const nchw = new Float32Array(6);
  packBatch([image(1, 2, 3, A, 'uint8')], nchw, 'NCHW', 'float32');
  assert.deepEqual(Array.from(nchw), [0, 127, 51, 128, 255, 1]);
});

void test('uint8 output keeps raw bytes in both layouts', () => {
  const nhwc = new Uint8Array(12);
  assert.deepEqual(packBatch([image(1, 2, 3, A), image(1, 2, 3, B)], nhwc, 'NHWC', 'uint8'), [2, 1, 2, 3]);
  assert.deepEqual(Array.from(nhwc), [...A, ...B]);
  const nchw = new Uint8Array(12);
  assert.deepEqual(packBatch([image(1, 2, 3, A), image(1, 2, 3, B)], nchw, 'NCHW', 'uint8'), [2, 3, 1, 2]);
  assert.deepEqual(Array.from(nchw), [0, 127, 51, 128, 255, 1, 10, 40, 20, 50, 30, 60]);
});

void test('matches a straightforward reference for a 3×2 image, every scale, every layout, 1 and 4 channels', () => {
  for (const channels of [1, 3, 4]) {
    const h = 3;
    const w = 2;
    const pixels = Array.from({ length: h * w * channels }, (_, i) => (i * 37 + 11) % 256);
    for (const scale of ['unit', 'symmetric', 'uint8'] as const) {
      const f = scale === 'unit' ? unit : scale === 'symmetric' ? sym : (v: number) => v;
      for (const layout of ['NHWC', 'NCHW'] as const) {
        const out = new Float32Array(pixels.length + 5).fill(-7); // longer than needed: the tail is untouched
        packBatch([image(h, w, channels, pixels, scale)], out, layout, 'float32');
        for (let y = 0; y < h; y += 1) {
          for (let x = 0; x < w; x += 1) {
            for (let c = 0; c < channels; c += 1) {
              const src = pixels[(y * w + x) * channels + c] as number;
              const at = layout === 'NHWC' ? (y * w + x) * channels + c : c * h * w + y * w + x;
              assert.equal(out[at], f(src), `${layout} ${scale} c=${channels} (${y},${x},${c})`);
            }
          }
        }
        assert.deepEqual(Array.from(out.subarray(pixels.length)), [-7, -7, -7, -7, -7]);
      }
    }
  }
});

void test('the scale tables are exact at their ends', () => {
  assert.equal(scaleTable('unit')[0], 0);
  assert.equal(scaleTable('unit')[255], 1);
  assert.equal(scaleTable('symmetric')[0], -1);
  assert.equal(scaleTable('symmetric')[255], 1);
  assert.equal(scaleTable('uint8')[200], 200);
});

void test('rejects mixed shapes with TENSOR_SHAPE_MISMATCH and a buffer too small or of the wrong type', () => {
  const out = new Float32Array(100);
  assert.throws(
    () => packBatch([image(1, 2, 3, A), image(2, 1, 3, B)], out, 'NHWC', 'float32'),
    (e: unknown) => e instanceof CentaurError && e.code === 'TENSOR_SHAPE_MISMATCH',
  );
  assert.throws(
    () => packBatch([image(1, 2, 3, A), image(1, 2, 3, B)], new Float32Array(11), 'NHWC', 'float32'),
    (e: unknown) => e instanceof CentaurError && e.code === 'INTERNAL',
  );
  assert.throws(() => packBatch([image(1, 2, 3, A)], new Uint8Array(6), 'NHWC', 'float32'), CentaurError);
  assert.throws(() => packBatch([image(1, 2, 3, A)], new Uint16Array(6), 'NHWC', 'float32'), CentaurError);
  assert.throws(() => packBatch([image(1, 2, 3, A)], new Float32Array(6), 'NHWC', 'float16'), CentaurError);
  assert.throws(() => packBatch([image(1, 2, 3, A)], new Uint8Array(6), 'NHWC', 'float16'), CentaurError);
  assert.throws(() => packBatch([], out, 'NHWC', 'float32'), CentaurError);
});

void test('float16 packing equals converting the float32 packing (fp16.ts, round to nearest even): every scale, layout, 1/3/4 channels', () => {
  for (const channels of [1, 3, 4]) {
    const h = 4;
    const w = 3;
    // Every byte value appears across the images.
    const images = Array.from({ length: 6 }, (_, n) => Array.from({ length: h * w * channels }, (_, i) => (n * h * w * channels + i * 7) % 256));
    for (const scale of ['unit', 'symmetric', 'uint8'] as const) {
      for (const layout of ['NHWC', 'NCHW'] as const) {
        const tensors = images.map((pixels) => image(h, w, channels, pixels, scale));
        const floats = new Float32Array(images.length * h * w * channels);
        const floatShape = packBatch(tensors, floats, layout, 'float32');
        const halves = new Uint16Array(floats.length + 3).fill(0xbeef); // longer than needed: the tail is untouched
        const halfShape = packBatch(tensors, halves, layout, 'float16');
        assert.deepEqual(halfShape, floatShape);
        assert.deepEqual(Array.from(halves.subarray(0, floats.length)), Array.from(toFloat16Array(floats)), `${layout} ${scale} c=${channels}`);
        assert.deepEqual(Array.from(halves.subarray(floats.length)), [0xbeef, 0xbeef, 0xbeef]);
      }
    }
  }
});

void test('the half-precision tables are the float32 tables rounded, within half precision of them', () => {
  for (const scale of ['unit', 'symmetric', 'uint8'] as const) {
    const half = halfScaleTable(scale);
    const full = scaleTable(scale);
    for (let v = 0; v < 256; v += 1) {
      const value = fromFloat16Bits(half[v] as number);
      const exact = full[v] as number;
      // 11 significant bits: the rounding error is at most 2^-11 of the value.
      assert.ok(Math.abs(value - exact) <= Math.abs(exact) * 2 ** -11, `${scale} ${v}: ${value} vs ${exact}`);
    }
  }
  assert.equal(fromFloat16Bits(halfScaleTable('unit')[255] as number), 1);
  assert.equal(fromFloat16Bits(halfScaleTable('symmetric')[0] as number), -1);
  assert.equal(fromFloat16Bits(halfScaleTable('uint8')[255] as number), 255, 'bytes are exact in half precision');
});

void test('TensorPool reuses buffers, allocates beyond the pool without blocking, and refuses double release', () => {
  const pool = new TensorPool('float32', 8, 2);
  const a = pool.acquire();
  const b = pool.acquire();
  const c = pool.acquire();
  assert.ok(a instanceof Float32Array && a.length === 8);
  assert.deepEqual(pool.stats(), { size: 2, outstanding: 3, allocatedBeyondPool: 1 });
  pool.release(a);
  pool.release(b);
  pool.release(c);
  assert.deepEqual(pool.stats(), { size: 2, outstanding: 0, allocatedBeyondPool: 1 });
  assert.throws(() => pool.release(a), CentaurError);
  assert.throws(() => pool.release(new Float32Array(8)), CentaurError);
  const again = pool.acquire();
  assert.ok(again === a || again === b || again === c);
  assert.equal(new TensorPool('uint8', 4, 1).acquire().constructor, Uint8Array);
});

void test('TensorPool float16 hands out Uint16Arrays of half-precision bits and reuses them', () => {
  const pool = new TensorPool('float16', 6, 2);
  const a = pool.acquire();
  assert.ok(a instanceof Uint16Array && a.length === 6);
  assert.equal(dtypeOf(a), 'float16');
  pool.release(a);
  const seen = new Set<unknown>();
  for (let i = 0; i < 10; i += 1) {
    const b = pool.acquire();
    seen.add(b);
    pool.release(b);
  }
  assert.deepEqual([...seen], [a], 'the released buffer is handed out again; none is allocated');
  assert.deepEqual(pool.stats(), { size: 2, outstanding: 0, allocatedBeyondPool: 0 });
  assert.deepEqual([dtypeOf(new Float32Array(1)), dtypeOf(new Uint8Array(1))], ['float32', 'uint8']);
});
