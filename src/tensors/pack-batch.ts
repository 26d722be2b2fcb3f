/**
 * `packBatch`: writes decoded HWC 8-bit images into one batch buffer (NHWC or NCHW; float32,
 * float16 or uint8), applying each image's pixel scale through a 256-entry lookup table. This is
 * the inner loop between decoding and inference, so it allocates nothing and does one table read
 * per value. Float16 uses a table of the float32 values already rounded to half precision
 * (`src/core/fp16.ts`), so a half-precision batch costs one pass, like a float32 one, and holds
 * exactly what converting the float32 batch would give.
 */
import type { ImageTensor, PixelScale } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { toFloat16Array } from '../core/fp16.js';
import { dtypeOf } from './tensor-pool.js';
import type { TensorBuffer, TensorDtype } from './tensor-pool.js';

/** Memory order of a batch tensor. */
export type TensorLayout = 'NHWC' | 'NCHW';

/** [n, h, w, c] for NHWC or [n, c, h, w] for NCHW. */
export type BatchShape = [number, number, number, number];

function makeTable(f: (v: number) => number): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v += 1) table[v] = f(v);
  return table;
}

/** The float value of each byte under each scale (float32 arithmetic, like a model's own /255). */
const SCALE_TABLES: Readonly<Record<PixelScale, Float32Array>> = {
  unit: makeTable((v) => Math.fround(v / 255)),
  symmetric: makeTable((v) => Math.fround(v / 127.5 - 1)),
  uint8: makeTable((v) => v),
};

/** The same values as half-precision bits (round to nearest even), for float16 batches. */
const HALF_TABLES: Readonly<Record<PixelScale, Uint16Array>> = {
  unit: toFloat16Array(SCALE_TABLES.unit),
  symmetric: toFloat16Array(SCALE_TABLES.symmetric),
  uint8: toFloat16Array(SCALE_TABLES.uint8),
};

/** The lookup table for a scale: `table[byte]` is the model input value. */
export function scaleTable(scale: PixelScale): Float32Array {
  return SCALE_TABLES[scale];
}

/** The half-precision lookup table for a scale: `table[byte]` is the float16 bits of the input value. */
export function halfScaleTable(scale: PixelScale): Uint16Array {
  return HALF_TABLES[scale];
}

/** Elements one image of this tensor occupies in a batch. */
export function elementsPerImage(tensor: Pick<ImageTensor, 'width' | 'height' | 'channels'>): number {
  return tensor.width * tensor.height * tensor.channels;
}

/** Whether two image tensors have the same height, width and channels. */
export function sameImageShape(a: ImageTensor, b: ImageTensor): boolean {
  return a.width === b.width && a.height === b.height && a.channels === b.channels;
}

/** Describes an image tensor's shape for messages, e.g. `224×224×3`. */
export function describeImageShape(t: Pick<ImageTensor, 'width' | 'height' | 'channels'>): string {
  return `${t.height}×${t.width}×${t.channels} (h×w×c)`;
}

/**
 * Packs `tensors` (all the same shape) into `into` and returns the batch shape. Float32 and float16
 * output (a Float32Array, or a Uint16Array of half-precision bits) is scaled by each image's
 * `scale`; uint8 output carries the raw bytes (a uint8 model scales itself). Throws
 * TENSOR_SHAPE_MISMATCH when shapes differ and INTERNAL when `into` is too small or of the wrong
 * element type.
 */
