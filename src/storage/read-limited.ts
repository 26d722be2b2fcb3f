/** Reads a download stream into one Buffer, stopping with OBJECT_TOO_LARGE as soon as it passes a byte limit. */
import { CentaurError } from '../core/errors.js';

/** A body the SDKs return: a Node stream or any async iterable of byte chunks. */
export type ByteStream = AsyncIterable<Uint8Array | string>;

/** Collects the stream; past `maxBytes` it stops reading, destroys the stream and throws OBJECT_TOO_LARGE. */
export async function readLimited(body: ByteStream, uri: string, maxBytes: number, expected?: number): Promise<Buffer> {
  if (expected !== undefined && expected > maxBytes) {
    destroy(body);
    throw tooLarge(uri, expected, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += bytes.length;
    if (total > maxBytes) {
      destroy(body);
      throw tooLarge(uri, total, maxBytes, true);
    }
    chunks.push(bytes);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/** The OBJECT_TOO_LARGE error every store raises. */
export function tooLarge(uri: string, size: number, maxBytes: number, atLeast = false): CentaurError {
  const message = atLeast ? `${uri} is larger than maxBytes ${maxBytes} (${size} bytes read before stopping)` : `${uri} is ${size} bytes, over maxBytes ${maxBytes}`;
  return new CentaurError('OBJECT_TOO_LARGE', message);
}

function destroy(body: ByteStream): void {
  const stream = body as { destroy?: (error?: Error) => void };
  if (typeof stream.destroy === 'function') stream.destroy();
}
