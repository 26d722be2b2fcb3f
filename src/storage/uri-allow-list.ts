/**
 * Which object URIs named by input data may be read. An input (an upload event, a frame's `uri`
 * field) is untrusted: without a check it could make Centaur read any local file or any bucket the
 * credentials reach. Cloud URIs must start with an allowed prefix (`s3://` = every bucket,
 * `s3://lake` = one bucket, `s3://lake/uploads/` = keys under a prefix); `file://` URIs are served
 * only inside one base folder, checked on the real path (symlinks and `..` resolved).
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CentaurError } from '../core/errors.js';
import { AZURE_CONTAINER, S3_BUCKET, parseObjectUri } from './object-uri.js';
import { storeError } from './store-errors.js';

/** One parsed allow-list entry: a scheme, optionally one bucket, optionally a key prefix in it. */
export interface AllowEntry {
  readonly scheme: 's3' | 'azure';
  readonly bucket?: string;
  readonly prefix: string;
}

/** Parses an allow-list entry, or returns why it is not one (for the validation pass). */
export function parseAllowEntry(entry: string): AllowEntry | { readonly problem: string; readonly suggestion: string } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(entry);
  const scheme = match?.[1]?.toLowerCase();
  const rest = match?.[2] ?? '';
  if (scheme === 'file') {
    return { problem: '`file://` does not belong in `allow`', suggestion: 'set `fileBase: <folder>` to serve files under one folder' };
  }
  if (scheme !== 's3' && scheme !== 'azure') {
    return { problem: `\`${entry}\` is not an s3:// or azure:// prefix`, suggestion: 'write `s3://`, `s3://bucket` or `s3://bucket/prefix` (likewise azure://container/prefix)' };
  }
  if (rest.length === 0) return { scheme, prefix: '' };
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (!(scheme === 's3' ? S3_BUCKET : AZURE_CONTAINER).test(bucket)) {
    return { problem: `\`${bucket}\` is not a valid ${scheme === 's3' ? 'bucket' : 'container'} name`, suggestion: 'use 3 to 63 lowercase letters, digits and hyphens' };
  }
  if (hasDotSegment(prefix)) return { problem: `\`${entry}\` has a \`.\` or \`..\` segment`, suggestion: 'write the prefix without dot segments' };
  return { scheme, bucket, prefix };
}

/** Where input-named URIs may point: the allowed cloud prefixes and the one local folder. */
export interface UriAllowSettings {
  readonly allow: readonly string[];
  /** Absolute folder under which `file://` URIs are served; none refuses every `file://` URI. */
  readonly fileBase?: string;
}

/** Checks input-named URIs against the allowed prefixes and the local base folder. */
export class UriAllowList {
  private readonly entries: readonly AllowEntry[];
  private base?: Promise<string>;

  constructor(private readonly settings: UriAllowSettings) {
    this.entries = settings.allow.map(parseAllowEntry).filter((e): e is AllowEntry => 'scheme' in e);
  }

  /**
   * Returns the URI to read — for `file://`, the real path's URI, so that what is read is what was
   * checked — or throws OBJECT_URI_REFUSED (not allowed) or OBJECT_FETCH_FAILED (malformed, missing).
   */
  async check(uri: string): Promise<string> {
    const parsed = parseObjectUri(uri);
    if (parsed.scheme === 'file') return this.checkFile(uri, parsed.key);
    if (hasDotSegment(parsed.key)) throw refused(uri, 'its key has a `.` or `..` segment, which some servers and proxies resolve');
    // Azure Blob storage reads `\` in a blob name as `/`: such a key could leave its prefix there.
    if (parsed.scheme === 'azure' && parsed.key.includes('\\')) throw refused(uri, 'its blob name has a `\\`, which Azure reads as `/`');
    const ok = this.entries.some((e) => e.scheme === parsed.scheme && (e.bucket === undefined || e.bucket === parsed.bucket) && parsed.key.startsWith(e.prefix));
    if (!ok) {
      const allowed = this.settings.allow.length === 0 ? 'nothing' : this.settings.allow.join(', ');
      throw refused(uri, `it is outside the allowed prefixes (${allowed}); add its bucket or prefix to \`allow\``);
    }
    return uri;
  }

  private async checkFile(uri: string, file: string): Promise<string> {
    const baseSetting = this.settings.fileBase;
    if (baseSetting === undefined) throw refused(uri, 'file:// URIs from inputs are refused unless `fileBase` names the folder they may read');
    this.base ??= realpath(baseSetting);
    let base: string;
    try {
      base = await this.base;
    } catch (error) {
      this.base = undefined;
      throw new CentaurError('OBJECT_FETCH_FAILED', `fileBase ${baseSetting} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    // The path as written is checked before the file system is asked, so that a refused path
    // never tells whether it exists; the real path is checked again after symlinks are resolved.
    if (!isInside(path.resolve(baseSetting), file) && !isInside(base, file)) throw refused(uri, `it is outside fileBase ${baseSetting}`);
    let real: string;
    try {
      real = await realpath(file);
    } catch (error) {
      throw storeError(error, uri, 'read');
    }
    if (!isInside(base, real)) throw refused(uri, `it resolves outside fileBase ${baseSetting}`);
    return pathToFileURL(real).href;
  }
}

/** Whether `file` lies strictly under the folder `base` (both absolute). */
function isInside(base: string, file: string): boolean {
  const inside = path.relative(base, file);
  return inside !== '' && inside !== '..' && !inside.startsWith(`..${path.sep}`) && !path.isAbsolute(inside);
}

/** Whether a `/`-separated key has a `.` or `..` segment. */
function hasDotSegment(key: string): boolean {
  return key.split('/').some((s) => s === '.' || s === '..');
}

function refused(uri: string, why: string): CentaurError {
  return new CentaurError('OBJECT_URI_REFUSED', `refused to read ${uri}: ${why}`);
}
