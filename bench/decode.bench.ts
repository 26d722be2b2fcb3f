/**
 * Decode per core: 640×480 camera JPEGs → 224×224 RGB, one image at a time, in one process, for
 * each path `decode-image` can take — `decoder: sharp` (libvips, full-size decode) and `decoder:
 * jpeg-turbo` (libjpeg-turbo in the DCT domain, then sharp's resize), each with and without the
 * drift features — and the libjpeg-turbo addon alone. In the same run, the outside reference:
 * Pillow with draft mode (libjpeg-turbo's DCT scaling) and a bilinear resize, from the Python named
 * by CENTAUR_BENCH_PYTHON (default: .cache/bench/venv from bench/setup-python.sh). Medians of several runs, with the
 * spread. Usage: npm run bench:decode -- [--images 300] [--runs 5]
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { glob } from 'tinyglobby';
import { Value } from '@sinclair/typebox/value';
import type { Envelope, Item } from '../src/core/envelope.js';
import { envelopesOf } from '../src/core/envelope.js';
import { createLogger } from '../src/core/logger.js';
import { JPEG_FIT, loadScaledJpegDecoder } from '../src/images/jpeg-scaled.js';
import { decodeImage, DecodeImageOptions } from '../src/operators/decode-image.js';
import { benchImages } from './bench-images.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '300' }, runs: { type: 'string', default: '5' } } });
const count = Number(values.images);
const runs = Number(values.runs);
const files = (await glob('**/*.jpg', { cwd: await benchImages(count), absolute: true })).sort().slice(0, count);
const blobs = await Promise.all(files.map((f) => readFile(f)));
const logger = createLogger('warn');

function envelope(bytes: Buffer, i: number): Envelope {
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

/** Images/s of decode-image with these options, one image at a time. */
async function operatorRate(options: Record<string, unknown>): Promise<number> {
  const filled = Value.Default(DecodeImageOptions, { ...options, concurrency: 1 }) as DecodeImageOptions;
  const operator = await decodeImage.create(filled, { nodeId: 'decode', topologyName: 'bench', baseDir: '.', logger });
  let failed = 0;
  const started = performance.now();
  const out = await lastValueFrom(
    operator.apply(from(blobs.map((b, i): Item => envelope(b, i))), { nodeId: 'decode', scheduler: asyncScheduler, fail: () => (failed += 1) }).pipe(toArray()),
  );
  const seconds = (performance.now() - started) / 1000;
  if (failed > 0 || out.flatMap(envelopesOf).length !== blobs.length) throw new Error(`${failed} of ${blobs.length} failed`);
  return blobs.length / seconds;
}

/** Images/s of the addon alone (decode at the covering scale, no resize). */
async function addonRate(): Promise<number> {
  const turbo = loadScaledJpegDecoder();
  if ('missing' in turbo) throw new Error(turbo.missing);
  const started = performance.now();
  for (const b of blobs) await turbo.decode(b, 224, 224, JPEG_FIT.none, 1e9, false);
  return blobs.length / ((performance.now() - started) / 1000);
}

async function pillowRates(): Promise<number[] | string> {
  const python = process.env.CENTAUR_BENCH_PYTHON ?? '.cache/bench/venv/bin/python';
  try {
    const { stdout } = await promisify(execFile)(python, ['bench/python/pillow_decode.py', '224', String(runs), ...files], { maxBuffer: 1 << 20 });
    return (JSON.parse(stdout) as { imagesPerSecond: number[] }).imagesPerSecond;
  } catch (error) {
    return `skipped (${(error as Error).message.split('\n')[0] ?? ''}); run bench/setup-python.sh, or set CENTAUR_BENCH_PYTHON to a Python with Pillow`;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const paths: { name: string; measure: () => Promise<number> }[] = [
  { name: 'decode-image, decoder: sharp', measure: () => operatorRate({ decoder: 'sharp' }) },
  { name: 'decode-image, decoder: sharp, features: false', measure: () => operatorRate({ decoder: 'sharp', features: false }) },
  { name: 'decode-image, decoder: jpeg-turbo', measure: () => operatorRate({ decoder: 'jpeg-turbo' }) },
  { name: 'decode-image, decoder: jpeg-turbo, features: false', measure: () => operatorRate({ decoder: 'jpeg-turbo', features: false }) },
  { name: 'libjpeg-turbo addon alone (scaled decode, no resize)', measure: addonRate },
];
const rows: { name: string; rates: number[] }[] = paths.map((p) => ({ name: p.name, rates: [] }));
// Interleaved runs, so a noisy moment falls on every path alike.
for (let run = 0; run < runs; run += 1) for (const [i, p] of paths.entries()) rows[i]?.rates.push(await p.measure());
const pillow = await pillowRates();
const reference = typeof pillow === 'string' ? null : median(pillow);
const lines = [`${blobs.length} images 640×480 → 224×224, one at a time (per core), ${runs} runs: median images/s [min–max]`];
for (const r of rows) {
  const m = median(r.rates);
  lines.push(`  ${r.name.padEnd(56)} ${m.toFixed(0).padStart(5)} [${Math.min(...r.rates).toFixed(0)}–${Math.max(...r.rates).toFixed(0)}]${reference === null ? '' : `  ${(m / reference).toFixed(2)}× Pillow draft`}`);
}
lines.push(typeof pillow === 'string' ? `  Pillow draft + bilinear: ${pillow}` : `  ${'Pillow draft + bilinear (reference)'.padEnd(56)} ${median(pillow).toFixed(0).padStart(5)} [${Math.min(...pillow).toFixed(0)}–${Math.max(...pillow).toFixed(0)}]`);
process.stdout.write(`${lines.join('\n')}\n`);
