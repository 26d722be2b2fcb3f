/**
 * The object-store contract every backend implements (`file://`, `s3://`, `azure://`). One store
 * serves every bucket or container of its scheme that its credentials reach, addressed by full
 * object URIs. Failures are CentaurErrors (see `store-errors.ts`): a missing object is
 * OBJECT_FETCH_FAILED, a refusal OBJECT_ACCESS_DENIED, an unreachable or failing server
 * OBJECT_STORE_UNAVAILABLE (retriable), an object over the byte limit OBJECT_TOO_LARGE.
 */
import type { ObjectScheme } from './object-uri.js';

/** What a store knows about one object. */
export interface ObjectInfo {
  /** The object's full URI. */
  readonly uri: string;
  /** The key within its bucket or container (the absolute path for `file://`). */
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
  /** The store's entity tag, as returned (quotes removed). */
  readonly etag?: string;
}

/** Options of `get`. */
export interface GetOptions {
  /** Largest object accepted; a larger one rejects with OBJECT_TOO_LARGE before its bytes are read. */
  readonly maxBytes?: number;
}

/** Options of `put`. */
export interface PutOptions {
  /** MIME type stored with the object (e.g. `image/jpeg`, `application/x-ndjson`). */
  readonly contentType?: string;
}

/** One page of a listing, in key order. */
export interface ListPage {
  readonly objects: readonly ObjectInfo[];
  /** Pass as `continuation` for the next page; absent on the last page. */
  readonly continuation?: string;
}

/** Options of `list`. */
export interface ListOptions {
  /** The `continuation` of the previous page. */
  readonly continuation?: string;
  /** Most objects in one page (the store may return fewer; default 1000). */
  readonly limit?: number;
  /**
   * Only keys that sort after this key (in the store's key order; like S3's `StartAfter`), so a
   * listing resumes after the last key done; pass it with every page of the listing. Azure has no
   * such parameter: its listing reads the earlier names and skips them, so a page may hold no
   * objects and still have a continuation.
   */
  readonly startAfter?: string;
}

/** Reads, writes and lists objects of one scheme. */
export interface ObjectStore {
  readonly scheme: ObjectScheme;
  /** Reads a whole object into memory, refusing it past `maxBytes`. */
  get(uri: string, options?: GetOptions): Promise<Buffer>;
  /** Writes an object, replacing any with the same URI; large bodies go up in parts. Resolves when the store holds it. */
  put(uri: string, body: Buffer | string, options?: PutOptions): Promise<void>;
  /** The object's size and dates, or null when there is no such object. */
  head(uri: string): Promise<ObjectInfo | null>;
  /** Whether the object exists. */
  exists(uri: string): Promise<boolean>;
  /** One page of the objects whose URI starts with `prefixUri`, in key order. */
  list(prefixUri: string, options?: ListOptions): Promise<ListPage>;
  /** Releases connections. */
  close(): Promise<void>;
}
