/**
 * Image formats read from the bytes themselves, before any decoder sees them: the formats
 * `decode-image` can be told to accept, and a sniffer that names the format of untrusted bytes from
 * their magic numbers with `file-type` (never from a file name or a content type, which the sender
 * chooses). Whatever it does not recognise as an image — SVG, PDF, HTML, text, random or no bytes —
 * is `unknown` or the name of another format, never one of {@link IMAGE_FORMATS}.
 */
import type { FileTypeResult } from 'file-type';

/** The raster formats `decode-image` may pass to sharp (our names; `heif` is HEIC/HEIF, `avif` AV1 in HEIF). */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'] as const;

/** One of {@link IMAGE_FORMATS}. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** What sniffing found: none of our formats. */
export const UNKNOWN_FORMAT = 'unknown';

/**
 * file-type's extension → our name. APNG is a PNG to every PNG decoder (sharp reads its first frame).
 * TIFF-based camera raws (`dng`, `cr2`, `nef`, `arw`) are deliberately not mapped onto `tiff`:
 * they are not what a classifier is fed, and are refused under their own names.
 */
const FROM_FILE_TYPE: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png',
  webp: 'webp',
  gif: 'gif',
  tif: 'tiff',
  avif: 'avif',
  heic: 'heif',
};

/** Whether `name` is one of {@link IMAGE_FORMATS}. */
export function isImageFormat(name: string): name is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(name);
}

/**
 * Our name for what file-type detected: one of {@link IMAGE_FORMATS}, file-type's own extension for
 * any other format it knows (`pdf`, `xml`, `bmp`, `zip`, …: a name from its fixed list, never the
 * input's bytes), or {@link UNKNOWN_FORMAT}.
 */
export function formatFromFileType(result: FileTypeResult | undefined): string {
  if (result === undefined) return UNKNOWN_FORMAT;
  return FROM_FILE_TYPE[result.ext] ?? result.ext;
}

/**
 * Our name for the loader sharp (libvips) chose, from `metadata().format` and, for HEIF, its
 * `compression` (`av1` is AVIF). sharp's `jpeg`, `png`, `webp`, `gif` and `tiff` are ours already;
 * every other loader (`svg`, `pdf`, `magick`, `openslide`, …) keeps its sharp name.
 */
export function formatFromSharp(format: string, compression?: string): string {
  if (format === 'heif') return compression === 'av1' ? 'avif' : 'heif';
  return format;
}

/**
 * Whether an ISO-BMFF file (AVIF, HEIF) starts with a plausible `ftyp` box: file-type reads only the
 * brand at bytes 4–11, so text such as `<!--ftypavif--><svg …>` passes as AVIF, while libvips, which
 * takes any buffer whose first bytes are plain ASCII and mention `<svg` for SVG, would hand it to
 * librsvg. A real `ftyp` box's size (bytes 0–3, big-endian) is 16 + 4 per compatible brand and
 * small, so its first bytes are zeros, never text.
 */
export function hasPlausibleFtypBox(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  return size >= 16 && size % 4 === 0 && size <= Math.min(bytes.length, 4096);
}

/** Names the format of encoded bytes from their magic numbers; see {@link formatFromFileType}. */
export type FormatSniffer = (bytes: Uint8Array) => Promise<string>;

/**
 * Loads file-type (ESM only; imported when a component needs it, like sharp) and returns a sniffer.
 * Detection works on the bytes in memory, within file-type's own bounds for hostile input. Where
 * file-type gives up with an error (it does for some malformed ZIP containers, never one of our
 * formats) the bytes are `unknown`: refused, not waved through.
 */
export async function loadFormatSniffer(): Promise<FormatSniffer> {
  const { fileTypeFromBuffer } = await import('file-type');
  return async (bytes) => {
    if (bytes.length === 0) return UNKNOWN_FORMAT;
    let format: string;
    try {
      format = formatFromFileType(await fileTypeFromBuffer(bytes));
    } catch {
      return UNKNOWN_FORMAT;
    }
    return (format === 'avif' || format === 'heif') && !hasPlausibleFtypBox(bytes) ? UNKNOWN_FORMAT : format;
  };
}
