/**
 * What the backend benchmarks share: demo images rendered, resized as decode-image does and
 * packed once into a batch buffer, and back-to-back timing of one backend on one batch size.
 */
import sharp from 'sharp';
import type { BatchTensor, ImageTensor } from '../src/core/envelope.js';
import { renderImage } from '../src/demo/generate-images.js';
import type { DemoClass } from '../src/demo/generate-images.js';
import type { InferenceBackend } from '../src/inference/backend.js';
import type { ManifestInput } from '../src/inference/manifest.js';
import { packBatch } from '../src/tensors/pack-batch.js';

/** Calls at least this many, and warm-up calls first. */
export const MIN_CALLS = 5;
export const WARM_UP = 2;

/** `largest` demo images packed for `input`; returns a view of the first n as a batch tensor. */
export async function demoBatches(input: ManifestInput, largest: number): Promise<(n: number) => BatchTensor> {
  const images: ImageTensor[] = await Promise.all(
    Array.from({ length: largest }, async (_, i) => {
      const label: DemoClass = i % 2 === 0 ? 'horse' : 'human';
      const jpeg = await renderImage(label, 7_000_000 + i, { width: 320, height: 240 });
      const data = await sharp(jpeg).removeAlpha().resize(input.width, input.height, { fit: input.fit, kernel: input.kernel }).raw().toBuffer();
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
    }),
  );
  const pooled = new Float32Array(largest * input.width * input.height * input.channels);
  packBatch(images, pooled, input.layout, input.dtype);
  return (n) => ({ data: pooled, shape: [n, input.height, input.width, input.channels], layout: 'NHWC', release: () => {} });
}

/** Runs `backend` on `tensor` back to back for `seconds` (at least MIN_CALLS times) after WARM_UP calls; `beforeTiming` runs after the warm-up. */
export async function timeBackend(
  backend: InferenceBackend,
  tensor: BatchTensor,
  seconds: number,
  beforeTiming: () => void = () => undefined,
): Promise<{ calls: number; imagesPerSecond: number; p50: number; p95: number }> {
  for (let i = 0; i < WARM_UP; i += 1) await backend.run(tensor);
  beforeTiming();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < MIN_CALLS || performance.now() - started < seconds * 1000) {
    const t0 = performance.now();
    await backend.run(tensor);
    times.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  return { calls: times.length, imagesPerSecond: (times.length * tensor.shape[0]) / elapsed, p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

/** The q-quantile (nearest rank) of `values`. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
