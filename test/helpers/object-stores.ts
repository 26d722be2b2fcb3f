/**
 * Access to the object stores started by `scripts/services/services.sh up` (S3Proxy for S3,
 * Azurite for Azure Blob): addresses and credentials, unique bucket and container names, and
 * independent clients (the SDKs used directly, not through Centaur's stores) to upload inputs and
 * read results. Without the services a test fails in CI and is skipped elsewhere, naming the
 * command to run. Also `uri-list-source`, a test source that emits a fixed list of object URIs
 * as upload events would.
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { Type } from '@sinclair/typebox';
import { defineSource } from '../../src/core/component.js';
import type { Source, SourceContext } from '../../src/core/component.js';

/** Azurite's fixed development account (publicly documented; not a secret). */
const AZURITE_DEFAULT =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';

export const S3_ENDPOINT = process.env.CENTAUR_S3_ENDPOINT ?? 'http://127.0.0.1:9000';
export const AZURE_CONNECTION = process.env.CENTAUR_AZURE_BLOB_CONNECTION_STRING ?? AZURITE_DEFAULT;
// The test server's credentials, for the AWS chain, when `services.sh env` was not evaluated.
process.env.AWS_ACCESS_KEY_ID ??= 'centaur';
process.env.AWS_SECRET_ACCESS_KEY ??= 'centaur-secret';
process.env.AWS_REGION ??= 'us-east-1';

/** The independent S3 client. */
export const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: process.env.AWS_REGION, forcePathStyle: true, maxAttempts: 1 });
/** The independent Azure Blob client. */
export const azure = BlobServiceClient.fromConnectionString(AZURE_CONNECTION, { retryOptions: { maxTries: 1 } });

let reachable: Promise<string | undefined> | undefined;

/** Skips the test (or fails it under CI=true) when the S3 server or Azurite is not running. */
export async function requireObjectStores(t: TestContext): Promise<boolean> {
  reachable ??= (async () => {
    try {
      await s3.send(new ListBucketsCommand({}));
    } catch (error) {
      return `S3 server at ${S3_ENDPOINT}: ${(error as Error).message || (error as Error).name}`;
    }
    try {
      await azure.getProperties();
    } catch (error) {
      return `Azurite (${azure.url}): ${(error as Error).message || (error as Error).name}`;
    }
    return undefined;
  })();
  const problem = await reachable;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up s3 azurite`);
  return false;
}

/** A bucket or container name no other test uses (valid for both stores). */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates an S3 bucket and an Azure container of the same name. */
export async function createBuckets(name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await azure.getContainerClient(name).create();
}

/** Deletes the bucket and the container with everything in them. */
export async function deleteBuckets(name: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: name }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: name }));
  await azure.getContainerClient(name).deleteIfExists();
}

/** Uploads one object with the S3 SDK. */
export async function putS3(bucket: string, key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Uploads one blob with the Azure SDK. */
export async function putAzure(container: string, name: string, body: Buffer): Promise<void> {
  await azure.getContainerClient(container).getBlockBlobClient(name).uploadData(body);
}

/** Every key under a prefix in the S3 bucket, in key order. */
export async function listS3(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Every blob name under a prefix in the Azure container, in name order. */
export async function listAzure(container: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of azure.getContainerClient(container).listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

/** An S3 object's bytes. */
export async function getS3(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** An Azure blob's bytes. */
export async function getAzure(container: string, name: string): Promise<Buffer> {
  return azure.getContainerClient(container).getBlockBlobClient(name).downloadToBuffer();
}

/** One input of `uri-list-source`. */
export interface UriInput {
  readonly uri: string;
  readonly label?: string;
  readonly eventTime: number;
}

/** Inputs by list name, shared with the topologies that name them. */
const lists = new Map<string, readonly UriInput[]>();

/** Registers the inputs a `uri-list-source` with `list: <name>` emits. */
export function useUriList(name: string, inputs: readonly UriInput[]): void {
  lists.set(name, inputs);
}

class UriListSource implements Source {
  private stopped = false;
  private paused = false;

  constructor(private readonly inputs: readonly UriInput[], private readonly nodeId: string) {}

  async start(ctx: SourceContext): Promise<void> {
    for (const [offset, input] of this.inputs.entries()) {
      while (this.paused && !this.stopped) await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.stopped) break;
      ctx.emit({
        id: `in-${offset}`,
        eventTime: input.eventTime,
        position: { source: this.nodeId, partition: 'uploads', offset },
        payload: { kind: 'reference', uri: input.uri },
        sizeBytes: 0,
        metadata: { uri: input.uri },
        ...(input.label === undefined ? {} : { label: input.label }),
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  async commit(): Promise<void> {}
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** A finite source of references, standing in for upload events: `list` names inputs registered with `useUriList`. */
export const uriListSource = defineSource({
  kind: 'uri-list-source',
  role: 'source',
  description: 'Test source: emits a registered list of object URIs as references.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({ list: Type.String({ description: 'Name given to useUriList.' }) }, { additionalProperties: false }),
  create: (o, ctx) => {
    const inputs = lists.get(o.list);
    if (inputs === undefined) throw new Error(`no URI list ${o.list}`);
    return new UriListSource(inputs, ctx.nodeId);
  },
});
