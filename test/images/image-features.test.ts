import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeImageFeatures } from '../../src/images/image-features.js';

/** A uniform HWC image of the given colour. */
function uniform(width: number, height: number, rgb: readonly [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return data;
}

/** Straightforward two-pass reference: luma array, then mean, std and Laplacian variance. */
function reference(data: Uint8Array, width: number, height: number): { brightness: number; contrast: number; sharpness: number } {
  const luma: number[] = [];
  for (let i = 0; i < width * height; i += 1) {
    luma.push((0.299 * (data[i * 3] ?? 0) + 0.587 * (data[i * 3 + 1] ?? 0) + 0.114 * (data[i * 3 + 2] ?? 0)) / 255);
  }
  const mean = luma.reduce((a, v) => a + v, 0) / luma.length;
  const variance = luma.reduce((a, v) => a + (v - mean) ** 2, 0) / luma.length;
  const at = (x: number, y: number): number => luma[y * width + x] ?? 0;
  const laps: number[] = [];
  for (let y = 1; y < height - 1; y += 1) {
    for (let x = 1; x < width - 1; x += 1) {
      laps.push(4 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1));
    }
  }
  const lapMean = laps.length === 0 ? 0 : laps.reduce((a, v) => a + v, 0) / laps.length;
  const lapVar = laps.length === 0 ? 0 : laps.reduce((a, v) => a + (v - lapMean) ** 2, 0) / laps.length;
  return { brightness: mean, contrast: Math.sqrt(variance), sharpness: lapVar };
}

void test('a uniform grey image has its grey level as brightness and no contrast or sharpness', () => {
  const f = computeImageFeatures(uniform(224, 224, [128, 128, 128]), 224, 224, 3);
  assert.ok(Math.abs(f.brightness - 128 / 255) < 1e-9, `brightness ${f.brightness}`);
  assert.equal(f.contrast, 0);
  assert.equal(f.sharpness, 0);
});

void test('black and white images have brightness 0 and 1', () => {
  assert.equal(computeImageFeatures(uniform(8, 8, [0, 0, 0]), 8, 8, 3).brightness, 0);
  assert.equal(computeImageFeatures(uniform(8, 8, [255, 255, 255]), 8, 8, 3).brightness, 1);
});

void test('luma weights are 0.299 R + 0.587 G + 0.114 B', () => {
  const red = computeImageFeatures(uniform(4, 4, [255, 0, 0]), 4, 4, 3);
  const green = computeImageFeatures(uniform(4, 4, [0, 255, 0]), 4, 4, 3);
  const blue = computeImageFeatures(uniform(4, 4, [0, 0, 255]), 4, 4, 3);
  assert.ok(Math.abs(red.brightness - 0.299) < 1e-12);
  assert.ok(Math.abs(green.brightness - 0.587) < 1e-12);
  assert.ok(Math.abs(blue.brightness - 0.114) < 1e-12);
});

void test('saturation is the mean HSV saturation: grey and black 0, pure and dark red 1', () => {
  assert.equal(computeImageFeatures(uniform(8, 8, [128, 128, 128]), 8, 8, 3).saturation, 0);
  assert.equal(computeImageFeatures(uniform(8, 8, [0, 0, 0]), 8, 8, 3).saturation, 0);
  assert.equal(computeImageFeatures(uniform(8, 8, [255, 255, 255]), 8, 8, 3).saturation, 0);
  assert.equal(computeImageFeatures(uniform(8, 8, [255, 0, 0]), 8, 8, 3).saturation, 1);
  assert.equal(computeImageFeatures(uniform(8, 8, [0, 0, 255]), 8, 8, 3).saturation, 1);
  assert.equal(computeImageFeatures(uniform(8, 8, [128, 0, 0]), 8, 8, 3).saturation, 1);
  // Pink: (max − min)/max = (255 − 128)/255.
  assert.ok(Math.abs(computeImageFeatures(uniform(4, 4, [255, 128, 128]), 4, 4, 3).saturation - 127 / 255) < 1e-15);
  // Half red, half grey: the mean of 1 and 0.
  const half = uniform(4, 2, [255, 0, 0]);
  half.set(uniform(4, 1, [90, 90, 90]), 12);
  assert.equal(computeImageFeatures(half, 4, 2, 3).saturation, 0.5);
  // A single-channel image has no colour; a fourth channel is ignored.
  assert.equal(computeImageFeatures(new Uint8Array([0, 255, 10, 20]), 2, 2, 1).saturation, 0);
  assert.equal(computeImageFeatures(new Uint8Array([255, 0, 0, 7, 255, 0, 0, 200]), 2, 1, 4).saturation, 1);
});

