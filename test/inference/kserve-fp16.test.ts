import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromFloat16Array, fromFloat16Bits, toFloat16Array, toFloat16Bits } from '../../src/inference/kserve/fp16.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

test('known values convert to their IEEE half-precision bits', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest half
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) assert.equal(hex(toFloat16Bits(value)), hex(bits), `${value}`);
});

test('rounds to nearest, ties to even', () => {
  // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10: down to 1.
  assert.equal(hex(toFloat16Bits(1 + 2 ** -11)), '0x3c00');
  // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2·2^-10 (even): up.
  assert.equal(hex(toFloat16Bits(1 + 3 * 2 ** -11)), '0x3c02');
  // Just above halfway rounds up.
  assert.equal(hex(toFloat16Bits(1 + 2 ** -11 + 2 ** -20)), '0x3c01');
  // 65519 rounds to 65504 (0x7bff, odd); 65520 is halfway to the next step, 0x7c00 (even): Infinity.
  assert.equal(hex(toFloat16Bits(65519)), '0x7bff');
  assert.equal(hex(toFloat16Bits(65520)), '0x7c00');
  assert.equal(hex(toFloat16Bits(1e6)), '0x7c00');
  // Subnormals: 2^-25 is halfway between 0 and 2^-24: to even (0); a bit more rounds up.
  assert.equal(hex(toFloat16Bits(2 ** -25)), '0x0000');
  assert.equal(hex(toFloat16Bits(-(2 ** -25))), '0x8000');
  assert.equal(hex(toFloat16Bits(1.5 * 2 ** -25)), '0x0001');
  assert.equal(hex(toFloat16Bits(3 * 2 ** -25)), '0x0002'); // 1.5 × 2^-24: tie, to even 2
  assert.equal(hex(toFloat16Bits(2 ** -26)), '0x0000');
  // The largest subnormal rounds up into the smallest normal.
  assert.equal(hex(toFloat16Bits(2 ** -14 - 2 ** -26)), '0x0400');
});

test('NaN stays NaN', () => {
  const bits = toFloat16Bits(NaN);
  assert.equal(bits & 0x7c00, 0x7c00);
  assert.notEqual(bits & 0x03ff, 0);
  assert.ok(Number.isNaN(fromFloat16Bits(bits)));
});

test('every finite half converts to float32 and back to the same bits', () => {
  for (let bits = 0; bits < 0x10000; bits += 1) {
    const value = fromFloat16Bits(bits);
    if (Number.isNaN(value)) continue;
    assert.equal(toFloat16Bits(value), bits, hex(bits));
  }
});

test('the half chosen is the nearest one, ties to the even mantissa', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), (x) => {
      const bits = toFloat16Bits(x);
      const value = fromFloat16Bits(bits);
      const error = Math.abs(value - x);
      // Neighbours one step away in magnitude: neither may be strictly closer.
      for (const other of [bits + 1, bits - 1]) {
        if ((other & 0x7fff) > 0x7bff || other < 0 || (other ^ bits) & 0x8000) continue;
        const distance = Math.abs(fromFloat16Bits(other) - x);
        if (distance < error) return false;
        if (distance === error && (bits & 1) === 1) return false;
      }
      return true;
    }),
    { numRuns: 20000 },
  );
});

test('arrays convert element by element, into a given buffer or a new one', () => {
  const values = new Float32Array([0, 1, -1.5, 0.1, 65504, 1e9, -1e-9]);
  const bits = toFloat16Array(values);
  assert.deepEqual(Array.from(bits), Array.from(values, (v) => toFloat16Bits(v)));
  const back = fromFloat16Array(bits);
  assert.deepEqual(Array.from(back), Array.from(bits, (b) => Math.fround(fromFloat16Bits(b))));
  const into = new Uint16Array(10);
  assert.equal(toFloat16Array(values, into), into);
  assert.throws(() => toFloat16Array(values, new Uint16Array(2)), RangeError);
  // A view into a larger buffer converts only its own elements.
  const view = new Float32Array([9, 2, 3, 9]).subarray(1, 3);
  assert.deepEqual(Array.from(toFloat16Array(view)), [0x4000, 0x4200]);
});
