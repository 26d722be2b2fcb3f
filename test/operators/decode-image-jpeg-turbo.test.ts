/**
 * `decode-image` with `decoder: jpeg-turbo`: camera JPEGs are decoded by libjpeg-turbo in the DCT
 * domain and resized by sharp; everything the fast path does not take as it is goes the sharp way
 * and comes out exactly as with `decoder: sharp`. The pixels of the fast path differ slightly from
 * sharp's full-size decode; the figures are bounded here (and printed) so a change shows. Needs the
 * optional addon `centaur-jpeg-scaled` (built where libturbojpeg0-dev is installed; CI installs it,
 * so there a missing addon fails rather than skips).
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import sharp from 'sharp';
import type { Envelope } from '../../src/core/envelope.js';
import { envelopesOf } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { renderImage } from '../../src/demo/generate-images.js';
import { computeImageFeatures } from '../../src/images/image-features.js';
import { JPEG_FIT, loadScaledJpegDecoder } from '../../src/images/jpeg-scaled.js';
import { decodeImage, DecodeImageOptions } from '../../src/operators/decode-image.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

const addon = loadScaledJpegDecoder();

function available(t: TestContext): boolean {
  if (!('missing' in addon)) return true;
  if (process.env.CI === 'true') assert.fail(`the addon centaur-jpeg-scaled is not built in CI: ${addon.missing}`);
  t.skip(`centaur-jpeg-scaled not built (${addon.missing}); install libturbojpeg0-dev and npm rebuild centaur-jpeg-scaled`);
  return false;
}

function envelope(bytes: Buffer, i: number): Envelope {
  return {
    id: `e${i}`,
    eventTime: 0,
    position: { source: 's', partition: '0', offset: i },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

/** Decodes every input with these options; the tensors, or the failures' codes. */
async function decode(inputs: readonly Buffer[], overrides: Record<string, unknown>): Promise<{ tensors: Uint8Array[]; images: (Envelope['image'] | undefined)[]; failed: string[] }> {
  const operator = await decodeImage.create(Value.Default(DecodeImageOptions, { ...overrides }) as DecodeImageOptions, { nodeId: 'decode', topologyName: 't', baseDir: '.', logger: undefined as never });
  const failed: string[] = [];
  const out = await lastValueFrom(
    operator.apply(from(inputs.map((b, i) => envelope(b, i))), { nodeId: 'decode', scheduler: asyncScheduler, fail: (_e, error) => failed.push(error instanceof CentaurError ? error.code : String(error)) }).pipe(toArray()),
  );
  const envelopes = out.flatMap(envelopesOf);
  return { tensors: envelopes.map((e) => e.tensor?.data ?? new Uint8Array()), images: envelopes.map((e) => e.image), failed };
}

/** Mean and largest absolute difference per channel value. */
function difference(a: readonly Uint8Array[], b: readonly Uint8Array[]): { mean: number; max: number } {
  let sum = 0;
  let n = 0;
  let max = 0;
  for (const [i, x] of a.entries()) {
    const y = b[i] as Uint8Array;
    assert.equal(x.length, y.length);
    for (let j = 0; j < x.length; j += 1) {
      const d = Math.abs((x[j] as number) - (y[j] as number));
      sum += d;
      n += 1;
      if (d > max) max = d;
    }
  }
  return { mean: sum / n, max };
}

test('640×480 camera frames: decoded at a DCT scale, within a small distance of the full-size decode', async (t) => {
  if (!available(t)) return;
  const frames = await Promise.all(Array.from({ length: 12 }, (_, i) => renderImage(i % 2 === 0 ? 'horse' : 'human', 900 + i, { width: 640, height: 480, quality: 80 })));
  const scaled = await Promise.all(frames.map((f) => (addon as Exclude<typeof addon, { missing: string }>).decode(f, 224, 224, JPEG_FIT.none, 1e9, false)));
  // 640×480 → 224×224: 1/4 gives 160×120 (too small), 1/2 gives 320×240, the smallest that covers.
  assert.deepEqual([...new Set(scaled.map((s) => `${s.width}×${s.height} ${s.scaleNum}/${s.scaleDenom}`))], ['320×240 1/2']);
  for (const fit of ['fill', 'cover']) {
    const viaSharp = await decode(frames, { decoder: 'sharp', fit });
    const viaTurbo = await decode(frames, { decoder: 'jpeg-turbo', fit });
    assert.deepEqual([viaSharp.failed, viaTurbo.failed], [[], []]);
    const d = difference(viaSharp.tensors, viaTurbo.tensors);
    t.diagnostic(`fit ${fit}: mean |Δ| ${d.mean.toFixed(2)}, max |Δ| ${d.max} (of 255) against decoder sharp`);
    assert.ok(d.mean < 3, `mean difference ${d.mean}`);
    assert.ok(d.mean > 0, 'the fast path really ran (a full-size decode would match exactly)');
  }
});

