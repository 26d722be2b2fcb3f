/**
 * Which shards of a Kinesis stream to read, and from where. Resharding (a split or a merge)
 * closes shards and opens children that name them as parents; a child is read only after every
 * parent is finished (read to its end, every record completed), so the records of one partition
 * key are handled in order across the reshard. A parent that is no longer listed (past the
 * stream's retention) counts as finished.
 *
 * Where a shard starts: after its checkpointed sequence number; else at its beginning when one of
 * its parents was read (by this process or, per the checkpoint, an earlier one); else at the
 * source's initial position — `TRIM_HORIZON`, `AT_TIMESTAMP`, or `LATEST`, which also skips shards
 * that are already closed (their records are older than "now").
 */
import type { ShardCheckpoint } from './checkpoint.js';

/** A shard as listed by the stream. */
export interface ShardInfo {
  readonly shardId: string;
  /** `ParentShardId` and `AdjacentParentShardId` (a merge has two parents). */
  readonly parents: readonly string[];
  /** The shard has an ending sequence number: no record is added to it any more. */
  readonly closed: boolean;
}

/** Where to start reading a shard. */
export type StartPosition =
  | { readonly kind: 'after'; readonly sequenceNumber: string }
  | { readonly kind: 'trim-horizon' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'at-timestamp'; readonly timestampMs: number };

/** Where shards start when nothing says otherwise (the source's `startFrom`). */
export type InitialPosition = { readonly kind: 'TRIM_HORIZON' } | { readonly kind: 'LATEST' } | { readonly kind: 'AT_TIMESTAMP'; readonly timestampMs: number };

/** What this process did with a shard so far. */
export type ShardState = 'reading' | 'finished' | 'skipped';

/** The outcome of one planning round. */
export interface ShardPlan {
  /** Shards to start reading now, parents before children. */
  readonly start: readonly { readonly shardId: string; readonly position: StartPosition }[];
  /** Closed shards passed over by `LATEST`: count them as finished. */
  readonly skip: readonly string[];
}

/** Decides which listed shards start now (none already reading or done), and from where. */
export function planShards(
  listed: readonly ShardInfo[],
  checkpoint: ReadonlyMap<string, ShardCheckpoint>,
  states: ReadonlyMap<string, ShardState>,
  initial: InitialPosition,
): ShardPlan {
  const ids = new Set(listed.map((s) => s.shardId));
  const local = new Map(states);
  const done = (id: string): boolean => {
    const state = local.get(id);
    return state === 'finished' || state === 'skipped' || checkpoint.get(id)?.finished === true || !ids.has(id);
  };
  const wasRead = (id: string): boolean => checkpoint.has(id) || (ids.has(id) && local.get(id) !== 'skipped');
  const start: { shardId: string; position: StartPosition }[] = [];
  const skip: string[] = [];
  // A skipped parent can make its children eligible in the same round: go on until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const shard of listed) {
      const id = shard.shardId;
      if (local.has(id) || checkpoint.get(id)?.finished === true) continue;
      if (!shard.parents.every(done)) continue;
      const sequenceNumber = checkpoint.get(id)?.sequenceNumber;
      let position: StartPosition | undefined;
      if (sequenceNumber !== undefined) position = { kind: 'after', sequenceNumber };
      else if (shard.parents.some(wasRead)) position = { kind: 'trim-horizon' };
      else if (initial.kind === 'TRIM_HORIZON') position = { kind: 'trim-horizon' };
      else if (initial.kind === 'AT_TIMESTAMP') position = { kind: 'at-timestamp', timestampMs: initial.timestampMs };
      else if (!shard.closed) position = { kind: 'latest' };
      changed = true;
      if (position === undefined) {
        local.set(id, 'skipped');
        skip.push(id);
      } else {
        local.set(id, 'reading');
        start.push({ shardId: id, position });
      }
    }
  }
  return { start, skip };
}
