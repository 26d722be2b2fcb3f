/**
 * `s3://bucket/key` through the AWS SDK v3: credentials from the standard AWS chain, a custom
 * endpoint and path-style addressing for S3-compatible servers, the SDK's own retries, and
 * multipart uploads for large objects (`@aws-sdk/lib-storage`'s Upload, parts sent in parallel).
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CentaurError } from '../core/errors.js';
import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { parseObjectUri } from './object-uri.js';
import type { ObjectUri } from './object-uri.js';
import { readLimited } from './read-limited.js';
import type { ByteStream } from './read-limited.js';
import { classifyStoreFailure, storeError } from './store-errors.js';
import type { StoreSettings } from './store-options.js';

/** Parts of a multipart upload: objects up to this size go up in one request. */
export const S3_PART_BYTES = 8 * 1024 * 1024;
/** Parts of one upload in flight at once. */
const PART_CONCURRENCY = 4;

/** Objects in S3 or an S3-compatible server. */
export class S3Store implements ObjectStore {
  readonly scheme = 's3' as const;

  constructor(private readonly client: S3Client) {}

  /** Reads the object; an announced size over `maxBytes` is refused before its body is read. */
  async get(uri: string, options: GetOptions = {}): Promise<Buffer> {
    const { bucket, key } = this.parse(uri);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (out.Body === undefined) return Buffer.alloc(0);
      const body = out.Body as unknown as ByteStream;
      return await readLimited(body, uri, options.maxBytes ?? Number.MAX_SAFE_INTEGER, out.ContentLength);
    } catch (error) {
      throw storeError(error, uri, 'read');
    }
  }

  /** One PutObject up to 8 MiB, a multipart upload above (parts of 8 MiB, 4 at once). */
  async put(uri: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    const { bucket, key } = this.parse(uri);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: body, ...(options.contentType === undefined ? {} : { ContentType: options.contentType }) },
      partSize: S3_PART_BYTES,
      queueSize: PART_CONCURRENCY,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw storeError(error, uri, 'write');
    }
  }

  /** HeadObject; null on 404. */
  async head(uri: string): Promise<ObjectInfo | null> {
    const { bucket, key } = this.parse(uri);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        uri,
        key,
        size: out.ContentLength ?? 0,
        ...(out.LastModified === undefined ? {} : { lastModified: out.LastModified }),
        ...(out.ETag === undefined ? {} : { etag: out.ETag.replace(/"/g, '') }),
      };
    } catch (error) {
      if (classifyStoreFailure(error) === 'missing-object') return null;
      throw storeError(error, uri, 'check');
    }
  }

  /** Whether HeadObject finds it. */
  async exists(uri: string): Promise<boolean> {
    return (await this.head(uri)) !== null;
  }

  /** ListObjectsV2 under the key prefix, from after `startAfter` (S3's StartAfter). */
  async list(prefixUri: string, options: ListOptions = {}): Promise<ListPage> {
    const { bucket, key } = this.parse(prefixUri);
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: key,
          MaxKeys: options.limit ?? 1000,
          ...(options.continuation === undefined ? {} : { ContinuationToken: options.continuation }),
          // The continuation token already resumes after the earlier pages; StartAfter starts the first.
          ...(options.startAfter === undefined || options.continuation !== undefined ? {} : { StartAfter: options.startAfter }),
        }),
      );
      const objects: ObjectInfo[] = (out.Contents ?? []).flatMap((o) =>
        o.Key === undefined
          ? []
          : [
              {
                uri: `s3://${bucket}/${o.Key}`,
                key: o.Key,
                size: o.Size ?? 0,
                ...(o.LastModified === undefined ? {} : { lastModified: o.LastModified }),
                ...(o.ETag === undefined ? {} : { etag: o.ETag.replace(/"/g, '') }),
              },
            ],
      );
      return out.IsTruncated === true && out.NextContinuationToken !== undefined ? { objects, continuation: out.NextContinuationToken } : { objects };
    } catch (error) {
      throw storeError(error, prefixUri, 'list');
    }
  }

  /** Closes the client's sockets. */
  async close(): Promise<void> {
    this.client.destroy();
  }

  private parse(uri: string): ObjectUri {
    const parsed = parseObjectUri(uri);
    if (parsed.scheme !== 's3') throw new CentaurError('OBJECT_FETCH_FAILED', `cannot use ${uri}: not an s3:// URI`);
    return parsed;
  }
}

/** Builds the S3 client from the connection options; the region falls back to the AWS chain, then `us-east-1` for custom endpoints. */
export function createS3Store(settings: StoreSettings): S3Store {
  const o = settings.s3 ?? {};
  const env = settings.env ?? process.env;
  const region = o.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (o.endpoint === undefined ? undefined : 'us-east-1');
  const timeoutMs = settings.timeoutMs ?? 30000;
  const config: S3ClientConfig = {
    ...(region === undefined ? {} : { region }),
    ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
    forcePathStyle: o.forcePathStyle ?? false,
    maxAttempts: settings.sdkAttempts ?? 3,
    requestHandler: { connectionTimeout: Math.min(timeoutMs, 10000), requestTimeout: timeoutMs, throwOnRequestTimeout: true },
    // Checksums only where S3 requires them: S3-compatible servers do not all speak the newer trailers.
    ...(o.endpoint === undefined ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }),
  };
  return new S3Store(new S3Client(config));
}
