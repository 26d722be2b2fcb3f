/**
 * `decode-image`: turns encoded image bytes into the model's input tensor with sharp (libvips):
 * EXIF orientation applied, sRGB, alpha removed, greyscale expanded to three channels, resized to
 * `size` with a configurable fit and kernel (so serving matches training), HWC uint8. The pixel
 * scale is only recorded on the tensor; `micro-batch` applies it when packing floats. Inputs are
 * untrusted: their format is read from the magic bytes and checked against the `formats`
 * allow-list before sharp sees them (an SVG, PDF or anything unrecognised never reaches libvips,
 * whatever its file name), and sharp's own choice of loader is checked against it again. Refused
 * formats, inputs over the byte or pixel limits, and bytes sharp cannot decode become dead letters.
 */
import { Type } from '@sinclair/typebox';
import { DECODERS, FITS, KERNELS, PIXEL_SCALES, oneOf } from '../core/image-spec.js';
import { IMAGE_FORMATS, UNKNOWN_FORMAT, formatFromSharp, isImageFormat, loadFormatSniffer } from '../images/sniff-format.js';
import type { FormatSniffer } from '../images/sniff-format.js';
import type { Static } from '@sinclair/typebox';
import { EMPTY, of, mergeMap } from 'rxjs';
import type { Metadata, OutputInfo, SharpConstructor } from 'sharp';
import { defineOperator } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { isBatch } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { concurrentMap } from '../rx/concurrent-map.js';
import { computeImageFeatures } from '../images/image-features.js';
import type { LumaFeatures } from '../images/image-features.js';
import { decodeErrorCode, JPEG_FIT, loadScaledJpegDecoder } from '../images/jpeg-scaled.js';
import type { ScaledJpegDecoder } from '../images/jpeg-scaled.js';


const Channel = Type.Integer({ minimum: 0, maximum: 255 });

/** Options of `decode-image`; defaults live in the schema (the runtime fills them in). */
export const DecodeImageOptions = Type.Object(
  {
    size: Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })], {
      description: 'Output `[width, height]` in pixels: the model input size.',
      default: [224, 224],
    }),
    fit: oneOf(FITS, {
      description:
        'How the image fits `size`: `fill` stretches, `cover` crops the centre, `contain` letterboxes onto `background`; ' +
        '`inside`/`outside` keep the aspect ratio and may yield a different size than `size`.',
      default: 'fill',
    }),
    kernel: oneOf(KERNELS, { description: 'Interpolation kernel used for resizing; match the one used in training.', default: 'linear' }),
    background: Type.Tuple([Channel, Channel, Channel], {
      description: 'Letterbox colour `[r, g, b]` (0..255) for `fit: contain`.',
      default: [0, 0, 0],
    }),
    scale: oneOf(PIXEL_SCALES, {
      description:
        'Pixel scaling recorded on the tensor and applied by `micro-batch`: `unit` = /255, `symmetric` = [-1, 1], `uint8` = raw.',
      default: 'unit',
    }),
    formats: Type.Array(oneOf(IMAGE_FORMATS, {}), {
      minItems: 1,
      uniqueItems: true,
      description:
        'Image formats accepted, recognised from the bytes (never the file name) before sharp sees them and checked again ' +
        'against the loader sharp picks; anything else (SVG, PDF, text, unrecognised bytes) is dead-lettered (IMAGE_FORMAT_REFUSED).',
      default: [...IMAGE_FORMATS],
    }),
    maxInputBytes: Type.Integer({
      minimum: 1,
      description: 'Largest encoded image accepted, in bytes; larger inputs are dead-lettered (IMAGE_TOO_LARGE).',
      default: 20_971_520,
    }),
    maxPixels: Type.Integer({
      minimum: 1,
      description:
        'Largest image accepted, in pixels (width × height), checked from the header before decoding; ' +
        'larger inputs are dead-lettered (IMAGE_TOO_MANY_PIXELS).',
      default: 40_000_000,
    }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 64,
      description: 'Images decoded at once (on libuv worker threads); output order is kept. Enough to keep decoding while inference holds the main thread.',
      default: 16,
    }),
    decoder: oneOf(DECODERS, {
      description:
        '`sharp`: libvips decodes every format at full size, then resizes. `jpeg-turbo`: a JPEG is decoded by libjpeg-turbo in the DCT ' +
        'domain at the smallest of 1/8, 1/4, 1/2 that still covers `size` (a fraction of the work for camera frames) and resampled with ' +
        "an antialiased bilinear filter — Pillow's `draft` + BILINEAR, so Python training code can match it; other formats, JPEGs with an " +
        'EXIF rotation, an ICC profile or CMYK, truncated files, fits other than `fill`/`cover` and kernels other than `linear` go the ' +
        '`sharp` way. The two give slightly different pixels: serve with the decoder the model was trained with. ' +
        '`jpeg-turbo` needs the optional `centaur-jpeg-scaled` addon (built at `npm ci` where `libturbojpeg0-dev` is installed).',
      default: 'sharp',
    }),
    features: Type.Boolean({
      description: 'Compute drift features (size, format, brightness, contrast, sharpness, saturation) into `envelope.image`.',
      default: true,
    }),
  },
  { additionalProperties: false },
);

