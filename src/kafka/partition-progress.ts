/**
 * What may be committed for one Kafka partition when it is read more than once. After a
 * rebalance a consumer may read a partition again from its last commit while inputs of the
 * earlier read are still in flight; each read is an *epoch* whose offsets the runtime tracks
 * separately. An offset may be committed only when it and every offset before it completed in
 * some epoch — this class merges the epochs' completed ranges to find that point.
 */
interface Epoch {
  readonly epoch: number;
  /** First offset emitted in this epoch. */
  readonly start: number;
  /** Last offset emitted in this epoch. */
  last: number;
  /** Every offset in [start, through] completed (through = start - 1 while none has). */
  through: number;
}

export class PartitionProgress {
  private readonly epochs: Epoch[] = [];
  private nextEpoch = 0;
  /** Next offset to read according to what was committed (or -1 before the first commit). */
  private committedNext = -1;

  /** Registers an emitted offset and returns its epoch; a step back in offsets opens a new epoch. */
  emitted(offset: number): number {
    const current = this.epochs[this.epochs.length - 1];
    if (current !== undefined && offset > current.last) {
      current.last = offset;
      return current.epoch;
    }
    const epoch: Epoch = { epoch: this.nextEpoch, start: offset, last: offset, through: offset - 1 };
    this.nextEpoch += 1;
    this.epochs.push(epoch);
    return epoch.epoch;
  }

  /**
   * Records that every offset ≤ `offset` of `epoch` completed. Returns the next offset to read
   * (the Kafka commit value) if the committable position advanced, else undefined.
   */
  completed(epoch: number, offset: number): number | undefined {
    const e = this.epochs.find((x) => x.epoch === epoch);
    if (e === undefined || offset <= e.through) return undefined;
    e.through = offset;
    const reach = this.reach();
    if (reach === undefined || reach + 1 <= this.committedNext) return undefined;
    this.committedNext = reach + 1;
    this.prune(reach);
    return this.committedNext;
  }

  /** Whether every emitted offset is known complete (nothing of this partition is in flight). */
  get idle(): boolean {
    const last = Math.max(...this.epochs.map((e) => e.last));
    return this.epochs.length === 0 || this.committedNext > last;
  }

  /** Epochs still holding offsets that are not known complete. */
  get openEpochs(): number {
    return this.epochs.length;
  }

  /**
   * Highest X such that every offset from the first emitted to X completed in some epoch; what
   * was committed already counts as complete (its epochs may have been dropped).
   */
  private reach(): number | undefined {
    if (this.epochs.length === 0) return undefined;
    const sorted = [...this.epochs].sort((a, b) => a.start - b.start);
    const first = sorted[0] as Epoch;
    let reach = this.committedNext >= 0 ? this.committedNext - 1 : first.start - 1;
    const base = reach;
    for (const e of sorted) {
      if (e.start > reach + 1) break;
      reach = Math.max(reach, e.through);
    }
    return reach > base ? reach : undefined;
  }

  /** Drops epochs that are wholly complete and below the committed point (keeping the newest). */
  private prune(reach: number): void {
    for (let i = this.epochs.length - 2; i >= 0; i -= 1) {
      const e = this.epochs[i] as Epoch;
      if (e.through >= e.last && e.last <= reach) this.epochs.splice(i, 1);
    }
  }
}
