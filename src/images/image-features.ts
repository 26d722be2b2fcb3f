/**
 * Drift features of a decoded image: brightness (mean luma), contrast (population standard
 * deviation of luma), sharpness (variance of the 4-neighbour Laplacian of luma over interior
 * pixels) and saturation (mean HSV saturation: per pixel (max − min)/max of R, G, B, 0 for black),
 * computed in one pass over the resized 8-bit HWC buffer. It runs on every image, so it works on
 * exact integer lumas (× 255000: a uniform image gives exactly 0) over a three-row ring buffer that
 * is reused between calls, so nothing is allocated per image.
 */
import type { ImageFeatures } from '../core/envelope.js';

/** The pixel statistics part of {@link ImageFeatures}. */
export type LumaFeatures = Pick<ImageFeatures, 'brightness' | 'contrast' | 'sharpness'> & { readonly saturation: number };

/** Luma of a full-scale white pixel in the integer units used here (0.299+0.587+0.114 = 1). */
const LUMA_SCALE = 255_000;

/** Ring buffer of three luma rows, grown on demand and reused between calls. */
let rows = new Float64Array(0);

/** Computes brightness, contrast, sharpness and saturation of an 8-bit HWC image, for drift monitoring. */
export function computeImageFeatures(data: Uint8Array, width: number, height: number, channels: number): LumaFeatures {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`image size must be non-negative integers, got ${width}×${height}`);
  }
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`channels must be a positive integer, got ${channels}`);
  }
  const n = width * height;
  if (data.length < n * channels) {
    throw new RangeError(`buffer holds ${data.length} bytes, ${width}×${height}×${channels} needs ${n * channels}`);
  }
  if (n === 0) return { brightness: 0, contrast: 0, sharpness: 0, saturation: 0 };
  if (rows.length < 3 * width) rows = new Float64Array(3 * width);
  const ring = rows;
  const colour = channels >= 3;

  let sum = 0;
  let sumSq = 0;
  let lapSum = 0;
  let lapSumSq = 0;
  let satSum = 0;
  let i = 0;
  for (let y = 0; y < height; y += 1) {
    const row = (y % 3) * width;
    // Rows y-2 (`up`) and y-1 (`mid`) are already in the ring: the Laplacian at (x, y-1) needs
    // only the luma of (x, y) besides them, so it is computed in the same pass.
    const laplacian = y >= 2;
    const up = ((y + 1) % 3) * width;
    const mid = ((y + 2) % 3) * width;
    for (let x = 0; x < width; x += 1, i += channels) {
      // Indices are in range (checked above); `!` only quiets noUncheckedIndexedAccess.
      let luma: number;
      if (colour) {
        const r = data[i]!;
        const g = data[i + 1]!;
        const b = data[i + 2]!;
        luma = 299 * r + 587 * g + 114 * b;
        const max = r > g ? (r > b ? r : b) : g > b ? g : b;
        if (max > 0) {
          const min = r < g ? (r < b ? r : b) : g < b ? g : b;
          satSum += (max - min) / max;
        }
      } else {
        luma = 1000 * data[i]!;
      }
      ring[row + x] = luma;
      sum += luma;
      sumSq += luma * luma;
      if (laplacian && x >= 2) {
        const c = mid + x - 1;
        const lap = 4 * ring[c]! - ring[c - 1]! - ring[c + 1]! - ring[up + x - 1]! - ring[row + x - 1]!;
        lapSum += lap;
        lapSumSq += lap * lap;
      }
    }
  }

  const mean = sum / n;
  const variance = Math.max(0, sumSq / n - mean * mean);
  const interior = width >= 3 && height >= 3 ? (width - 2) * (height - 2) : 0;
  let lapVariance = 0;
  if (interior > 0) {
    const lapMean = lapSum / interior;
    lapVariance = Math.max(0, lapSumSq / interior - lapMean * lapMean);
  }
  return {
    brightness: mean / LUMA_SCALE,
    contrast: Math.sqrt(variance) / LUMA_SCALE,
    sharpness: lapVariance / (LUMA_SCALE * LUMA_SCALE),
    saturation: satSum / n,
  };
}
