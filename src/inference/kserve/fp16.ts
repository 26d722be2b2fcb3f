/**
 * The half-precision conversions the KServe client uses for FP16 inputs and outputs. They live in
 * `src/core/fp16.ts`, shared with `micro-batch` (which packs FP16 batches itself); this module
 * re-exports them so the client's imports stay within its folder.
 */
export { fromFloat16Array, fromFloat16Bits, toFloat16Array, toFloat16Bits } from '../../core/fp16.js';
