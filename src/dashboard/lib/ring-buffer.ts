/** A fixed-capacity buffer that keeps the newest items, overwriting the oldest: bounded memory for live samples. */
export class RingBuffer<T> {
  private readonly slots: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.slots = new Array<T | undefined>(capacity);
  }

  /** Number of items held (at most `capacity`). */
  get size(): number {
    return this.count;
  }

  /** Appends an item, dropping the oldest when full, so the buffer always holds the latest window. */
  push(item: T): void {
    if (this.count < this.capacity) {
      this.slots[(this.start + this.count) % this.capacity] = item;
      this.count += 1;
    } else {
      this.slots[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The item at `index` counted from the oldest (negative counts from the newest), for random access without copying. */
  at(index: number): T | undefined {
    const i = index < 0 ? this.count + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) return undefined;
    return this.slots[(this.start + i) % this.capacity];
  }

  /** The items oldest first, as a new array for callers that transform them. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i += 1) out.push(this.slots[(this.start + i) % this.capacity] as T);
    return out;
  }

  /** Forgets every item, e.g. when the page connects to a different process. */
  clear(): void {
    this.slots.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}
