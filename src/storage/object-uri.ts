/**
 * Object URIs, the one way Centaur names objects in every store: `file:///abs/path`,
 * `s3://bucket/key` and `azure://container/blob`. Keys are taken literally after the bucket (as
 * the AWS CLI writes them: no percent-decoding), so `s3://b/a b.jpg` is the key `a b.jpg`.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CentaurError } from '../core/errors.js';

/** The schemes an object store serves. */
export const OBJECT_SCHEMES = ['file', 's3', 'azure'] as const;
export type ObjectScheme = (typeof OBJECT_SCHEMES)[number];

/** A parsed object URI: for `file`, `bucket` is empty and `key` is the absolute path. */
export interface ObjectUri {
  readonly scheme: ObjectScheme;
  /** The S3 bucket or Azure container; empty for `file`. */
  readonly bucket: string;
  /** The object key or blob name (may be empty for a bucket-level prefix); the path for `file`. */
  readonly key: string;
}

/** S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric. */
export const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Azure container names: 3 to 63 lowercase letters, digits and single hyphens, starting and ending alphanumeric. */
export const AZURE_CONTAINER = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Parses an object URI; throws OBJECT_FETCH_FAILED naming the URI when it is malformed or its scheme unsupported. */
export function parseObjectUri(uri: string): ObjectUri {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme === undefined) throw invalid(uri, 'not a URI; write file:///path, s3://bucket/key or azure://container/blob');
  if (scheme === 'file') {
    let file: string;
    try {
      file = fileURLToPath(uri);
    } catch (error) {
      throw invalid(uri, (error as Error).message);
    }
    return { scheme: 'file', bucket: '', key: file };
  }
  if (scheme !== 's3' && scheme !== 'azure') {
    throw invalid(uri, `unsupported scheme \`${scheme}://\`; the object stores are file://, s3:// and azure://`);
  }
  const rest = uri.slice(match?.[0].length ?? 0);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  const rule = scheme === 's3' ? S3_BUCKET : AZURE_CONTAINER;
  if (!rule.test(bucket)) {
    const what = scheme === 's3' ? 'bucket' : 'container';
    throw invalid(uri, `\`${bucket}\` is not a valid ${what} name (3 to 63 lowercase letters, digits and hyphens)`);
  }
  return { scheme, bucket, key };
}

/** Writes a parsed URI back as text. */
export function formatObjectUri(parsed: ObjectUri): string {
  if (parsed.scheme === 'file') return pathToFileURL(parsed.key).href;
  return `${parsed.scheme}://${parsed.bucket}/${parsed.key}`;
}

/** Appends `/`-separated parts to a URI's key, e.g. `s3://b/lake` + `images/ab` → `s3://b/lake/images/ab`. */
export function joinObjectUri(base: ObjectUri, ...parts: readonly string[]): ObjectUri {
  const segments = parts.flatMap((p) => p.split('/')).filter((s) => s.length > 0);
  if (base.scheme === 'file') return { ...base, key: path.join(base.key, ...segments) };
  const head = base.key.replace(/\/+$/, '');
  return { ...base, key: [head, ...segments].filter((s) => s.length > 0).join('/') };
}

/**
 * Turns a location written in a topology into a URI: object URIs stay as they are, anything else
 * is a local path resolved against the topology file's folder (a `file://` URI).
 */
export function locationToUri(location: string, baseDir: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  return pathToFileURL(path.resolve(baseDir, location)).href;
}

function invalid(uri: string, why: string): CentaurError {
  return new CentaurError('OBJECT_FETCH_FAILED', `cannot use ${uri}: ${why}`);
}
