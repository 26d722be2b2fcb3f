/**
 * What the `cache` operator keeps in Redis: the key of an input (namespace, model name and
 * version, and the SHA-256 of the input's bytes) and the stored answer (prediction, model,
 * image features and embedding) in a compact binary value: a version byte, a 4-byte length, a
 * JSON header, then the embedding as little-endian float32.
 */
import { createHash } from 'node:crypto';
import type { Envelope, ImageFeatures, ModelRef, Prediction } from '../core/envelope.js';

/** The first byte of every stored value; a value with another one is ignored (treated as a miss). */
export const CACHE_VALUE_VERSION = 1;

/** The model part of a key. */
export interface CacheModel {
  readonly name: string;
  readonly version: string;
}

/** What a cache hit restores on an envelope. */
export interface CachedAnswer {
  readonly prediction: Prediction;
  readonly model: ModelRef;
  readonly image?: ImageFeatures;
  readonly embedding?: Float32Array;
}

/** The JSON header of a stored value. */
interface Header {
  readonly p: { readonly label: string; readonly classIndex: number; readonly confidence: number; readonly probabilities: readonly number[] };
  readonly m: { readonly name: string; readonly version: string; readonly classes?: readonly string[] };
  readonly i?: ImageFeatures;
  readonly e: number;
}

/** SHA-256 of an input's bytes, hex: the content part of its key. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The Redis key of an input: same bytes and same model version give the same key in a namespace. */
export function cacheKey(prefix: string, namespace: string, model: CacheModel, hash: string): string {
  return `${prefix}${namespace}:${encodeURIComponent(model.name)}:${encodeURIComponent(model.version)}:${hash}`;
}

/** Serialises the answer an envelope carries after inference (null when it has no prediction or model). */
export function encodeAnswer(envelope: Pick<Envelope, 'prediction' | 'model' | 'image' | 'embedding'>, includeEmbedding: boolean): Buffer | null {
  const { prediction: p, model: m } = envelope;
  if (p === undefined || m === undefined) return null;
  const embedding = includeEmbedding ? envelope.embedding : undefined;
  const header: Header = {
    p: { label: p.label, classIndex: p.classIndex, confidence: p.confidence, probabilities: [...p.probabilities] },
    m: { name: m.name, version: m.version, ...(m.classes === undefined ? {} : { classes: [...m.classes] }) },
    ...(envelope.image === undefined ? {} : { i: envelope.image }),
    e: embedding?.length ?? 0,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(5 + json.length + (embedding?.length ?? 0) * 4);
  out.writeUInt8(CACHE_VALUE_VERSION, 0);
  out.writeUInt32LE(json.length, 1);
  json.copy(out, 5);
  if (embedding !== undefined) {
    let at = 5 + json.length;
    for (const v of embedding) at = out.writeFloatLE(v, at);
  }
  return out;
}

/** Reads a stored value back; null for anything this version did not write (a miss, never an error). */
export function decodeAnswer(value: Buffer): CachedAnswer | null {
  try {
    if (value.length < 5 || value.readUInt8(0) !== CACHE_VALUE_VERSION) return null;
    const length = value.readUInt32LE(1);
    if (5 + length > value.length) return null;
    const header = JSON.parse(value.subarray(5, 5 + length).toString('utf8')) as Header;
    const n = header.e;
    const start = 5 + length;
    if (!Number.isInteger(n) || n < 0 || start + n * 4 !== value.length) return null;
    const { p, m } = header;
    if (typeof p?.label !== 'string' || !Array.isArray(p.probabilities) || typeof m?.name !== 'string' || typeof m.version !== 'string') return null;
    let embedding: Float32Array | undefined;
    if (n > 0) {
      embedding = new Float32Array(n);
      for (let i = 0; i < n; i += 1) embedding[i] = value.readFloatLE(start + i * 4);
    }
    return {
      prediction: { label: p.label, classIndex: p.classIndex, confidence: p.confidence, probabilities: p.probabilities, cached: true },
      model: { name: m.name, version: m.version, ...(m.classes === undefined ? {} : { classes: m.classes }) },
      ...(header.i === undefined ? {} : { image: header.i }),
      ...(embedding === undefined ? {} : { embedding }),
    };
  } catch {
    return null;
  }
}
