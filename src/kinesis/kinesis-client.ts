/**
 * The few Kinesis Data Streams calls `kinesis-source` makes (ListShards, GetShardIterator,
 * GetRecords) behind a small interface, so the source's logic is tested with a fake and the AWS
 * SDK loads only when a topology uses Kinesis. Requests go over HTTP/1.1 (the SDK's default for
 * Kinesis is HTTP/2, which only SubscribeToShard needs and local emulators do not speak).
 * Failures become KINESIS_UNAVAILABLE: retriable for throttling, network trouble and server
 * errors; not retriable for refusals (no such stream, access denied, invalid arguments).
 */
import type * as KinesisSdk from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { CentaurError } from '../core/errors.js';
import { classifyStoreFailure } from '../storage/store-errors.js';
import type { ShardInfo, StartPosition } from './shard-plan.js';

/** One record as read. */
export interface KinesisRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** When Kinesis accepted the record, ms since the epoch. */
  readonly arrivalMs: number;
}

/** One GetRecords answer; `nextIterator` is absent once a closed shard was read to its end. */
export type ReadResult =
  | { readonly kind: 'records'; readonly records: readonly KinesisRecord[]; readonly nextIterator?: string; readonly millisBehindLatest?: number }
  | { readonly kind: 'expired' };

/** The calls the source makes. */
export interface KinesisApi {
  /** Every shard of the stream (all pages), as listed now. */
  listShards(signal?: AbortSignal): Promise<ShardInfo[]>;
  /** An iterator at `position` in the shard. */
  shardIterator(shardId: string, position: StartPosition, signal?: AbortSignal): Promise<string>;
  /** Up to `limit` records from `iterator`; `expired` when the iterator is too old (5 minutes). */
  getRecords(iterator: string, limit: number, signal?: AbortSignal): Promise<ReadResult>;
  close(): void;
}

/** How to reach Kinesis; credentials come from the standard AWS chain. */
export interface KinesisConnection {
  readonly streamName: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly profile?: string;
  /** Deadline of one request, ms. */
  readonly timeoutMs: number;
  /** Environment for the region default (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Loads the AWS SDK and builds the client; the region falls back to the AWS chain, then `us-east-1` with a custom endpoint. */
export async function createKinesisApi(connection: KinesisConnection): Promise<KinesisApi> {
  const sdk = await import('@aws-sdk/client-kinesis');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  const env = connection.env ?? process.env;
  const region = connection.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (connection.endpoint === undefined ? undefined : 'us-east-1');
  const client = new sdk.KinesisClient({
    ...(region === undefined ? {} : { region }),
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.profile === undefined ? {} : { profile: connection.profile }),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: Math.min(connection.timeoutMs, 10000), requestTimeout: connection.timeoutMs, throwOnRequestTimeout: true }),
  });
  return new SdkKinesisApi(sdk, client, connection.streamName);
}

type Sdk = typeof KinesisSdk;

class SdkKinesisApi implements KinesisApi {
  constructor(
    private readonly sdk: Sdk,
    private readonly client: KinesisClient,
    private readonly stream: string,
  ) {}

  async listShards(signal?: AbortSignal): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      // With a NextToken, the stream name must not be sent again.
      const input = nextToken === undefined ? { StreamName: this.stream } : { NextToken: nextToken };
      const out = await this.call('ListShards', () => this.client.send(new this.sdk.ListShardsCommand(input), { abortSignal: signal }));
      for (const s of out.Shards ?? []) {
        if (s.ShardId === undefined) continue;
        const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined && p !== null);
        shards.push({ shardId: s.ShardId, parents, closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined });
      }
      nextToken = out.NextToken;
    } while (nextToken !== undefined);
    return shards;
  }

  async shardIterator(shardId: string, position: StartPosition, signal?: AbortSignal): Promise<string> {
    const where =
      position.kind === 'after'
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, StartingSequenceNumber: position.sequenceNumber }
        : position.kind === 'at-timestamp'
          ? { ShardIteratorType: 'AT_TIMESTAMP' as const, Timestamp: new Date(position.timestampMs) }
          : { ShardIteratorType: position.kind === 'latest' ? ('LATEST' as const) : ('TRIM_HORIZON' as const) };
    const out = await this.call('GetShardIterator', () =>
      this.client.send(new this.sdk.GetShardIteratorCommand({ StreamName: this.stream, ShardId: shardId, ...where }), { abortSignal: signal }),
    );
    if (out.ShardIterator === undefined) throw new CentaurError('KINESIS_UNAVAILABLE', `GetShardIterator of ${this.stream}/${shardId} returned no iterator`);
    return out.ShardIterator;
  }

  async getRecords(iterator: string, limit: number, signal?: AbortSignal): Promise<ReadResult> {
    try {
      const out = await this.client.send(new this.sdk.GetRecordsCommand({ ShardIterator: iterator, Limit: limit }), { abortSignal: signal });
      const records = (out.Records ?? []).map((r) => ({
        sequenceNumber: r.SequenceNumber ?? '',
        partitionKey: r.PartitionKey ?? '',
        data: r.Data ?? new Uint8Array(0),
        arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
      }));
      return {
        kind: 'records',
        records,
        ...(out.NextShardIterator === undefined || out.NextShardIterator === null ? {} : { nextIterator: out.NextShardIterator }),
        ...(out.MillisBehindLatest === undefined ? {} : { millisBehindLatest: out.MillisBehindLatest }),
      };
    } catch (error) {
      if ((error as { name?: string }).name === 'ExpiredIteratorException') return { kind: 'expired' };
      throw kinesisError(error, 'GetRecords', this.stream);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw kinesisError(error, action, this.stream);
    }
  }
}

/** Kinesis's own names for "try again later". */
const THROTTLED = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'KMSThrottlingException', 'InternalFailureException']);

/** Maps what the SDK threw to KINESIS_UNAVAILABLE, retriable or not; CentaurErrors pass through. */
export function kinesisError(error: unknown, action: string, stream: string): CentaurError {
  if (error instanceof CentaurError) return error;
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message || name || String(error);
  if (name === 'ResourceNotFoundException') {
    return new CentaurError('KINESIS_UNAVAILABLE', `${action}: stream ${stream} not found (${message}); create it, or fix \`streamName\`, \`region\` or \`endpoint\``, {
      cause: error,
      retriable: false,
    });
  }
  const retriable = THROTTLED.has(name) || classifyStoreFailure(error) === 'unavailable';
  return new CentaurError('KINESIS_UNAVAILABLE', `${action} on stream ${stream} failed: ${message}`, { cause: error, retriable });
}
