/**
 * `TensorPool`: pre-allocated typed-array buffers of one capacity, reused batch after batch so the
 * hot path allocates nothing. `acquire()` never blocks: when every buffer is out it allocates a new
 * one and counts it in `allocatedBeyondPool` (a sign that `poolSize` is too small). Half-precision
 * buffers are Uint16Arrays of IEEE binary16 bits (JavaScript has no 16-bit float array in Node 20).
 */
import type { PackedDtype } from '../core/component.js';
import { CentaurError } from '../core/errors.js';

/** Element type of a pooled buffer: float32, half precision (float16) or raw bytes. */
export type TensorDtype = PackedDtype;

/** A buffer the pool hands out: Float32Array, Uint16Array (float16 bits) or Uint8Array. */
export type TensorBuffer = Float32Array | Uint16Array | Uint8Array;

/** The element type a buffer holds, told by its array type (a Uint16Array holds float16 bits). */
export function dtypeOf(buffer: TensorBuffer): TensorDtype {
  return buffer instanceof Float32Array ? 'float32' : buffer instanceof Uint16Array ? 'float16' : 'uint8';
}

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
    switch (this.dtype) {
      case 'float32':
        return new Float32Array(this.capacity);
      case 'float16':
        return new Uint16Array(this.capacity);
      case 'uint8':
        return new Uint8Array(this.capacity);
    }
  }
}
