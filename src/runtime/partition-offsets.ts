/**
 * What may be committed for one partition of one source: the highest offset X such that X and
 * every offset before it (from the first admitted) completed. The one place offsets are made
 * contiguous. A partition can be read again from an earlier position while inputs of the earlier
 * read are still in flight (after a Kafka rebalance a consumer re-reads from the last commit); each
 * read is an *epoch*, tracked on its own, and an offset counts as complete once it completed in any
 * epoch.
 */
import { OffsetTracker } from './offset-tracker.js';

interface Epoch {
  readonly id: number;
  /** First and last offset admitted in this epoch. */
  readonly start: number;
  last: number;
  /** Every offset in [start, through] completed (start - 1 while none has). */
  through: number;
  readonly tracker: OffsetTracker;
}

export class PartitionOffsets {
  private readonly epochs: Epoch[] = [];
  private nextId = 0;
  /** The highest offset reported committable so far, if any. */
  private reached: number | undefined;

  /** Registers an admitted offset and returns its epoch: a step back (or a repeat) opens a new one. */
  track(offset: number): number {
    const current = this.epochs[this.epochs.length - 1];
    if (current !== undefined && offset > current.last) {
      current.tracker.track(offset);
      current.last = offset;
      return current.id;
    }
    const epoch: Epoch = { id: this.nextId, start: offset, last: offset, through: offset - 1, tracker: new OffsetTracker() };
    epoch.tracker.track(offset);
    this.nextId += 1;
    this.epochs.push(epoch);
    return epoch.id;
  }

  /** Marks an offset of `epoch` complete; returns the new committable offset if it advanced. */
  complete(epoch: number, offset: number): number | undefined {
    const e = this.epochs.find((x) => x.id === epoch);
    if (e === undefined) throw new RangeError(`offset ${offset} completed in epoch ${epoch}, which holds nothing in flight`);
    const through = e.tracker.complete(offset);
    if (through === undefined) return undefined;
    e.through = through;
    const reach = this.reach();
    if (reach !== undefined) this.reached = reach;
    if (this.reached !== undefined) this.prune(this.reached);
    return reach;
  }

  /** The highest offset committable so far (undefined before any). */
  get committable(): number | undefined {
    return this.reached;
  }

  /** Offsets admitted and not yet complete, over every epoch. */
  get pending(): number {
    return this.epochs.reduce((sum, e) => sum + e.tracker.pending, 0);
  }

  /** Epochs still holding offsets not known complete (the newest is kept even when done). */
  get openEpochs(): number {
    return this.epochs.length;
  }

  /** The new committable offset if the epochs' completed runs, merged, now reach past the last one. */
  private reach(): number | undefined {
    const sorted = [...this.epochs].sort((a, b) => a.start - b.start);
    const first = sorted[0];
    if (first === undefined) return undefined;
    const base = this.reached ?? first.start - 1;
    let reach = base;
    for (const e of sorted) {
      if (e.start > reach + 1) break;
      reach = Math.max(reach, e.through);
    }
    return reach > base ? reach : undefined;
  }

  /** Drops epochs wholly complete and below the committable point (keeping the newest, which new offsets extend). */
  private prune(reach: number): void {
    for (let i = this.epochs.length - 2; i >= 0; i -= 1) {
      const e = this.epochs[i] as Epoch;
      if (e.through >= e.last && e.last <= reach) this.epochs.splice(i, 1);
    }
  }
}
