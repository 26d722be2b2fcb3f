/**
 * Access to the Kinesis-compatible server started by `scripts/services/services.sh up kinesis`
 * (kinesalite): its endpoint, unique stream names, and an independent client (the AWS SDK used
 * directly, not through Centaur's source) to create, reshard and delete streams and put records.
 * Without the service a test fails in CI and is skipped elsewhere, naming the command to run.
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { Shard } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const KINESIS_ENDPOINT = process.env.CENTAUR_KINESIS_ENDPOINT ?? 'http://127.0.0.1:4567';
// kinesalite wants signed requests but accepts any key; the test services' keys when `services.sh env` was not evaluated.
process.env.AWS_ACCESS_KEY_ID ??= 'centaur';
process.env.AWS_SECRET_ACCESS_KEY ??= 'centaur-secret';
process.env.AWS_REGION ??= 'us-east-1';

/** The independent client (HTTP/1.1: kinesalite does not speak HTTP/2). */
export const kinesis = new KinesisClient({ endpoint: KINESIS_ENDPOINT, region: process.env.AWS_REGION, maxAttempts: 2, requestHandler: new NodeHttpHandler() });

let reachable: Promise<string | undefined> | undefined;

/** Skips the test (or fails it under CI=true) when the Kinesis server is not running. */
export async function requireKinesis(t: TestContext): Promise<boolean> {
  reachable ??= (async () => {
    try {
      await kinesis.send(new ListStreamsCommand({ Limit: 1 }));
      return undefined;
    } catch (error) {
      return `Kinesis server at ${KINESIS_ENDPOINT}: ${(error as Error).message || (error as Error).name}`;
    }
  })();
  const problem = await reachable;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up kinesis`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up kinesis`);
  return false;
}

/** A stream name no other test uses. */
export function uniqueStream(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Waits until the stream is ACTIVE (after a create, split or merge). */
export async function waitActive(stream: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${stream} is not ACTIVE after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Creates a stream with `shards` shards and waits until it is ACTIVE. */
export async function createStream(stream: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitActive(stream);
}

/** Deletes a stream (errors ignored: the server may be gone). */
export async function deleteStream(stream: string): Promise<void> {
  await kinesis.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => undefined);
}

/** A record as put: where Kinesis placed it. */
export interface PutResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
}

/** Puts records in one request, in order; fails if any was refused. */
export async function putRecords(stream: string, records: readonly { readonly data: Uint8Array; readonly partitionKey: string }[]): Promise<PutResult[]> {
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }));
  if ((out.FailedRecordCount ?? 0) > 0) throw new Error(`${out.FailedRecordCount} records refused: ${JSON.stringify(out.Records?.filter((r) => r.ErrorCode !== undefined))}`);
  return (out.Records ?? []).map((r, i) => ({ shardId: r.ShardId ?? '', sequenceNumber: r.SequenceNumber ?? '', partitionKey: records[i]?.partitionKey ?? '' }));
}

/** Every shard of the stream, closed ones included. */
export async function listShards(stream: string): Promise<Shard[]> {
  return (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
}

/** Splits a shard in the middle of its hash key range and waits until the stream is ACTIVE again. */
export async function splitShard(stream: string, shardId: string): Promise<void> {
  const shard = (await listShards(stream)).find((s) => s.ShardId === shardId);
  if (shard?.HashKeyRange?.StartingHashKey === undefined || shard.HashKeyRange.EndingHashKey === undefined) throw new Error(`no shard ${shardId} in ${stream}`);
  const middle = (BigInt(shard.HashKeyRange.StartingHashKey) + BigInt(shard.HashKeyRange.EndingHashKey)) / 2n;
  await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: middle.toString() }));
  await waitActive(stream);
}

/** A fresh one-shard stream holding one record (`data`); its name. Fails, naming the command, when the server is down. */
export async function streamWithOneRecord(prefix: string, data: Uint8Array): Promise<string> {
  const stream = uniqueStream(prefix);
  try {
    await createStream(stream, 1);
  } catch (error) {
    throw new Error(`Kinesis server at ${KINESIS_ENDPOINT}: ${(error as Error).message || (error as Error).name}; run scripts/services/services.sh up kinesis`, { cause: error });
  }
  await putRecords(stream, [{ data, partitionKey: 'k' }]);
  return stream;
}
