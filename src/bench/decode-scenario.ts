/**
 * The `decode` scenario of `centaur bench`: 640×480 camera JPEGs → the model input size, one image
 * at a time (images/s per core), for each path `decode-image` can take — `decoder: sharp` and
 * `decoder: jpeg-turbo`, with and without drift features — and, in the same run, the outside
 * reference a user would otherwise write: Pillow with `draft` (libjpeg-turbo's DCT scaling) and a
 * BILINEAR resize, run by a Python that has Pillow. Runs are interleaved (a noisy moment falls on
 * every path alike) and reported as medians with their spread.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { glob } from 'tinyglobby';
import type { Operator } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { envelopesOf } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import { PACKAGE_ROOT } from '../core/package-info.js';
import { loadScaledJpegDecoder } from '../images/jpeg-scaled.js';
import { componentByKind } from '../topology/registry.js';
import { benchImages } from './bench-images.js';
import { summarize } from './figures.js';
import type { Figures } from './figures.js';

/** What to measure. */
export interface DecodeBenchOptions {
  readonly images: number;
  readonly runs: number;
  /** The model input size. */
  readonly size: number;
  /** A Python with Pillow for the reference; none: the reference is reported as skipped. */
  readonly python?: string;
  /** Where the generated images are cached. */
  readonly cacheDir: string;
  readonly logger: Logger;
  /** Told after each measurement (for a progress line). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** One measured path. */
export interface DecodePath extends Figures {
  readonly name: string;
  /** Median over the reference's median; null without a reference. */
  readonly ofReference: number | null;
}

/** The scenario's result, as `--json` writes it. */
export interface DecodeBenchResult {
  readonly scenario: 'decode';
  readonly images: number;
  readonly runs: number;
  readonly input: string;
  readonly paths: readonly DecodePath[];
  readonly reference: (Figures & { readonly name: string }) | { readonly name: string; readonly skipped: string };
  /** How far `decoder: jpeg-turbo`'s pixels are from `decoder: sharp`'s on the same images (null: the addon is not built). */
  readonly pixelDifference: PixelDifference | null;
}

/** Absolute differences of two decoders' 8-bit pixel values over every channel of every image. */
export interface PixelDifference {
  readonly max: number;
  readonly mean: number;
  /** Share of values that differ at all. */
  readonly differing: number;
}

/** The reference script, shipped with the package. */
const PILLOW_SCRIPT = path.join(PACKAGE_ROOT, 'bench', 'python', 'pillow_decode.py');

/** Runs the decode scenario. */
export async function runDecodeBench(o: DecodeBenchOptions): Promise<DecodeBenchResult> {
  const files = (await glob('**/*.jpg', { cwd: await benchImages(o.images, o.cacheDir), absolute: true })).sort().slice(0, o.images);
  const blobs = await Promise.all(files.map((f) => readFile(f)));
  const paths: { name: string; options: Record<string, unknown> }[] = [
    { name: 'decode-image, decoder: sharp', options: { decoder: 'sharp' } },
    { name: 'decode-image, decoder: sharp, features: false', options: { decoder: 'sharp', features: false } },
  ];
  if (!('missing' in loadScaledJpegDecoder())) {
    paths.push(
      { name: 'decode-image, decoder: jpeg-turbo', options: { decoder: 'jpeg-turbo' } },
      { name: 'decode-image, decoder: jpeg-turbo, features: false', options: { decoder: 'jpeg-turbo', features: false } },
    );
  }
  const rates = paths.map(() => [] as number[]);
  for (let run = 0; run < o.runs; run += 1) {
    for (const [i, p] of paths.entries()) {
      rates[i]?.push(await decodeRate(blobs, { ...p.options, size: [o.size, o.size] }, o.logger));
      o.onProgress?.(run * paths.length + i + 1, o.runs * paths.length);
    }
  }
  const reference = await pillowReference(o, files);
  const pixelDifference = paths.some((p) => p.options.decoder === 'jpeg-turbo') ? await decoderDifference(blobs, o.size, o.logger) : null;
  const referenceMedian = 'skipped' in reference ? null : reference.median;
  return {
    scenario: 'decode',
    images: blobs.length,
    runs: o.runs,
    input: `640×480 JPEG (q80) → ${o.size}×${o.size}, one image at a time`,
    paths: paths.map((p, i) => {
      const figures = summarize(rates[i] ?? []);
      return { name: p.name, ...figures, ofReference: referenceMedian === null ? null : figures.median / referenceMedian };
    }),
    reference,
    pixelDifference,
  };
}

/** Decodes every image with both decoders and compares the tensors value by value. */
async function decoderDifference(blobs: readonly Buffer[], size: number, logger: Logger): Promise<PixelDifference> {
  const options = { size: [size, size], features: false };
  const sharp = await decodeAll(blobs, { ...options, decoder: 'sharp' }, logger);
  const turbo = await decodeAll(blobs, { ...options, decoder: 'jpeg-turbo' }, logger);
  let max = 0;
  let sum = 0;
  let differing = 0;
  let values = 0;
  for (const [i, a] of sharp.entries()) {
    const x = a.tensor?.data;
    const y = turbo[i]?.tensor?.data;
    if (x === undefined || y === undefined || x.length !== y.length) throw new Error(`image ${i}: the decoders gave tensors of different shapes`);
    for (let j = 0; j < x.length; j += 1) {
      const d = Math.abs((x[j] as number) - (y[j] as number));
      if (d > max) max = d;
      if (d !== 0) differing += 1;
      sum += d;
    }
    values += x.length;
  }
  return { max, mean: sum / values, differing: differing / values };
}

/** An envelope carrying one benchmark image, as a source would emit it. */
export function benchEnvelope(bytes: Buffer, i: number): Envelope {
  return {
    id: String(i),
    eventTime: 0,
    position: { source: 'bench', partition: '0', offset: i },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

/** A decode-image node from the registry, its options' defaults filled in as a topology's are. */
export async function createDecodeNode(options: Record<string, unknown>, logger: Logger): Promise<Operator> {
  const spec = componentByKind('decode-image');
  if (spec?.role !== 'operator') throw new Error('decode-image is not registered');
  return spec.create(Value.Default(spec.options, { ...options }) as never, { nodeId: 'decode', topologyName: 'bench', baseDir: '.', logger });
}

/** Images/s of a decode-image node with these options, one image at a time. */
export async function decodeRate(blobs: readonly Buffer[], options: Record<string, unknown>, logger: Logger): Promise<number> {
  const operator = await createDecodeNode({ ...options, concurrency: 1 }, logger);
  try {
    const started = performance.now();
    await decodeThrough(operator, blobs);
    return blobs.length / ((performance.now() - started) / 1000);
  } finally {
    await operator.close?.();
  }
}

/** The envelopes of every image decoded by a decode-image node with these options. */
export async function decodeAll(blobs: readonly Buffer[], options: Record<string, unknown>, logger: Logger): Promise<Envelope[]> {
  const operator = await createDecodeNode(options, logger);
  try {
    return await decodeThrough(operator, blobs);
  } finally {
    await operator.close?.();
  }
}

/** Every image through `operator`; throws if any of them failed. */
async function decodeThrough(operator: Operator, blobs: readonly Buffer[]): Promise<Envelope[]> {
  let failed = 0;
  const items = blobs.map((b, i): Item => benchEnvelope(b, i));
  const out = (await lastValueFrom(operator.apply(from(items), { nodeId: 'decode', scheduler: asyncScheduler, fail: () => (failed += 1) }).pipe(toArray()))).flatMap(envelopesOf);
  if (failed > 0 || out.length !== blobs.length) throw new Error(`decode-image failed ${failed} of ${blobs.length} benchmark images`);
  return out;
}

/** Images/s of Pillow draft + BILINEAR to `size`², one figure per run (bench/python/pillow_decode.py). */
export async function pillowRates(python: string, size: number, runs: number, files: readonly string[]): Promise<number[]> {
  const { stdout } = await promisify(execFile)(python, [PILLOW_SCRIPT, String(size), String(runs), ...files], { maxBuffer: 1 << 20 });
  return (JSON.parse(stdout) as { imagesPerSecond: number[] }).imagesPerSecond;
}

/** Pillow draft + BILINEAR, or why it could not run. */
async function pillowReference(o: DecodeBenchOptions, files: readonly string[]): Promise<DecodeBenchResult['reference']> {
  const name = 'Pillow draft + BILINEAR (reference)';
  if (o.python === undefined) return { name, skipped: 'no Python with Pillow: run bench/setup-python.sh or pass --python' };
  try {
    return { name, ...summarize(await pillowRates(o.python, o.size, o.runs, files)) };
  } catch (error) {
    return { name, skipped: `${o.python}: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}