/** The filled options `create` receives. */
export type DecodeImageOptions = Static<typeof DecodeImageOptions>;

/**
 * `truncated` rejects truncated or corrupt pixel data (a truncated JPEG would otherwise decode with
 * a grey tail) without rejecting the many real-world files that only raise decoder warnings.
 */
const FAIL_ON = 'truncated';

/** What one decode yields: the envelope, and the error when it failed. */
type Outcome = { readonly envelope: Envelope; readonly error?: undefined } | { readonly envelope: Envelope; readonly error: CentaurError };

/** The message of anything thrown. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Maps a sharp error to the coded error a dead letter carries. */
function decodeError(error: unknown, maxPixels: number): CentaurError {
  const message = messageOf(error);
  if (/exceeds pixel limit/i.test(message)) {
    return new CentaurError('IMAGE_TOO_MANY_PIXELS', `image exceeds maxPixels ${maxPixels}: ${message}`, { cause: error });
  }
  return new CentaurError('IMAGE_DECODE_FAILED', `cannot decode image: ${message}`, { cause: error });
}

/** The refusal of a format outside `allowed`; `found` is a format name, never the input's bytes. */
function formatRefused(found: string, allowed: readonly string[], by: 'bytes' | 'sharp'): CentaurError {
  const accepts = `decode-image accepts ${allowed.join(', ')} (option formats)`;
  if (found === UNKNOWN_FORMAT) {
    return new CentaurError('IMAGE_FORMAT_REFUSED', `unrecognised image format (the first bytes are none of ${IMAGE_FORMATS.join(', ')}); ${accepts}`);
  }
  const what = by === 'sharp' ? `image format ${found} (as read by sharp)` : `image format ${found}`;
  return new CentaurError('IMAGE_FORMAT_REFUSED', `${what} is not allowed; ${accepts}`);
}

/** Decodes, resizes and measures one envelope in place; throws a CentaurError on bad input. */
async function decodeEnvelope(
  sharp: SharpConstructor,
  sniff: FormatSniffer,
  turbo: ScaledJpegDecoder | null,
  envelope: Envelope,
  options: DecodeImageOptions,
  nodeId: string,
): Promise<void> {
  const payload = envelope.payload;
  if (payload.kind !== 'bytes') {
    throw new CentaurError('IMAGE_DECODE_FAILED', 'payload is a reference (uri); add fetch-object before decode-image');
  }
  const bytes = payload.bytes;
  if (bytes.length > options.maxInputBytes) {
    throw new CentaurError('IMAGE_TOO_LARGE', `image is ${bytes.length} bytes, more than maxInputBytes ${options.maxInputBytes}`);
  }
  const started = performance.now();

  // The allow-list, from the magic bytes, before any libvips loader (librsvg, …) sees the input.
  const allowed: readonly string[] = options.formats;
  const sniffed = await sniff(bytes);
  if (!isImageFormat(sniffed) || !allowed.includes(sniffed)) throw formatRefused(sniffed, allowed, 'bytes');

  // `decoder: jpeg-turbo`: a JPEG the fast path takes as it is never reaches sharp.
  if (turbo !== null && sniffed === 'jpeg' && (options.fit === 'fill' || options.fit === 'cover') && options.kernel === 'linear') {
    const [width, height] = options.size;
    const fast = await turbo.decode(bytes, width, height, JPEG_FIT[options.fit], options.maxPixels, options.features).catch((error: unknown) => {
      const code = decodeErrorCode(error);
      if (code === 'UNSUPPORTED') return null;
      if (code === 'TOO_MANY_PIXELS') throw new CentaurError('IMAGE_TOO_MANY_PIXELS', `image is more than maxPixels ${options.maxPixels} pixels`);
      throw decodeError(error, options.maxPixels);
    });
    if (fast !== null) {
      const data = new Uint8Array(fast.data.buffer, fast.data.byteOffset, fast.data.length);
      finish(envelope, data, fast.width, fast.height, { width: fast.sourceWidth, height: fast.sourceHeight, format: 'jpeg' }, options, fast.features);
      envelope.timings[nodeId] = performance.now() - started;
      return;
    }
  }

  // Header only: the pixel limit is checked here, before anything is decoded, so that a
  // decompression bomb is rejected with its real size and never allocated.
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(error, options.maxPixels);
  }
  // Second line of defence: the loader libvips picked must be an allowed one too (never svg, pdf,
  // magick, openslide, … even if its sniffing ever disagrees with ours).
  const loaded = formatFromSharp(metadata.format, metadata.compression);
  if (!isImageFormat(loaded) || !allowed.includes(loaded)) throw formatRefused(loaded, allowed, 'sharp');
  const pixels = metadata.width * metadata.height;
  if (!(pixels > 0)) {
    throw new CentaurError('IMAGE_DECODE_FAILED', `image header reports no pixels (${metadata.width}×${metadata.height})`);
  }
  if (pixels > options.maxPixels) {
    throw new CentaurError(
      'IMAGE_TOO_MANY_PIXELS',
      `image is ${metadata.width}×${metadata.height} = ${pixels} pixels, more than maxPixels ${options.maxPixels}`,
    );
  }

  const [width, height] = options.size;
  const [r, g, b] = options.background;
  const resize = { fit: options.fit, kernel: options.kernel, background: { r, g, b } };
  let decoded: { data: Buffer; info: OutputInfo } | null = null;
  if (decoded === null) {
    try {
      decoded = await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: FAIL_ON, autoOrient: true })
        .toColourspace('srgb')
        .removeAlpha()
        .resize(width, height, resize)
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw decodeError(error, options.maxPixels);
    }
  }
  const { info } = decoded;
  if (info.channels !== 3 || decoded.data.length !== info.width * info.height * 3) {
    throw new CentaurError(
      'IMAGE_DECODE_FAILED',
      `decoded image has ${info.channels} channels and ${decoded.data.length} bytes for ${info.width}×${info.height}; expected 3 channels`,
    );
  }
  const data = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length);
  // EXIF orientations 5–8 rotate by 90°: the image as seen is height × width.
  const swapped = (metadata.orientation ?? 1) >= 5;
  const seen = { width: swapped ? metadata.height : metadata.width, height: swapped ? metadata.width : metadata.height, format: metadata.format };
  finish(envelope, data, info.width, info.height, seen, options);
  envelope.timings[nodeId] = performance.now() - started;
}

