/**
 * The JPEG decoder that scales in the DCT domain: libjpeg-turbo through the optional addon
 * `centaur-jpeg-scaled` (native/jpeg-scaled, built against the system's libturbojpeg at install).
 * A 640×480 camera frame for a 224×224 model decodes at the smallest n/8 scale that still covers
 * the model input instead of at full size, which is most of the cost of a decode. The addon is
 * optional (it needs `libturbojpeg0-dev` to build), so it is loaded at run time, never imported.
 */
import { createRequire } from 'node:module';
import type { LumaFeatures } from './image-features.js';

/** A decoded JPEG: packed RGB, `width` × `height`; decoded at `scaleNum`/`scaleDenom` of its `sourceWidth` × `sourceHeight`. */
export interface ScaledJpeg {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly scaleNum: number;
  readonly scaleDenom: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** With `features`: the drift features of `data`, exactly as `computeImageFeatures` gives them. */
  readonly features?: LumaFeatures;
}

/** How the decoded image becomes the target: not resized (the covering scale only), stretched, or the centred box of the target's aspect. */
export const JPEG_FIT = { none: -1, fill: 0, cover: 1 } as const;

/**
 * The addon's one function. Decodes at the smallest of 1/8, 1/4, 1/2, 1 that covers `width` ×
 * `height` (Pillow's `draft` rule), then resamples with an antialiased bilinear filter (Pillow's
 * BILINEAR) unless `fit` is `none`, and with `features` computes the drift features of the result
 * on the worker thread too (the same arithmetic as `computeImageFeatures`). Rejects with `code` `TOO_MANY_PIXELS` (from the header, before
 * decoding) or `UNSUPPORTED` (EXIF rotation, ICC profile, CMYK, any decoder warning: for the
 * general decoder to judge).
 */
export interface ScaledJpegDecoder {
  decode(jpeg: Buffer, width: number, height: number, fit: (typeof JPEG_FIT)[keyof typeof JPEG_FIT], maxPixels: number, features: boolean): Promise<ScaledJpeg>;
}

/** The addon, or the reason it cannot be loaded (not built: no libturbojpeg when `npm ci` ran). */
export function loadScaledJpegDecoder(): ScaledJpegDecoder | { readonly missing: string } {
  try {
    return createRequire(import.meta.url)('centaur-jpeg-scaled') as ScaledJpegDecoder;
  } catch (error) {
    return { missing: (error as Error).message.split('\n')[0] ?? 'not installed' };
  }
}

/** The code of an error `decode` rejected with (`UNSUPPORTED`: hand it to the general decoder). */
export function decodeErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
