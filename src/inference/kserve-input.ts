/**
 * The request side of the `kserve` backend: a batch tensor becomes one KServe v2 input per request,
 * split where the server takes fewer images per request than the batch holds, in the datatype
 * chosen at start. Only the first n·h·w·c values of the (pooled, larger) buffer are read.
 *
 * When the batch's element type is the datatype (float32 as FP32, float16 as FP16 — `micro-batch`
 * with `dtype: float16` — uint8 as UINT8) the input is a view of the caller's buffer, read while the
 * request is sent: no copy, no conversion. Otherwise it is converted into a new array per request:
 * float32 as FP16 by the client (round to nearest even), float16 as FP32 here (exact widening), float
 * pixels as UINT8 here (the scale undone, exact). A uint8 batch only goes as UINT8.
 */
import type { BatchTensor, PixelScale } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { fromFloat16Array, fromFloat16Bits } from '../core/fp16.js';
import type { InferInput, InputDatatype } from './kserve/types.js';

/** One request's worth of a batch: its rows, and the input that carries them. */
export interface InputChunk {
  /** Images in this request. */
  readonly rows: number;
  readonly input: InferInput;
}

/** How a batch is sent: the input's name and datatype, the pixel scale, and the server's batch limit. */
export interface InputPlan {
  readonly name: string;
  readonly datatype: InputDatatype;
  /** The manifest's pixel scale, undone when float pixels travel as UINT8. */
  readonly scale: PixelScale;
  /** Most images per request, where the server says; undefined sends the whole batch at once. */
  readonly maxRows: number | undefined;
}

/** Splits a batch into per-request inputs; throws INTERNAL when the buffer is smaller than its shape. */
export function batchInputs(batch: BatchTensor, plan: InputPlan): InputChunk[] {
  const [n, d1, d2, d3] = batch.shape;
  const perImage = d1 * d2 * d3;
  const elements = n * perImage;
  if (batch.data.length < elements) {
    throw new CentaurError('INTERNAL', `batch tensor holds ${batch.data.length} elements, its shape [${batch.shape.join(', ')}] needs ${elements}`);
  }
  const step = plan.maxRows === undefined || plan.maxRows < 1 ? Math.max(1, n) : plan.maxRows;
  const chunks: InputChunk[] = [];
  for (let start = 0; start < n; start += step) {
    const rows = Math.min(step, n - start);
    const view = batch.data.subarray(start * perImage, (start + rows) * perImage);
    chunks.push({ rows, input: { name: plan.name, datatype: plan.datatype, shape: [rows, d1, d2, d3], data: inputData(view, plan) } });
  }
  return chunks;
}

/** The elements in the form the client takes for the datatype (a view when no conversion is needed). */
function inputData(view: Float32Array | Uint16Array | Uint8Array, plan: InputPlan): Float32Array | Uint16Array | Uint8Array {
  if (plan.datatype === 'UINT8') return view instanceof Uint8Array ? view : toPixelBytes(view, plan.scale);
  if (view instanceof Uint8Array) {
    // A uint8 batch is only packed for a uint8 model, which the start-up check pairs with UINT8.
    throw new CentaurError('INTERNAL', `a uint8 batch cannot be sent as ${plan.datatype}`);
  }
  // FP16 takes float32 (the client converts) or half-precision bits as they are.
  if (plan.datatype === 'FP16' || view instanceof Float32Array) return view;
  // Half-precision bits for an FP32 input: widened exactly (the server takes the rounded values).
  return fromFloat16Array(view);
}

/**
 * Undoes a pixel scale: float pixels (float32, or float16 bits from a Uint16Array) back to the
 * bytes they were made from, for servers that take raw pixels and scale them themselves. Exact,
 * since each value is a byte under the scale, and half precision keeps them over half a step apart.
 */
export function toPixelBytes(values: Float32Array | Uint16Array, scale: PixelScale): Uint8Array {
  const out = new Uint8Array(values.length);
  const factor = scale === 'unit' ? 255 : scale === 'symmetric' ? 127.5 : 1;
  const offset = scale === 'symmetric' ? 1 : 0;
  const half = values instanceof Uint16Array;
  // A Uint8Array wraps values outside 0..255 rather than clamping them: round, then clamp.
  for (let i = 0; i < values.length; i += 1) {
    const value = half ? fromFloat16Bits(values[i] as number) : (values[i] as number);
    const v = Math.round((value + offset) * factor);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
