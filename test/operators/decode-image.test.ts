import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { OperatorContext } from '../../src/core/component.js';
import type { Envelope, Item, Payload } from '../../src/core/envelope.js';
import { isBatch } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { decodeImage, DecodeImageOptions } from '../../src/operators/decode-image.js';

const createContext = {
  nodeId: 'decode',
  topologyName: 'test',
  baseDir: '.',
  logger: undefined as never,
};

let nextOffset = 0;

/** An envelope as the runtime would build it, carrying `bytes` (or a reference). */
function envelope(payload: Buffer | Payload, id = `e${nextOffset}`): Envelope {
  const offset = nextOffset;
  nextOffset += 1;
  const p: Payload = Buffer.isBuffer(payload) ? { kind: 'bytes', bytes: payload } : payload;
  return {
    id,
    eventTime: 0,
    position: { source: 'files', partition: '0', offset },
    payload: p,
    sizeBytes: p.kind === 'bytes' ? p.bytes.length : 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

/** Options as the runtime passes them: schema defaults filled in, then `overrides`. */
function options(overrides: Partial<DecodeImageOptions> = {}): DecodeImageOptions {
  const filled = Value.Default(DecodeImageOptions, { ...overrides }) as DecodeImageOptions;
  assert.ok(Value.Check(DecodeImageOptions, filled), 'options must validate against the schema');
  return filled;
}

interface Failure {
  readonly id: string;
  readonly error: unknown;
}

/** Runs envelopes through a decode-image operator; returns what came out and what failed. */
async function run(inputs: Envelope[], overrides: Partial<DecodeImageOptions> = {}): Promise<{ out: Envelope[]; failures: Failure[] }> {
  const failures: Failure[] = [];
  const ctx: OperatorContext = {
    nodeId: 'decode',
    fail: (env, error) => failures.push({ id: env.id, error }),
    scheduler: asyncScheduler,
  };
  const operator = await decodeImage.create(options(overrides), createContext);
  assert.equal(operator.accepts, 'envelope');
  const items: Item[] = await lastValueFrom(operator.apply(from(inputs), ctx).pipe(toArray()));
  await operator.close?.();
  return { out: items.map((item) => (isBatch(item) ? assert.fail('unexpected batch') : item)), failures };
}

/** Decodes exactly one envelope that must succeed. */
async function decodeOne(bytes: Buffer, overrides: Partial<DecodeImageOptions> = {}): Promise<Envelope> {
  const { out, failures } = await run([envelope(bytes)], overrides);
  assert.deepEqual(failures, []);
  const [result] = out;
  assert.ok(result !== undefined);
  return result;
}

/** An RGB raw image where `paint(x, y)` gives each pixel's colour. */
function rawImage(width: number, height: number, paint: (x: number, y: number) => readonly [number, number, number]): Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) data.set(paint(x, y), (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

const RED = [255, 0, 0] as const;
const BLUE = [0, 0, 255] as const;

/** Left half red, right half blue. */
const halves = (width: number, height: number): Sharp => rawImage(width, height, (x) => (x < width / 2 ? RED : BLUE));

/** A noisy colourful JPEG, like a photo. */
async function photoJpeg(width: number, height: number): Promise<Buffer> {
  return rawImage(width, height, (x, y) => [(x * 7 + y * 3) % 256, (x * y) % 256, (x * 13 + y * 29) % 256])
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The RGB pixel at (x, y) of a decoded tensor. */
function pixel(env: Envelope, x: number, y: number): number[] {
  const t = env.tensor;
  assert.ok(t !== undefined);
  const i = (y * t.width + x) * t.channels;
  return [...t.data.subarray(i, i + 3)];
}

/** Asserts that a colour is close to the expected one (JPEG is lossy). */
function assertColour(actual: number[], expected: readonly number[], tolerance = 40): void {
  assert.ok(
    actual.every((v, i) => Math.abs(v - (expected[i] ?? 0)) <= tolerance),
    `expected ${JSON.stringify(actual)} ≈ ${JSON.stringify(expected)}`,
  );
}

/** Asserts the standard 224×224×3 uint8 tensor. */
function assertTensor(env: Envelope, width = 224, height = 224): void {
  const t = env.tensor;
  assert.ok(t !== undefined, 'tensor set');
  assert.equal(t.width, width);
  assert.equal(t.height, height);
  assert.equal(t.channels, 3);
  assert.ok(t.data instanceof Uint8Array);
  assert.equal(t.data.length, width * height * 3);
}

/** A tiny valid PNG whose header claims `width`×`height` pixels (a decompression bomb). */
async function bombPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer());
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** Asserts a failure's code. */
function assertCode(failure: Failure | undefined, code: ErrorCode): CentaurError {
  assert.ok(failure !== undefined);
  assert.ok(failure.error instanceof CentaurError, `not a CentaurError: ${String(failure.error)}`);
  assert.equal(failure.error.code, code, failure.error.message);
  return failure.error;
}

void test('the spec is a beta operator with schema defaults for every option', () => {
  assert.equal(decodeImage.kind, 'decode-image');
  assert.equal(decodeImage.role, 'operator');
  assert.equal(decodeImage.stability, 'beta');
  assert.deepEqual(options(), {
    size: [224, 224],
    fit: 'fill',
    kernel: 'linear',
    background: [0, 0, 0],
    scale: 'unit',
    formats: ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'],
    maxInputBytes: 20_971_520,
    maxPixels: 40_000_000,
    concurrency: 16,
    decoder: 'sharp',
    features: true,
  });
  for (const [name, field] of Object.entries(DecodeImageOptions.properties)) {
    assert.equal(typeof field.description, 'string', `${name} has a description`);
  }
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), extra: 1 }), false, 'unknown fields are rejected');
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), size: [0, 224] }), false);
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), concurrency: 65 }), false);
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), formats: [] }), false, 'at least one format');
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), formats: ['png', 'png'] }), false, 'formats are unique');
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), formats: ['svg'] }), false, 'only raster formats');
  assert.equal(Value.Check(DecodeImageOptions, { ...options(), formats: ['png'] }), true);
});

