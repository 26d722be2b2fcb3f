/**
 * IEEE 754 half precision (binary16): float32 → half with round to nearest, ties to even (overflow
 * to ±Infinity, underflow through subnormals to ±0, NaN kept NaN), and half → float32, exact. One
 * implementation for every FP16 tensor: `micro-batch` packing half-precision batches, the KServe
 * client converting FP16 inputs and reading FP16 outputs. Works on bit patterns, so a batch
 * converts without allocating per element.
 */

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The half-precision bits of a float32 bit pattern, rounded to nearest even. */
function halfFromFloatBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    // Infinity stays Infinity; NaN stays a (quiet) NaN with the top of its payload.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below the smallest normal half: a subnormal (mantissa × 2^-24), or ±0 when under half of 2^-24.
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa steps the exponent, up to 0x7c00 (Infinity): both are right.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** Converts one number to half-precision bits (via float32, as a Float32Array holds it). */
export function toFloat16Bits(value: number): number {
  scratch[0] = value;
  return halfFromFloatBits(scratchBits[0] as number);
}

/** The exact value of half-precision bits. */
export function fromFloat16Bits(bits: number): number {
  const negative = (bits & 0x8000) !== 0;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  let magnitude: number;
  if (exponent === 0) magnitude = mantissa * 2 ** -24;
  else if (exponent === 0x1f) magnitude = mantissa === 0 ? Infinity : NaN;
  else magnitude = (1 + mantissa / 1024) * 2 ** (exponent - 15);
  return negative ? -magnitude : magnitude;
}

/** Converts a float32 tensor to half-precision bits, e.g. for an FP16 model input. */
export function toFloat16Array(values: Float32Array, into: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  if (into.length < values.length) throw new RangeError(`toFloat16Array: ${into.length} slots for ${values.length} values`);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i += 1) into[i] = halfFromFloatBits(bits[i] as number);
  return into;
}

/** Widens half-precision bits to float32, e.g. for an FP16 model output. */
export function fromFloat16Array(bits: Uint16Array, into: Float32Array = new Float32Array(bits.length)): Float32Array {
  if (into.length < bits.length) throw new RangeError(`fromFloat16Array: ${into.length} slots for ${bits.length} values`);
  for (let i = 0; i < bits.length; i += 1) into[i] = fromFloat16Bits(bits[i] as number);
  return into;
}
