/**
 * Content-addressed archiving of raw image bytes: each distinct image is stored once under
 * `<base>/<sha256[0:2]>/<sha256>.<ext>`. Idempotent: an image already there (this run remembers
 * recent ones, the store is asked about the others) is not written again, and the same image
 * arriving twice at once is uploaded once.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from './object-store.js';

/** Where an archived image lives and what it is. */
export interface ArchivedImage {
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Whether this call wrote it (false: it was already there). */
  readonly written: boolean;
}

/** File extension and MIME type of an image format. */
interface ImageKind {
  readonly ext: string;
  readonly contentType: string;
}

const KINDS: Record<string, ImageKind> = {
  jpeg: { ext: 'jpg', contentType: 'image/jpeg' },
  png: { ext: 'png', contentType: 'image/png' },
  webp: { ext: 'webp', contentType: 'image/webp' },
  gif: { ext: 'gif', contentType: 'image/gif' },
  tiff: { ext: 'tif', contentType: 'image/tiff' },
  avif: { ext: 'avif', contentType: 'image/avif' },
  heif: { ext: 'heic', contentType: 'image/heic' },
  bmp: { ext: 'bmp', contentType: 'image/bmp' },
};
const UNKNOWN: ImageKind = { ext: 'bin', contentType: 'application/octet-stream' };

/** The image's kind from its decoded format (sharp's name) or, without one, its magic bytes. */
export function imageKind(bytes: Buffer, format?: string): ImageKind {
  const named = format === undefined ? undefined : KINDS[format === 'jpg' ? 'jpeg' : format];
  if (named !== undefined) return named;
  const ascii = (start: number, end: number): string => bytes.subarray(start, end).toString('latin1');
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return KINDS.jpeg as ImageKind;
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return KINDS.png as ImageKind;
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return KINDS.webp as ImageKind;
  if (ascii(0, 4) === 'GIF8') return KINDS.gif as ImageKind;
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return KINDS.tiff as ImageKind;
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return KINDS.avif as ImageKind;
    if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return KINDS.heif as ImageKind;
  }
  if (ascii(0, 2) === 'BM') return KINDS.bmp as ImageKind;
  return UNKNOWN;
}

/** The content address of an image: `<sha256[0:2]>/<sha256>.<ext>`. */
export function imageKey(sha256: string, ext: string): string {
  return `${sha256.slice(0, 2)}/${sha256}.${ext}`;
}

/** Archives images into one store under one base URI. */
export class ImageArchive {
  /** Content addresses known to be stored, most recent last (a bounded memory of what exists). */
  private readonly known = new Map<string, true>();
  /** Uploads or existence checks in progress, so one image arriving twice at once is written once. */
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: ObjectStore,
    /** Base URI without a trailing slash, e.g. `s3://lake/images`. */
    private readonly base: string,
    private readonly remember = 50_000,
  ) {}

  /** Stores the image unless it is already there; resolves once it is durable in the store. */
  async archive(bytes: Buffer, format?: string): Promise<ArchivedImage> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const kind = imageKind(bytes, format);
    const uri = `${this.base}/${imageKey(sha256, kind.ext)}`;
    if (this.known.has(uri)) return { uri, sha256, bytes: bytes.length, written: false };
    let work = this.pending.get(uri);
    const mine = work === undefined;
    if (work === undefined) {
      work = this.storeOnce(uri, bytes, kind.contentType);
      this.pending.set(uri, work);
    }
    try {
      const written = await work;
      this.note(uri);
      return { uri, sha256, bytes: bytes.length, written: mine && written };
    } finally {
      if (mine) this.pending.delete(uri);
    }
  }

  private async storeOnce(uri: string, bytes: Buffer, contentType: string): Promise<boolean> {
    if (await this.store.exists(uri)) return false;
    await this.store.put(uri, bytes, { contentType });
    return true;
  }

  private note(uri: string): void {
    this.known.delete(uri);
    this.known.set(uri, true);
    if (this.known.size > this.remember) {
      const oldest = this.known.keys().next();
      if (oldest.done !== true) this.known.delete(oldest.value);
    }
  }
}
