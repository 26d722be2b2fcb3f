/**
 * `TensorPool`: pre-allocated typed-array buffers of one capacity, reused batch after batch so the
 * hot path allocates nothing. `acquire()` never blocks: when every buffer is out it allocates a new
 * one and counts it in `allocatedBeyondPool` (a sign that `poolSize` is too small).
 */
import { CentaurError } from '../core/errors.js';

/** Element type of a pooled buffer. */
export type TensorDtype = 'float32' | 'uint8';

/** A buffer the pool hands out. */
export type TensorBuffer = Float32Array | Uint8Array;

/** Counters for metrics and tests. */
export interface TensorPoolStats {
  /** Buffers the pool keeps (free or out). */
  readonly size: number;
  /** Buffers currently acquired and not yet released. */
  readonly outstanding: number;
  /** Buffers allocated because every pooled one was out. */
  readonly allocatedBeyondPool: number;
}

/** A fixed set of same-sized buffers, handed out and taken back. */
export class TensorPool {
  readonly dtype: TensorDtype;
  /** Elements per buffer. */
  readonly capacity: number;
  readonly size: number;
  private readonly free: TensorBuffer[] = [];
  // Weak: a buffer whose holder drops it without release is garbage-collected, not leaked
  // (the `outstanding` counter still shows it).
  private readonly out = new WeakSet<TensorBuffer>();
  private outCount = 0;
  private beyond = 0;

  /** Allocates `size` buffers of `capacity` elements up front. */
  constructor(dtype: TensorDtype, capacity: number, size: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
    this.dtype = dtype;
    this.capacity = capacity;
    this.size = size;
    for (let i = 0; i < size; i += 1) this.free.push(this.allocate());
  }

  /** Takes a free buffer, or allocates one (counted) when all are out; never blocks. */
  acquire(): TensorBuffer {
    let buffer = this.free.pop();
    if (buffer === undefined) {
      buffer = this.allocate();
      this.beyond += 1;
    }
    this.out.add(buffer);
    this.outCount += 1;
    return buffer;
  }

  /** Gives a buffer back; releasing one twice (or one this pool did not hand out) is a bug. */
  release(buffer: TensorBuffer): void {
    if (!this.out.delete(buffer)) {
      throw new CentaurError('INTERNAL', 'TensorPool.release: buffer is not outstanding (released twice or foreign)');
    }
    this.outCount -= 1;
    // Keep at most `size` free buffers: extras allocated under pressure are left to the GC.
    if (this.free.length < this.size) this.free.push(buffer);
  }

  /** Current counters. */
  stats(): TensorPoolStats {
    return { size: this.size, outstanding: this.outCount, allocatedBeyondPool: this.beyond };
  }

  private allocate(): TensorBuffer {
    return this.dtype === 'float32' ? new Float32Array(this.capacity) : new Uint8Array(this.capacity);
  }
}
