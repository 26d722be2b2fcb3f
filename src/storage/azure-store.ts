/**
 * `azure://container/blob` through `@azure/storage-blob`: an account by connection string (the
 * default, from `AZURE_STORAGE_CONNECTION_STRING`), or by account URL with a SAS token or a
 * shared key; the SDK's retries with short delays; block uploads for large blobs.
 */
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import { CentaurError } from '../core/errors.js';
import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { parseObjectUri } from './object-uri.js';
import type { ObjectUri } from './object-uri.js';
import { readLimited } from './read-limited.js';
import type { ByteStream } from './read-limited.js';
import { classifyStoreFailure, storeError } from './store-errors.js';
import type { StoreSettings } from './store-options.js';

/** Blobs up to this size go up in one request; larger ones in blocks of this size. */
const BLOCK_BYTES = 8 * 1024 * 1024;
/** Blocks of one upload in flight at once. */
const BLOCK_CONCURRENCY = 4;

/** Blobs of one storage account. */
export class AzureStore implements ObjectStore {
  readonly scheme = 'azure' as const;

  constructor(private readonly service: BlobServiceClient) {}

  /** Downloads the blob; an announced length over `maxBytes` is refused before its body is read. */
  async get(uri: string, options: GetOptions = {}): Promise<Buffer> {
    try {
      const response = await this.blob(uri).download();
      const body = response.readableStreamBody as ByteStream | undefined;
      if (body === undefined) return Buffer.alloc(0);
      return await readLimited(body, uri, options.maxBytes ?? Number.MAX_SAFE_INTEGER, response.contentLength);
    } catch (error) {
      throw storeError(error, uri, 'read');
    }
  }

  /** One Put Blob up to 8 MiB, Put Block + Put Block List above (blocks of 8 MiB, 4 at once). */
  async put(uri: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    try {
      await this.blob(uri).uploadData(data, {
        blockSize: BLOCK_BYTES,
        maxSingleShotSize: BLOCK_BYTES,
        concurrency: BLOCK_CONCURRENCY,
        ...(options.contentType === undefined ? {} : { blobHTTPHeaders: { blobContentType: options.contentType } }),
      });
    } catch (error) {
      throw storeError(error, uri, 'write');
    }
  }

  /** Get Blob Properties; null on 404. */
  async head(uri: string): Promise<ObjectInfo | null> {
    const { key } = this.parse(uri);
    try {
      const p = await this.blob(uri).getProperties();
      return {
        uri,
        key,
        size: p.contentLength ?? 0,
        ...(p.lastModified === undefined ? {} : { lastModified: p.lastModified }),
        ...(p.etag === undefined ? {} : { etag: p.etag.replace(/"/g, '') }),
      };
    } catch (error) {
      if (classifyStoreFailure(error) === 'missing-object') return null;
      throw storeError(error, uri, 'check');
    }
  }

  /** Whether Get Blob Properties finds it. */
  async exists(uri: string): Promise<boolean> {
    return (await this.head(uri)) !== null;
  }

  /** List Blobs (flat) under the name prefix; names up to `startAfter` are skipped here. */
  async list(prefixUri: string, options: ListOptions = {}): Promise<ListPage> {
    const { bucket, key } = this.parse(prefixUri);
    try {
      const pages = this.service
        .getContainerClient(bucket)
        .listBlobsFlat(key.length > 0 ? { prefix: key } : {})
        .byPage({ maxPageSize: options.limit ?? 1000, ...(options.continuation === undefined ? {} : { continuationToken: options.continuation }) });
      const page = await pages.next();
      if (page.done === true) return { objects: [] };
      const after = options.startAfter === undefined ? undefined : Buffer.from(options.startAfter);
      // List Blobs has no start-after: names up to it are read and skipped (names sort by their UTF-8 bytes).
      const items = after === undefined ? page.value.segment.blobItems : page.value.segment.blobItems.filter((b) => Buffer.from(b.name).compare(after) > 0);
      const objects: ObjectInfo[] = items.map((b) => ({
        uri: `azure://${bucket}/${b.name}`,
        key: b.name,
        size: b.properties.contentLength ?? 0,
        lastModified: b.properties.lastModified,
        ...(b.properties.etag === undefined ? {} : { etag: b.properties.etag.replace(/"/g, '') }),
      }));
      const next = page.value.continuationToken;
      return next !== undefined && next.length > 0 ? { objects, continuation: next } : { objects };
    } catch (error) {
      throw storeError(error, prefixUri, 'list');
    }
  }

  /** The SDK keeps no connections to release. */
  async close(): Promise<void> {}

  private blob(uri: string): ReturnType<ReturnType<BlobServiceClient['getContainerClient']>['getBlockBlobClient']> {
    const { bucket, key } = this.parse(uri);
    return this.service.getContainerClient(bucket).getBlockBlobClient(key);
  }

  private parse(uri: string): ObjectUri {
    const parsed = parseObjectUri(uri);
    if (parsed.scheme !== 'azure') throw new CentaurError('OBJECT_FETCH_FAILED', `cannot use ${uri}: not an azure:// URI`);
    return parsed;
  }
}

/** Builds the account's client from a connection string, or an account URL with a SAS token or shared key. */
export function createAzureStore(settings: StoreSettings): AzureStore {
  const o = settings.azure ?? {};
  const env = settings.env ?? process.env;
  const timeoutMs = settings.timeoutMs ?? 30000;
  const pipeline: StoragePipelineOptions = {
    retryOptions: { maxTries: settings.sdkAttempts ?? 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000, tryTimeoutInMs: timeoutMs },
  };
  const connectionString = o.connectionString ?? (o.accountUrl === undefined ? env.AZURE_STORAGE_CONNECTION_STRING : undefined);
  if (connectionString !== undefined && connectionString.length > 0) {
    try {
      return new AzureStore(BlobServiceClient.fromConnectionString(connectionString, pipeline));
    } catch (error) {
      // The message may quote the connection string; it is a secret, so it is not repeated.
      throw new CentaurError('CONFIG_INVALID', 'the Azure connection string is not valid (expected `AccountName=…;AccountKey=…;BlobEndpoint=…` or `…;SharedAccessSignature=…`)', { cause: error });
    }
  }
  if (o.accountUrl === undefined) {
    throw new CentaurError('CONFIG_INVALID', 'azure:// needs a connection: set `azure.connectionString` (or AZURE_STORAGE_CONNECTION_STRING), or `azure.accountUrl`');
  }
  const credential = o.accountKey === undefined ? new AnonymousCredential() : new StorageSharedKeyCredential(accountName(o.accountUrl), o.accountKey);
  return new AzureStore(new BlobServiceClient(o.accountUrl, credential, pipeline));
}

/** The account name of a blob service URL: the first label of the host, or the first path segment (Azurite's style). */
function accountName(accountUrl: string): string {
  let url: URL;
  try {
    url = new URL(accountUrl);
  } catch {
    throw new CentaurError('CONFIG_INVALID', '`azure.accountUrl` is not a URL (expected `https://<account>.blob.core.windows.net`)');
  }
  const host = url.hostname;
  if (/^[\d.]+$|^localhost$|^\[/.test(host)) return url.pathname.split('/').find((s) => s.length > 0) ?? '';
  return host.split('.')[0] ?? '';
}
