/**
 * The JPEG decoder that scales in the DCT domain: libjpeg-turbo through the optional addon
 * `centaur-jpeg-scaled` (native/jpeg-scaled, built against the system's libturbojpeg at install).
 * A 640×480 camera frame for a 224×224 model decodes at the smallest n/8 scale that still covers
 * the model input instead of at full size, which is most of the cost of a decode. The addon is
 * optional (it needs `libturbojpeg0-dev` to build), so it is loaded at run time, never imported.
 */
import { createRequire } from 'node:module';

/** A JPEG decoded at a reduced scale: packed RGB, `width` × `height`, scaled by `scaleNum`/`scaleDenom`. */
export interface ScaledJpeg {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly scaleNum: number;
  readonly scaleDenom: number;
}

/** The addon's one function; rejects with `code` `UNSUPPORTED` for what the fast path does not take as it is (CMYK, any decoder warning). */
export interface ScaledJpegDecoder {
  decode(jpeg: Buffer, width: number, height: number): Promise<ScaledJpeg>;
}

/** The addon, or the reason it cannot be loaded (not built: no libturbojpeg when `npm ci` ran). */
export function loadScaledJpegDecoder(): ScaledJpegDecoder | { readonly missing: string } {
  try {
    return createRequire(import.meta.url)('centaur-jpeg-scaled') as ScaledJpegDecoder;
  } catch (error) {
    return { missing: (error as Error).message.split('\n')[0] ?? 'not installed' };
  }
}

/** Whether an error of `decode` means "hand it to the general decoder". */
export function isUnsupported(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'UNSUPPORTED';
}
