/**
 * Offsets of the partials topic that the `drift-merge-source` may commit: a partial's offset is
 * done once its window's report was written (or at once for an ignored partial). Windows finish
 * out of offset order, so per partition the commit position is the lowest offset not yet done, or
 * one past the highest offset read when every read offset is done.
 */

interface PartitionLedger {
  readonly open: Set<number>;
  highest: number;
  committed: number;
}

/** Per-partition read and done offsets; why: commit only what no pending window still needs. */
export class MergeOffsets {
  private readonly partitions = new Map<string, PartitionLedger>();

  /** Registers an offset read from `partition`. */
  read(partition: string, offset: number): void {
    let p = this.partitions.get(partition);
    if (p === undefined) {
      // The first offset read is where the group stands: committing it again gains nothing.
      p = { open: new Set(), highest: offset - 1, committed: offset };
      this.partitions.set(partition, p);
    }
    p.open.add(offset);
    if (offset > p.highest) p.highest = offset;
  }

  /** Marks an offset done. */
  done(partition: string, offset: number): void {
    this.partitions.get(partition)?.open.delete(offset);
  }

  /** Forgets a partition (it moved to another consumer). */
  forget(partition: string): void {
    this.partitions.delete(partition);
  }

  /** The commit positions (next offset to read) that advanced since the last call. */
  takeCommits(): { partition: string; offset: number }[] {
    const out: { partition: string; offset: number }[] = [];
    for (const [partition, p] of this.partitions) {
      let next = p.highest + 1;
      for (const o of p.open) if (o < next) next = o;
      if (next > p.committed) {
        p.committed = next;
        out.push({ partition, offset: next });
      }
    }
    return out;
  }
}
