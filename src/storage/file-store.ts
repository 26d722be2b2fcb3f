/**
 * The local file system as an object store (`file:///abs/path`), the embedded default: writes go
 * to a temporary file in the same folder and are renamed into place, so a reader never sees half
 * an object; listings walk the folders under the prefix in key order.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore } from './object-store.js';
import { parseObjectUri } from './object-uri.js';
import { tooLarge } from './read-limited.js';
import { storeError } from './store-errors.js';

/** Objects as files under absolute paths. */
export class FileStore implements ObjectStore {
  readonly scheme = 'file' as const;

  /** Reads the file, refusing it past `maxBytes` before reading. */
  async get(uri: string, options: GetOptions = {}): Promise<Buffer> {
    const file = this.path(uri);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw storeError(error, uri, 'read');
    }
    try {
      const { size } = await handle.stat();
      if (options.maxBytes !== undefined && size > options.maxBytes) throw tooLarge(uri, size, options.maxBytes);
      return await handle.readFile();
    } catch (error) {
      throw storeError(error, uri, 'read');
    } finally {
      await handle.close();
    }
  }

  /** Writes through a temporary sibling and renames it into place. */
  async put(uri: string, body: Buffer | string): Promise<void> {
    const file = this.path(uri);
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.partial`);
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(temp, body);
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw storeError(error, uri, 'write');
    }
  }

  /** The file's size and modification time, or null when it does not exist. */
  async head(uri: string): Promise<ObjectInfo | null> {
    const file = this.path(uri);
    try {
      const info = await stat(file);
      if (!info.isFile()) return null;
      return { uri, key: file, size: info.size, lastModified: info.mtime };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw storeError(error, uri, 'check');
    }
  }

  /** Whether the file exists. */
  async exists(uri: string): Promise<boolean> {
    return (await this.head(uri)) !== null;
  }

  /** Files whose path starts with the prefix (and sorts after `startAfter`), in path order; the continuation is the last path returned. */
  async list(prefixUri: string, options: ListOptions = {}): Promise<ListPage> {
    const prefix = this.path(prefixUri);
    const limit = options.limit ?? 1000;
    // A prefix ending in a separator is a folder; otherwise its last segment is a name prefix.
    const root = prefixUri.endsWith('/') ? prefix : path.dirname(prefix);
    const objects: ObjectInfo[] = [];
    let more = false;
    try {
      const after = laterOf(options.continuation, options.startAfter);
      for await (const file of walk(root, prefix, after)) {
        if (!file.startsWith(prefix) || (after !== undefined && file <= after)) continue;
        if (objects.length === limit) {
          more = true;
          break;
        }
        const info = await stat(file).catch(() => undefined);
        if (info === undefined) continue;
        objects.push({ uri: pathToFileURL(file).href, key: file, size: info.size, lastModified: info.mtime });
      }
    } catch (error) {
      throw storeError(error, prefixUri, 'list');
    }
    const last = objects.at(-1);
    return more && last !== undefined ? { objects, continuation: last.key } : { objects };
  }

  /** Nothing to release. */
  async close(): Promise<void> {}

  private path(uri: string): string {
    const parsed = parseObjectUri(uri);
    if (parsed.scheme !== 'file') throw storeError(new Error(`not a file:// URI`), uri, 'check');
    return parsed.key;
  }
}

/** The later of two optional paths. */
function laterOf(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

/**
 * Every file below `dir` that may start with `prefix`, in path order (names sorted per folder, so
 * the whole walk is sorted); folders that cannot hold a match, or hold only paths up to `after`,
 * are not entered; partial writes are skipped.
 */
async function* walk(dir: string, prefix: string, after?: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  // Sorting names with a trailing separator for folders keeps the walk in full-path order.
  const named = entries.map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}${path.sep}` : e.name }));
  named.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const { entry } of named) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const folder = full + path.sep;
      // Every path in a folder that sorts before `after` without leading to it sorts before `after` too.
      const passed = after !== undefined && folder < after && !after.startsWith(folder);
      if ((folder.startsWith(prefix) || prefix.startsWith(folder)) && !passed) yield* walk(full, prefix, after);
    }
    else if (entry.isFile() && !(entry.name.startsWith('.') && entry.name.endsWith('.partial'))) yield full;
  }
}