void test('decodes a JPEG to a 224×224×3 uint8 tensor with features, timing and size', async () => {
  const bytes = await photoJpeg(640, 480);
  const env = await decodeOne(bytes);
  assertTensor(env);
  assert.equal(env.tensor?.scale, 'unit');
  assert.equal(env.sizeBytes, bytes.length + 224 * 224 * 3);
  assert.equal(typeof env.timings.decode, 'number');
  assert.ok((env.timings.decode ?? -1) >= 0);
  const image = env.image;
  assert.ok(image !== undefined);
  assert.equal(image.width, 640);
  assert.equal(image.height, 480);
  assert.equal(image.format, 'jpeg');
  assert.ok(image.brightness > 0 && image.brightness < 1);
  assert.ok(image.contrast > 0);
  assert.ok(image.sharpness > 0);
});

void test('decodes a PNG, records the scale, and skips features when asked', async () => {
  const bytes = await halves(300, 200).png().toBuffer();
  const env = await decodeOne(bytes, { scale: 'symmetric', features: false });
  assertTensor(env);
  assert.equal(env.tensor?.scale, 'symmetric');
  assert.equal(env.image, undefined);
  assert.deepEqual(pixel(env, 10, 100), [...RED]);
  assert.deepEqual(pixel(env, 213, 100), [...BLUE]);
});

void test('honours EXIF orientation: sizes are reported rotated and pixels are rotated', async () => {
  // 64×32, left red / right blue, tagged "rotate 90° clockwise to display".
  const bytes = await halves(64, 32).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const env = await decodeOne(bytes, { size: [32, 64] });
  assert.equal(env.image?.width, 32);
  assert.equal(env.image?.height, 64);
  assertTensor(env, 32, 64);
  // Rotated clockwise, the left (red) half is now on top and the right (blue) half at the bottom.
  assertColour(pixel(env, 16, 8), RED);
  assertColour(pixel(env, 16, 56), BLUE);
  // Unrotated (stretched) output would have blue at the top right and red at the bottom left.
  assertColour(pixel(env, 30, 8), RED);
  assertColour(pixel(env, 2, 56), BLUE);
});

