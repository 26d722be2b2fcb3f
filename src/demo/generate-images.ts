// Seeded procedural image generator: renders SVG figure scenes to JPEG with sharp and writes class-per-folder datasets.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { composeScene, type DemoClass } from './figures.js';
import { createRng, hashString, mixSeed } from './rng.js';

export { DEMO_CLASSES, isDemoClass, type DemoClass } from './figures.js';

/** Options for {@link generateImages}. */
export interface GenerateImagesOptions {
  /** Root folder; images go to `<outDir>/<class>s/`. */
  outDir: string;
  /** Total number of images, split evenly across classes (the first classes get the remainder). */
  count: number;
  /** Seed for the whole set; each image derives its own seed from it, its class and its index. */
  seed: number;
  /** Classes to draw (default `['horse', 'human']`). */
  classes?: DemoClass[];
  /** Image width in pixels (default 320). */
  width?: number;
  /** Image height in pixels (default 240). */
  height?: number;
  /** Maximum JPEG quality (default 85); each image uses a seeded quality in [quality - 15, quality]. */
  quality?: number;
  /** Images rendered at once (default 8; the work is split between libvips threads and a per-pixel pass on the JS thread). */
  concurrency?: number;
}

/** One written image and its class. */
export interface GeneratedImage {
  path: string;
  label: DemoClass;
}

/** Options for {@link renderImage}. */
export interface RenderImageOptions {
  width?: number;
  height?: number;
  quality?: number;
}

const NOISE_TABLE_SIZE = 1024;
let noiseTable: Float32Array | undefined;

/** A fixed table of standard normal samples, built once, so per-pixel noise costs a lookup instead of a Box-Muller. */
function gaussianTable(): Float32Array {
  if (noiseTable) return noiseTable;
  const rng = createRng(0x5eed);
  noiseTable = new Float32Array(NOISE_TABLE_SIZE);
  for (let i = 0; i < NOISE_TABLE_SIZE; i++) noiseTable[i] = rng.gaussian();
  return noiseTable;
}

/** Applies seeded lighting (contrast, brightness ramp across the frame, colour cast) and Gaussian-ish sensor noise to packed RGB pixels in place. */
function applyLightingAndNoise(pixels: Uint8Array, width: number, height: number, seed: number): void {
  const rng = createRng(seed);
  const contrast = rng.range(0.7, 1.25);
  const brightness = rng.range(-35, 35);
  const sigma = rng.chance(0.2) ? 0 : rng.range(2, 16);
  // light falls off linearly across the frame in a random direction, up to +-30 levels end to end
  const ramp = rng.range(0, 30);
  const dir = rng.range(0, 2 * Math.PI);
  const dx = (ramp * Math.cos(dir)) / width;
  const dy = (ramp * Math.sin(dir)) / height;
  // integer LUTs, noise and 8-bit fixed-point light keep the per-pixel loop cheap (it runs on the main thread)
  const luts: Int16Array[] = [0, 1, 2].map(() => {
    const gain = contrast * rng.range(0.9, 1.1);
    const lut = new Int16Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.round((v - 128) * gain + 128 + brightness);
    return lut;
  });
  const [lr, lg, lb] = luts as [Int16Array, Int16Array, Int16Array];
  const base = gaussianTable();
  const table = new Int16Array(NOISE_TABLE_SIZE);
  for (let i = 0; i < NOISE_TABLE_SIZE; i++) table[i] = Math.round((base[i] as number) * sigma);
  const out = new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, width * height * 3);
  const step = Math.round(dx * 256);
  let x = rng.seed() | 1;
  let i = 0;
  for (let row = 0; row < height; row++) {
    let light = Math.round((dy * (row - height / 2) - (dx * width) / 2) * 256);
    for (let col = 0; col < width; col++, i += 3) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const l = light >> 8;
      out[i] = (lr[pixels[i] as number] as number) + l + (table[x & 1023] as number);
      out[i + 1] = (lg[pixels[i + 1] as number] as number) + l + (table[(x >>> 10) & 1023] as number);
      out[i + 2] = (lb[pixels[i + 2] as number] as number) + l + (table[(x >>> 20) & 1023] as number);
      light += step;
    }
  }
}

/** Renders one image to JPEG bytes (used by benchmarks that need images in memory); same label and seed give identical bytes. */
export async function renderImage(label: DemoClass, seed: number, opts: RenderImageOptions = {}): Promise<Buffer> {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const maxQuality = opts.quality ?? 85;
  const rng = createRng(seed);
  const svg = composeScene(label, rng, width, height);
  const quality = Math.max(10, Math.min(100, maxQuality - rng.int(0, 15)));
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`unexpected SVG render ${info.width}x${info.height}x${info.channels}`);
  }
  applyLightingAndNoise(data, width, height, rng.seed());
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality, optimiseCoding: false }).toBuffer();
}

/** Folder name for a class: its plural (`horses`, `humans`, ...), the layout training tools expect. */
export function classFolder(label: DemoClass): string {
  return `${label}s`;
}

/** Seed of one image, derived from the set seed, the class and its index so it is independent of generation order. */
export function imageSeed(seed: number, label: DemoClass, index: number): number {
  return mixSeed(seed, hashString(label), index);
}

/** Writes `count` images split evenly across classes into `<outDir>/<class>s/<class>-<6-digit index>.jpg`; deterministic for a given seed and options; returns them interleaved by class. */
export async function generateImages(opts: GenerateImagesOptions): Promise<GeneratedImage[]> {
  const classes = opts.classes ?? ['horse', 'human'];
  if (classes.length === 0) throw new Error('generateImages: classes must not be empty');
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new Error('generateImages: count must be a non-negative integer');
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const perClass = classes.map((_, i) => Math.floor(opts.count / classes.length) + (i < opts.count % classes.length ? 1 : 0));
  await Promise.all(classes.map((label) => mkdir(join(opts.outDir, classFolder(label)), { recursive: true })));

  const tasks: { label: DemoClass; index: number; path: string }[] = [];
  const most = Math.max(...perClass);
  for (let index = 0; index < most; index++) {
    classes.forEach((label, c) => {
      if (index < (perClass[c] ?? 0)) {
        const name = `${label}-${String(index).padStart(6, '0')}.jpg`;
        tasks.push({ label, index, path: join(opts.outDir, classFolder(label), name) });
      }
    });
  }

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (!task) break;
      const jpeg = await renderImage(task.label, imageSeed(opts.seed, task.label, task.index), opts);
      await writeFile(task.path, jpeg);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return tasks.map(({ path, label }) => ({ path, label }));
}