export function packBatch(
  tensors: readonly ImageTensor[],
  into: TensorBuffer,
  layout: TensorLayout,
  dtype: TensorDtype,
): BatchShape {
  const first = tensors[0];
  if (first === undefined) throw new CentaurError('INTERNAL', 'packBatch: no tensors to pack');
  const { height: h, width: w, channels: c } = first;
  const per = h * w * c;
  if (dtypeOf(into) !== dtype) {
    throw new CentaurError('INTERNAL', `packBatch: buffer is a ${into.constructor.name}, dtype is ${dtype}`);
  }
  if (into.length < per * tensors.length) {
    throw new CentaurError(
      'INTERNAL',
      `packBatch: buffer holds ${into.length} elements, ${tensors.length} images of ${per} need ${per * tensors.length}`,
    );
  }
  for (let i = 0; i < tensors.length; i += 1) {
    const t = tensors[i] as ImageTensor;
    if (!sameImageShape(t, first) || t.data.length !== per) {
      throw new CentaurError(
        'TENSOR_SHAPE_MISMATCH',
        `image ${i} is ${describeImageShape(t)} with ${t.data.length} bytes; the batch is ${describeImageShape(first)}`,
      );
    }
  }
  const hw = h * w;
  for (let i = 0; i < tensors.length; i += 1) {
    const t = tensors[i] as ImageTensor;
    const offset = i * per;
    if (into instanceof Float32Array) {
      const table = SCALE_TABLES[t.scale];
      if (layout === 'NHWC') packFloatNhwc(t.data, into, offset, per, table);
      else packFloatNchw(t.data, into, offset, hw, c, table);
    } else if (into instanceof Uint16Array) {
      const table = HALF_TABLES[t.scale];
      if (layout === 'NHWC') packHalfNhwc(t.data, into, offset, per, table);
      else packHalfNchw(t.data, into, offset, hw, c, table);
    } else if (layout === 'NHWC') {
      into.set(t.data, offset);
    } else {
      packUint8Nchw(t.data, into, offset, hw, c);
    }
  }
  return layout === 'NHWC' ? [tensors.length, h, w, c] : [tensors.length, c, h, w];
}

function packFloatNhwc(src: Uint8Array, out: Float32Array, offset: number, n: number, table: Float32Array): void {
  // Unrolled by 4: V8 keeps the loop tight and the table in cache (NHWC is a straight byte→float map).
  const end4 = n - (n % 4);
  let i = 0;
  for (; i < end4; i += 4) {
    const o = offset + i;
    out[o] = table[src[i] as number] as number;
    out[o + 1] = table[src[i + 1] as number] as number;
    out[o + 2] = table[src[i + 2] as number] as number;
    out[o + 3] = table[src[i + 3] as number] as number;
  }
  for (; i < n; i += 1) out[offset + i] = table[src[i] as number] as number;
}

function packFloatNchw(
  src: Uint8Array,
  out: Float32Array,
  offset: number,
  hw: number,
  c: number,
  table: Float32Array,
): void {
  if (c === 3) {
    const o1 = offset + hw;
    const o2 = offset + 2 * hw;
    for (let p = 0, s = 0; p < hw; p += 1, s += 3) {
      out[offset + p] = table[src[s] as number] as number;
      out[o1 + p] = table[src[s + 1] as number] as number;
      out[o2 + p] = table[src[s + 2] as number] as number;
    }
    return;
  }
  for (let ch = 0; ch < c; ch += 1) {
    const o = offset + ch * hw;
    for (let p = 0, s = ch; p < hw; p += 1, s += c) out[o + p] = table[src[s] as number] as number;
  }
}

// The half-precision loops repeat the float32 ones for Uint16Array: one function fed both array
// types is polymorphic in V8 and packs float32 ~10% and float16 ~2× slower than these.
function packHalfNhwc(src: Uint8Array, out: Uint16Array, offset: number, n: number, table: Uint16Array): void {
  const end4 = n - (n % 4);
  let i = 0;
  for (; i < end4; i += 4) {
    const o = offset + i;
    out[o] = table[src[i] as number] as number;
    out[o + 1] = table[src[i + 1] as number] as number;
    out[o + 2] = table[src[i + 2] as number] as number;
    out[o + 3] = table[src[i + 3] as number] as number;
  }
  for (; i < n; i += 1) out[offset + i] = table[src[i] as number] as number;
}

function packHalfNchw(src: Uint8Array, out: Uint16Array, offset: number, hw: number, c: number, table: Uint16Array): void {
  if (c === 3) {
    const o1 = offset + hw;
    const o2 = offset + 2 * hw;
    for (let p = 0, s = 0; p < hw; p += 1, s += 3) {
      out[offset + p] = table[src[s] as number] as number;
      out[o1 + p] = table[src[s + 1] as number] as number;
      out[o2 + p] = table[src[s + 2] as number] as number;
    }
    return;
  }
  for (let ch = 0; ch < c; ch += 1) {
    const o = offset + ch * hw;
    for (let p = 0, s = ch; p < hw; p += 1, s += c) out[o + p] = table[src[s] as number] as number;
  }
}

function packUint8Nchw(src: Uint8Array, out: Uint8Array, offset: number, hw: number, c: number): void {
  for (let ch = 0; ch < c; ch += 1) {
    const o = offset + ch * hw;
    for (let p = 0, s = ch; p < hw; p += 1, s += c) out[o + p] = src[s] as number;
  }
}