/** Puts the tensor (and, when asked, the drift features of the image as seen, computed here unless given) on the envelope. */
function finish(
  envelope: Envelope,
  data: Uint8Array,
  width: number,
  height: number,
  seen: { width: number; height: number; format: string },
  options: DecodeImageOptions,
  features?: LumaFeatures,
): void {
  envelope.tensor = { data, width, height, channels: 3, scale: options.scale };
  if (options.features) envelope.image = { ...seen, ...(features ?? computeImageFeatures(data, width, height, 3)) };
  envelope.sizeBytes += data.length;
}

/** The `decode-image` operator spec: bytes in, HWC uint8 tensor and drift features out. */
export const decodeImage = defineOperator({
  kind: 'decode-image',
  role: 'operator',
  stability: 'beta',
  description:
    'Decodes image bytes with sharp into a resized RGB uint8 tensor (EXIF-oriented) plus drift features; ' +
    'formats outside an allow-list, read from the bytes, are refused before sharp sees them.',
  options: DecodeImageOptions,
  examples: [
    { title: 'The model input size, pixels scaled to 0..1', options: { size: [224, 224], scale: 'unit' } },
    { title: 'Centre crop, JPEG and PNG only', options: { size: [224, 224], fit: 'cover', formats: ['jpeg', 'png'] } },
  ],
  async create(options) {
    const { default: sharp } = await import('sharp');
    const sniff = await loadFormatSniffer();
    let turbo: ScaledJpegDecoder | null = null;
    if (options.decoder === 'jpeg-turbo') {
      const loaded = loadScaledJpegDecoder();
      if ('missing' in loaded) {
        throw new CentaurError(
          'CONFIG_INVALID',
          `decoder \`jpeg-turbo\` needs the addon centaur-jpeg-scaled, which is not built (${loaded.missing}); install libturbojpeg0-dev, then \`npm rebuild centaur-jpeg-scaled\`, or use \`decoder: sharp\``,
        );
      }
      turbo = loaded;
    }
    return {
      accepts: 'envelope',
      apply: (input, ctx) =>
        input.pipe(
          concurrentMap(async (item: Item): Promise<Outcome> => {
            if (isBatch(item)) {
              // A rejection errors the stream: the runtime broke its promise to unbatch.
              throw new CentaurError('INTERNAL', 'decode-image received a batch; the runtime must unbatch its input');
            }
            try {
              await decodeEnvelope(sharp, sniff, turbo, item, options, ctx.nodeId);
              return { envelope: item };
            } catch (error) {
              // sharp's errors are mapped inside; anything else escaping is a bug, still dead-lettered.
              const coded = toCentaurError(error, 'INTERNAL');
              return { envelope: item, error: coded };
            }
          }, options.concurrency),
          // Dead letters are reported in input order, from the subscriber, never after unsubscription.
          mergeMap((outcome) => {
            if (outcome.error === undefined) return of<Item>(outcome.envelope);
            ctx.fail(outcome.envelope, outcome.error);
            return EMPTY;
          }),
        ),
    };
  },
});