void test('a one-pixel checkerboard is far sharper than a smooth gradient', () => {
  const size = 64;
  const board = new Uint8Array(size * size * 3);
  const gradient = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      board.fill((x + y) % 2 === 0 ? 255 : 0, (y * size + x) * 3, (y * size + x) * 3 + 3);
      gradient.fill(x * 4, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  const sharp = computeImageFeatures(board, size, size, 3);
  const smooth = computeImageFeatures(gradient, size, size, 3);
  // Every interior Laplacian is ±4: variance 16.
  assert.ok(Math.abs(sharp.sharpness - 16) < 1e-9, `sharpness ${sharp.sharpness}`);
  assert.ok(Math.abs(sharp.contrast - 0.5) < 1e-9, `contrast ${sharp.contrast}`);
  assert.ok(smooth.sharpness < 1e-6, `gradient sharpness ${smooth.sharpness}`);
});

void test('a single-channel image uses its value as luma', () => {
  const grey = new Uint8Array([0, 255, 0, 255]);
  const f = computeImageFeatures(grey, 2, 2, 1);
  assert.equal(f.brightness, 0.5);
  assert.equal(f.contrast, 0.5);
  assert.equal(f.sharpness, 0);
});

void test('ignores a fourth channel and handles images too small for a Laplacian', () => {
  const rgba = new Uint8Array([10, 20, 30, 255, 10, 20, 30, 0]);
  const f = computeImageFeatures(rgba, 2, 1, 4);
  assert.equal(f.contrast, 0);
  assert.equal(f.sharpness, 0);
  assert.deepEqual(computeImageFeatures(new Uint8Array(0), 0, 0, 3), { brightness: 0, contrast: 0, sharpness: 0, saturation: 0 });
});

void test('rejects a buffer too short for the stated size', () => {
  assert.throws(() => computeImageFeatures(new Uint8Array(10), 4, 4, 3), RangeError);
  assert.throws(() => computeImageFeatures(new Uint8Array(48), 4, 4, 0), RangeError);
});

const image = fc
  .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) })
  .chain(({ width, height }) =>
    fc.record({
      width: fc.constant(width),
      height: fc.constant(height),
      data: fc.uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 }),
    }),
  );

void test('property: brightness is in [0, 1], contrast in [0, 0.5], sharpness ≥ 0', () => {
  fc.assert(
    fc.property(image, ({ width, height, data }) => {
      const f = computeImageFeatures(data, width, height, 3);
      assert.ok(f.brightness >= 0 && f.brightness <= 1, `brightness ${f.brightness}`);
      assert.ok(f.contrast >= 0 && f.contrast <= 0.5 + 1e-12, `contrast ${f.contrast}`);
      assert.ok(f.sharpness >= 0, `sharpness ${f.sharpness}`);
      assert.ok(f.saturation >= 0 && f.saturation <= 1, `saturation ${f.saturation}`);
    }),
    { numRuns: 300 },
  );
});

void test('property: matches a straightforward two-pass reference, across calls of varying sizes (reused scratch rows)', () => {
  fc.assert(
    fc.property(image, ({ width, height, data }) => {
      const f = computeImageFeatures(data, width, height, 3);
      const r = reference(data, width, height);
      assert.ok(Math.abs(f.brightness - r.brightness) < 1e-9);
      assert.ok(Math.abs(f.contrast - r.contrast) < 1e-6);
      assert.ok(Math.abs(f.sharpness - r.sharpness) < 1e-9 * Math.max(1, r.sharpness));
    }),
    { numRuns: 300 },
  );
});
