/**
 * One Kinesis shard's read and completion state. The runtime tracks dense per-partition offsets
 * and commits the highest contiguous completed one; Kinesis sequence numbers are large decimal
 * strings with gaps. So every record read gets the next value of a per-shard counter (the
 * envelope's offset), and the counter → sequence number mapping is kept until the runtime commits
 * that counter: the commit then names the sequence number to checkpoint, and the mapping up to it
 * is dropped. A shard is finished once it was read to its end (it was closed by a split or merge)
 * and every record read from it completed.
 */
export class ShardProgress {
  /** Counter of the next record read. */
  private next = 0;
  /** Counter of `pending[0]`: every counter below it completed. */
  private base = 0;
  /** Sequence numbers of the counters [base, next), in read order. */
  private pending: string[] = [];
  private lastRead: string | undefined;
  private lastDone: string | undefined;
  private ended = false;

  /** `checkpoint`: the sequence number the read resumes after, if any. */
  constructor(readonly shardId: string, checkpoint?: string) {
    this.lastRead = checkpoint;
    this.lastDone = checkpoint;
  }

  /** Registers a record read (in shard order) and returns its counter, the envelope's offset. */
  read(sequenceNumber: string): number {
    this.pending.push(sequenceNumber);
    this.lastRead = sequenceNumber;
    const counter = this.next;
    this.next += 1;
    return counter;
  }

  /**
   * Records that every counter ≤ `counter` completed. Returns the sequence number to checkpoint
   * when the completed point advanced, else undefined (a stale or unknown counter).
   */
  completed(counter: number): string | undefined {
    if (!Number.isInteger(counter) || counter < this.base || counter >= this.next) return undefined;
    const done = counter - this.base + 1;
    const sequenceNumber = this.pending[done - 1] as string;
    this.pending = this.pending.slice(done);
    this.base = counter + 1;
    this.lastDone = sequenceNumber;
    return sequenceNumber;
  }

  /** The shard's end was reached: it is closed and every record of it was read. */
  endReached(): void {
    this.ended = true;
  }

  /** Whether the end was reached. */
  get atEnd(): boolean {
    return this.ended;
  }

  /** Read to the end and every record completed: children of this shard may start. */
  get finished(): boolean {
    return this.ended && this.base === this.next;
  }

  /** Records read and not yet completed. */
  get inFlight(): number {
    return this.next - this.base;
  }

  /** Sequence number of the last record read (or the checkpoint): where a new iterator resumes. */
  get lastReadSequence(): string | undefined {
    return this.lastRead;
  }

  /** Sequence number of the last completed record (or the checkpoint). */
  get lastCompletedSequence(): string | undefined {
    return this.lastDone;
  }
}