test('what the fast path does not take comes out exactly as with decoder: sharp', async (t) => {
  if (!available(t)) return;
  const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 30, g: 140, b: 200 } } })
    .composite([{ input: await sharp({ create: { width: 200, height: 120, channels: 3, background: { r: 250, g: 200, b: 10 } } }).png().toBuffer(), left: 40, top: 60 }])
    .jpeg({ quality: 85 })
    .toBuffer();
  const inputs = [
    await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer(), // EXIF rotation
    await sharp(photo).withIccProfile('p3').jpeg().toBuffer(), // an ICC profile to convert from
    await sharp(photo).toColourspace('cmyk').jpeg().toBuffer(), // CMYK
    await sharp(photo).png().toBuffer(), // not a JPEG
  ];
  const viaSharp = await decode(inputs, { decoder: 'sharp' });
  const viaTurbo = await decode(inputs, { decoder: 'jpeg-turbo' });
  assert.deepEqual([viaSharp.failed, viaTurbo.failed], [[], []]);
  for (const [i, tensor] of viaTurbo.tensors.entries()) assert.ok(Buffer.from(tensor).equals(Buffer.from(viaSharp.tensors[i] as Uint8Array)), `input ${i} differs`);
  // A fit that does not need the image to cover `size` goes the sharp way too.
  const contain = await decode([photo], { decoder: 'jpeg-turbo', fit: 'contain' });
  assert.ok(Buffer.from(contain.tensors[0] as Uint8Array).equals(Buffer.from((await decode([photo], { decoder: 'sharp', fit: 'contain' })).tensors[0] as Uint8Array)));
});

test('a truncated JPEG is judged as decoder: sharp judges it (a dead letter), not decoded with a grey tail', async (t) => {
  if (!available(t)) return;
  const frame = await renderImage('horse', 7, { width: 640, height: 480, quality: 80 });
  const truncated = frame.subarray(0, Math.floor(frame.length * 0.6));
  assert.deepEqual((await decode([truncated], { decoder: 'jpeg-turbo' })).failed, (await decode([truncated], { decoder: 'sharp' })).failed);
  assert.deepEqual((await decode([truncated], { decoder: 'jpeg-turbo' })).failed, ['IMAGE_DECODE_FAILED']);
});

/** Pillow's draft + BILINEAR (fill) and ImageOps.fit with BILINEAR (cover), the way Python training code prepares images. */
const PILLOW = `
import sys
from PIL import Image, ImageOps
out, fit, files = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "wb") as o:
    for f in files:
        im = Image.open(f)
        im.draft("RGB", (224, 224))
        im = im.convert("RGB")
        im = im.resize((224, 224), Image.BILINEAR) if fit == "fill" else ImageOps.fit(im, (224, 224), Image.BILINEAR)
        o.write(im.tobytes())
`;

test('the jpeg-turbo path gives exactly the bytes of Pillow draft + BILINEAR, so Python training code can prepare images as serving does', async (t) => {
  if (!available(t) || !(await requirePytools(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-jpeg-turbo-pillow-'));
  // Camera-sized frames, and sizes whose scaled decode rounds (odd sides) or needs no scaling.
  const sizes: [number, number][] = [[640, 480], [1280, 720], [641, 479], [300, 260]];
  const files: string[] = [];
  for (const [i, [width, height]] of sizes.entries()) {
    const file = path.join(dir, `f${i}.jpg`);
    await writeFile(file, await renderImage(i % 2 === 0 ? 'horse' : 'human', 40 + i, { width, height, quality: 85 }));
    files.push(file);
  }
  const inputs = await Promise.all(files.map((f) => readFile(f)));
  for (const fit of ['fill', 'cover']) {
    await runPython(PILLOW, [path.join(dir, `${fit}.bin`), fit, ...files]);
    const pillow = await readFile(path.join(dir, `${fit}.bin`));
    const ours = await decode(inputs, { decoder: 'jpeg-turbo', fit });
    assert.deepEqual(ours.failed, []);
    for (const [i, tensor] of ours.tensors.entries()) {
      const reference = pillow.subarray(i * 224 * 224 * 3, (i + 1) * 224 * 224 * 3);
      const d = difference([tensor], [new Uint8Array(reference)]);
      assert.deepEqual(d, { mean: 0, max: 0 }, `${fit} ${sizes[i]?.join('×') ?? ''}: differs from Pillow (mean ${d.mean}, max ${d.max})`);
    }
  }
});

test('the drift features the addon computes off the main thread are exactly those of computeImageFeatures', async (t) => {
  if (!available(t)) return;
  const frames = await Promise.all(Array.from({ length: 8 }, (_, i) => renderImage(i % 2 === 0 ? 'horse' : 'human', 300 + i, { width: 640, height: 480, quality: 75 })));
  const grey = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
  const inputs = [...frames, grey];
  for (const fit of ['fill', 'cover']) {
    const { tensors, images, failed } = await decode(inputs, { decoder: 'jpeg-turbo', fit });
    assert.deepEqual(failed, []);
    for (const [i, tensor] of tensors.entries()) {
      const image = images[i];
      assert.ok(image !== undefined);
      assert.deepEqual(
        { brightness: image.brightness, contrast: image.contrast, sharpness: image.sharpness, saturation: image.saturation },
        computeImageFeatures(tensor, 224, 224, 3),
      );
      assert.deepEqual([image.width, image.height, image.format], [640, 480, 'jpeg'], 'the size and format of the image as it arrived');
    }
  }
});

test('the jpeg-turbo path checks maxPixels from the header: an image over it is a dead letter, as with decoder: sharp', async (t) => {
  if (!available(t)) return;
  const frame = await renderImage('human', 11, { width: 640, height: 480, quality: 80 });
  const viaTurbo = await decode([frame], { decoder: 'jpeg-turbo', maxPixels: 640 * 480 - 1 });
  const viaSharp = await decode([frame], { decoder: 'sharp', maxPixels: 640 * 480 - 1 });
  assert.deepEqual([viaTurbo.failed, viaSharp.failed], [['IMAGE_TOO_MANY_PIXELS'], ['IMAGE_TOO_MANY_PIXELS']]);
  assert.deepEqual((await decode([frame], { decoder: 'jpeg-turbo', maxPixels: 640 * 480 })).failed, [], 'exactly at the limit is accepted');
});
