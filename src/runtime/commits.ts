/**
 * Source positions, from admission to commit: per (source, partition) the offsets admitted and
 * completed (`PartitionOffsets`, epochs included) yield the highest offset below which everything
 * completed; advanced positions are committed at most every `intervalMs`, one commit chain at a
 * time, and a failed commit is kept for the next round.
 */
import { PartitionOffsets } from './partition-offsets.js';

/** One position to commit: every offset up to `offset` of the partition is done. */
export interface PendingCommit {
  readonly source: string;
  readonly partition: string;
  readonly offset: number;
}

/** Tracks offsets and commits the contiguous ones through `commitOne`. */
export class Commits {
  private readonly partitions = new Map<string, PartitionOffsets>();
  private readonly pending = new Map<string, PendingCommit>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private cancelled = false;

  constructor(
    private readonly intervalMs: number,
    /** Commits one position; throws when the source could not (it is tried again next round). */
    private readonly commitOne: (commit: PendingCommit) => Promise<void>,
    /** Told of a failed timed commit (a final `flush` rejects instead). */
    private readonly onTimedFailure: (error: unknown) => void,
  ) {}

  /** Starts tracking an admitted offset; returns its epoch, which `completed` takes back. */
  track(source: string, partition: string, offset: number): number {
    const key = keyOf(source, partition);
    let offsets = this.partitions.get(key);
    if (offsets === undefined) {
      offsets = new PartitionOffsets();
      this.partitions.set(key, offsets);
    }
    return offsets.track(offset);
  }

  /** Marks an offset done; when that advances the committable position, schedules its commit. */
  completed(source: string, partition: string, epoch: number, offset: number): void {
    const key = keyOf(source, partition);
    const advanced = this.partitions.get(key)?.complete(epoch, offset);
    if (advanced === undefined) return;
    this.pending.set(key, { source, partition, offset: advanced });
    this.arm();
  }

  /** Schedules a commit round unless one is scheduled; a failed round schedules the next, so an idle partition's position still goes out. */
  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((error: unknown) => {
        this.onTimedFailure(error);
        if (this.pending.size > 0 && !this.cancelled) this.arm();
      });
    }, this.intervalMs);
  }

  /** Commits every advanced position now, after any commit still running. */
  flush(): Promise<void> {
    // A round that failed was reported to its caller; the next round starts afresh (it retries
    // what failed), rather than inheriting the rejection and never committing again.
    this.chain = this.chain.catch(() => undefined).then(async () => {
      const batch = [...this.pending.values()];
      this.pending.clear();
      for (const [index, c] of batch.entries()) {
        try {
          await this.commitOne(c);
        } catch (error) {
          // This one and those not tried yet go again next round, unless a later position replaced them.
          for (const left of batch.slice(index)) {
            const key = keyOf(left.source, left.partition);
            if (!this.pending.has(key)) this.pending.set(key, left);
          }
          throw error;
        }
      }
    });
    return this.chain;
  }

  /** Cancels a scheduled commit (the run ended; the final `flush` has run); no round is scheduled after. */
  cancelTimer(): void {
    this.cancelled = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function keyOf(source: string, partition: string): string {
  return `${source}\u0000${partition}`;
}