void test('a PNG with alpha and a greyscale PNG both become three channels', async () => {
  const rgba = await sharp({ create: { width: 50, height: 40, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer();
  assert.equal((await sharp(rgba).metadata()).channels, 4);
  const fromRgba = await decodeOne(rgba);
  assertTensor(fromRgba);
  assertColour(pixel(fromRgba, 100, 100), [10, 200, 30], 2);

  const grey = await sharp(Buffer.alloc(60 * 30, 90), { raw: { width: 60, height: 30, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  const fromGrey = await decodeOne(grey);
  assertTensor(fromGrey);
  assert.deepEqual(pixel(fromGrey, 0, 0), [90, 90, 90]);
  assert.ok(Math.abs((fromGrey.image?.brightness ?? -1) - 90 / 255) < 1e-6);
  assert.ok((fromGrey.image?.contrast ?? -1) < 1e-9);
});

void test('fit: fill stretches the whole image, cover crops the centre, contain letterboxes', async () => {
  // 400×100: red | blue | blue | red in quarters; the middle half is blue.
  const bytes = await rawImage(400, 100, (x) => (x < 100 || x >= 300 ? RED : BLUE))
    .png()
    .toBuffer();
  const fill = await decodeOne(bytes, { size: [100, 100], fit: 'fill' });
  assertColour(pixel(fill, 5, 50), RED, 2);
  assertColour(pixel(fill, 50, 50), BLUE, 2);
  assertColour(pixel(fill, 95, 50), RED, 2);

  const cover = await decodeOne(bytes, { size: [100, 100], fit: 'cover' });
  // The centre 100×100 crop of the source is all blue.
  assertColour(pixel(cover, 2, 50), BLUE, 2);
  assertColour(pixel(cover, 97, 50), BLUE, 2);

  const contain = await decodeOne(bytes, { size: [100, 100], fit: 'contain', background: [0, 255, 0] });
  // The image is 100×25 in the middle; bars of background above and below.
  assertColour(pixel(contain, 50, 5), [0, 255, 0], 2);
  assertColour(pixel(contain, 50, 95), [0, 255, 0], 2);
  assertColour(pixel(contain, 50, 50), BLUE, 2);
  assertColour(pixel(contain, 5, 50), RED, 2);
  for (const env of [fill, cover, contain]) assertTensor(env, 100, 100);
});

void test('every failure class is dead-lettered with its code while the other envelopes come out in order', async () => {
  const jpeg = await photoJpeg(320, 240);
  const png = await halves(64, 64).png().toBuffer();
  const big = await photoJpeg(400, 400);
  const inputs = [
    envelope(jpeg, 'ok-1'),
    envelope(big, 'too-large'),
    envelope(png, 'ok-2'),
    envelope(await bombPng(30000, 30000), 'bomb'),
    envelope(Buffer.from('definitely not an image, just some text'), 'corrupt'),
    envelope(jpeg, 'ok-3'),
    envelope(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'truncated'),
    envelope({ kind: 'reference', uri: 's3://bucket/cat.jpg' }, 'reference'),
    envelope(Buffer.alloc(0), 'empty'),
    envelope(png, 'ok-4'),
  ];
  const maxInputBytes = Math.max(jpeg.length, png.length) + 1;
  assert.ok(big.length > maxInputBytes);
  const { out, failures } = await run(inputs, { maxInputBytes, concurrency: 3 });

  assert.deepEqual(
    out.map((e) => e.id),
    ['ok-1', 'ok-2', 'ok-3', 'ok-4'],
  );
  for (const env of out) assertTensor(env);
  assert.deepEqual(
    failures.map((f) => f.id),
    ['too-large', 'bomb', 'corrupt', 'truncated', 'reference', 'empty'],
  );
  const byId = new Map(failures.map((f) => [f.id, f]));

  const tooLarge = assertCode(byId.get('too-large'), 'IMAGE_TOO_LARGE');
  assert.match(tooLarge.message, new RegExp(`${big.length}.*${maxInputBytes}`));
  const bomb = assertCode(byId.get('bomb'), 'IMAGE_TOO_MANY_PIXELS');
  assert.match(bomb.message, /30000×30000/);
  assert.match(bomb.message, /40000000/);
  // Text is no image format: refused from its bytes before sharp sees it.
  const corrupt = assertCode(byId.get('corrupt'), 'IMAGE_FORMAT_REFUSED');
  assert.match(corrupt.message, /^unrecognised image format/);
  const truncated = assertCode(byId.get('truncated'), 'IMAGE_DECODE_FAILED');
  assert.ok(truncated.cause instanceof Error);
  // libvips keeps its error text per thread; with several decodes at once it is sometimes lost
  // ("Unknown error"), so only the code is reliable here.
  assert.match(truncated.message, /^cannot decode image: /);
  const reference = assertCode(byId.get('reference'), 'IMAGE_DECODE_FAILED');
  assert.equal(reference.message, 'payload is a reference (uri); add fetch-object before decode-image');
  assertCode(byId.get('empty'), 'IMAGE_FORMAT_REFUSED');

  for (const id of ['too-large', 'bomb', 'corrupt', 'truncated', 'reference', 'empty']) {
    const env = inputs.find((e) => e.id === id);
    assert.equal(env?.tensor, undefined, `${id} got no tensor`);
  }
});

void test('an image just over maxPixels is rejected; one at the limit decodes', async () => {
  const bytes = await halves(100, 50).png().toBuffer();
  const { out, failures } = await run([envelope(bytes, 'over'), envelope(bytes, 'again')], { maxPixels: 4999 });
  assert.deepEqual(out, []);
  assert.deepEqual(
    failures.map((f) => f.id),
    ['over', 'again'],
  );
  assertCode(failures[0], 'IMAGE_TOO_MANY_PIXELS');
  assertTensor(await decodeOne(bytes, { maxPixels: 5000 }));
});

void test('keeps input order with concurrency 1 and with more images than the concurrency', async () => {
  const sizes = [900, 30, 500, 40, 700, 20, 300, 60];
  const inputs = await Promise.all(
    sizes.map(async (w, i) => envelope(await rawImage(w, 40, () => [i * 30, 0, 0]).png().toBuffer(), `img-${i}`)),
  );
  for (const concurrency of [1, 4]) {
    const { out, failures } = await run(inputs.map((e) => ({ ...e, timings: {} })), { concurrency, size: [8, 8] });
    assert.deepEqual(failures, []);
    assert.deepEqual(
      out.map((e) => e.id),
      sizes.map((_, i) => `img-${i}`),
    );
    out.forEach((env, i) => assert.equal(pixel(env, 4, 4)[0], i * 30));
  }
});

/** One small image in every default format that sharp here can write. */
async function everyFormat(): Promise<Record<string, Buffer>> {
  const image = (): Sharp => halves(48, 32);
  const avif = await image().avif().toBuffer();
  // sharp's prebuilt libheif writes AV1 only (no HEVC encoder); an AV1 HEIF whose major brand is
  // `mif1` is what file-type and libheif both call HEIF rather than AVIF.
  const heif = Buffer.from(avif);
  assert.equal(heif.toString('latin1', 4, 12), 'ftypavif');
  heif.write('mif1', 8, 'latin1');
  return {
    jpeg: await image().jpeg().toBuffer(),
    png: await image().png().toBuffer(),
    webp: await image().webp().toBuffer(),
    gif: await image().gif().toBuffer(),
    tiff: await image().tiff({ compression: 'lzw' }).toBuffer(),
    avif,
    heif,
  };
}

/** SVG that sharp (librsvg) would happily rasterise. */
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>';

void test('each default format decodes with the default allow-list', async () => {
  const images = await everyFormat();
  assert.deepEqual(Object.keys(images), options().formats, 'every default format is covered');
  const { out, failures } = await run(Object.entries(images).map(([format, bytes]) => envelope(bytes, format)), { size: [48, 32] });
  assert.deepEqual(failures, []);
  assert.deepEqual(
    out.map((e) => e.id),
    Object.keys(images),
  );
  for (const env of out) {
    assertTensor(env, 48, 32);
    assertColour(pixel(env, 4, 16), RED, 60);
    assertColour(pixel(env, 44, 16), BLUE, 60);
    assert.equal(env.image?.format, env.id === 'avif' ? 'heif' : env.id, 'sharp calls AVIF heif');
  }
});

void test('CMYK JPEG and 16-bit PNG pass the format check and decode to sRGB uint8', async () => {
  const cmyk = await halves(40, 20).jpeg().toColourspace('cmyk').toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const deep = await halves(40, 20).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deep).metadata()).depth, 'ushort');
  const { out, failures } = await run([envelope(cmyk, 'cmyk'), envelope(deep, '16-bit')], { size: [40, 20] });
  assert.deepEqual(failures, []);
  for (const env of out) {
    assertTensor(env, 40, 20);
    // Pure sRGB red and blue are outside the CMYK gamut: the round trip keeps only which is which.
    const [left, right] = [pixel(env, 2, 10), pixel(env, 37, 10)] as [number[], number[]];
    assert.ok((left[0] ?? 0) > (left[2] ?? 0) + 60, `${env.id}: left is red, ${JSON.stringify(left)}`);
    assert.ok((right[2] ?? 0) > (right[0] ?? 0) + 60, `${env.id}: right is blue, ${JSON.stringify(right)}`);
  }
});

void test('hostile inputs that are no allowed raster format are refused before sharp, and the stream goes on', async () => {
  const jpeg = await photoJpeg(64, 48);
  // Each of these would reach a libvips loader by its bytes, whatever its name says.
  assert.equal((await sharp(Buffer.from(SVG)).metadata()).format, 'svg', 'sharp itself would rasterise the SVG');
  const polyglot = Buffer.from(`<!--ftypavif-->${SVG}`);
  assert.equal((await sharp(polyglot).metadata()).format, 'svg', 'libvips reads the AVIF-branded text as SVG');
  const hostile: Record<string, Buffer> = {
    'svg.jpg': Buffer.from(SVG),
    'svg-xml.jpg': Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${SVG}`),
    'avif-svg.jpg': polyglot,
    'pdf.jpg': Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n'),
    'html.jpg': Buffer.from('<!DOCTYPE html><html><body><img src="x" onerror="alert(1)"></body></html>'),
    'random.jpg': Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 97 + 13) % 251)),
    'bmp.jpg': Buffer.concat([Buffer.from('BM'), Buffer.alloc(52)]),
  };
  const inputs = [envelope(jpeg, 'ok-1'), ...Object.entries(hostile).map(([id, bytes]) => envelope(bytes, id)), envelope(jpeg, 'ok-2')];
  const { out, failures } = await run(inputs, { concurrency: 3 });

  assert.deepEqual(
    out.map((e) => e.id),
    ['ok-1', 'ok-2'],
  );
  for (const env of out) assertTensor(env);
  assert.deepEqual(
    failures.map((f) => f.id),
    Object.keys(hostile),
  );
  const accepts = 'decode-image accepts jpeg, png, webp, gif, tiff, avif, heif (option formats)';
  for (const failure of failures) {
    const error = assertCode(failure, 'IMAGE_FORMAT_REFUSED');
    assert.ok(error.message.endsWith(`; ${accepts}`), error.message);
    assert.equal(error.retriable, false);
    // The message names formats only, never the input's bytes.
    assert.doesNotMatch(error.message, /svg xmlns|<|%PDF|onerror|Catalog/);
    assert.equal(inputs.find((e) => e.id === failure.id)?.tensor, undefined);
  }
  const byId = new Map(failures.map((f) => [f.id, (f.error as CentaurError).message]));
  assert.match(byId.get('svg.jpg') ?? '', /^unrecognised image format \(the first bytes are none of jpeg, png, webp, gif, tiff, avif, heif\)/);
  assert.match(byId.get('avif-svg.jpg') ?? '', /^unrecognised image format/, 'the AVIF brand alone does not pass');
  assert.match(byId.get('svg-xml.jpg') ?? '', /^image format xml is not allowed/);
  assert.match(byId.get('pdf.jpg') ?? '', /^image format pdf is not allowed/);
  assert.match(byId.get('bmp.jpg') ?? '', /^image format bmp is not allowed/);
});

void test('formats: [png] refuses a valid JPEG and accepts a PNG', async () => {
  const jpeg = await photoJpeg(64, 48);
  const png = await halves(64, 48).png().toBuffer();
  const { out, failures } = await run([envelope(jpeg, 'jpeg'), envelope(png, 'png')], { formats: ['png'] });
  assert.deepEqual(
    out.map((e) => e.id),
    ['png'],
  );
  assertTensor(out[0] as Envelope);
  const refused = assertCode(failures[0], 'IMAGE_FORMAT_REFUSED');
  assert.equal(failures[0]?.id, 'jpeg');
  assert.equal(refused.message, 'image format jpeg is not allowed; decode-image accepts png (option formats)');
});

void test('avif and heif are told apart: each can be allowed without the other', async () => {
  const { avif, heif } = await everyFormat();
  assert.ok(avif !== undefined && heif !== undefined);
  const onlyAvif = await run([envelope(avif, 'avif'), envelope(heif, 'heif')], { formats: ['avif'], size: [8, 8] });
  assert.deepEqual(
    onlyAvif.out.map((e) => e.id),
    ['avif'],
  );
  assert.equal(assertCode(onlyAvif.failures[0], 'IMAGE_FORMAT_REFUSED').message, 'image format heif is not allowed; decode-image accepts avif (option formats)');
  const onlyHeif = await run([envelope(avif, 'avif'), envelope(heif, 'heif')], { formats: ['heif'], size: [8, 8] });
  assert.deepEqual(
    onlyHeif.out.map((e) => e.id),
    ['heif'],
  );
  assertCode(onlyHeif.failures[0], 'IMAGE_FORMAT_REFUSED');
});
