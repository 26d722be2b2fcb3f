/**
 * Tracks completion of one partition's offsets and yields the highest *contiguous* completed
 * offset — the only position that is safe to commit under at-least-once delivery.
 */
export class OffsetTracker {
  /** Offsets in emission order that are not yet known complete up to the front. */
  private readonly window: { offset: number; done: boolean }[] = [];
  private head = 0;
  private readonly index = new Map<number, { offset: number; done: boolean }>();
  private committable: number | undefined;

  /** Registers an emitted offset; offsets must be registered in increasing order. */
  track(offset: number): void {
    const last = this.window[this.window.length - 1];
    if (last !== undefined && offset <= last.offset) {
      throw new RangeError(`offset ${offset} tracked after ${last.offset}; offsets must increase`);
    }
    const entry = { offset, done: false };
    this.window.push(entry);
    this.index.set(offset, entry);
  }

  /** Marks an offset complete; returns the new committable offset if it advanced. */
  complete(offset: number): number | undefined {
    const entry = this.index.get(offset);
    if (entry === undefined) throw new RangeError(`offset ${offset} completed but never tracked (or completed twice)`);
    entry.done = true;
    this.index.delete(offset);
    let advanced: number | undefined;
    while (this.head < this.window.length && (this.window[this.head] as { done: boolean }).done) {
      advanced = (this.window[this.head] as { offset: number }).offset;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.window.length) {
      this.window.splice(0, this.head);
      this.head = 0;
    }
    if (advanced !== undefined) this.committable = advanced;
    return advanced;
  }

  /** The highest offset such that it and every offset before it are complete. */
  get committed(): number | undefined {
    return this.committable;
  }

  /** Offsets tracked but not yet complete. */
  get pending(): number {
    return this.index.size;
  }
}
