/**
 * `microBatchBuffer(maxSize, maxDelayMs, scheduler)`: groups values into arrays. A batch closes
 * when it holds `maxSize` values or `maxDelayMs` after its first value arrived, whichever is first;
 * the open batch is flushed when the source completes; errors pass through.
 *
 * Not `bufferTime(span, null, maxSize)`: its timer runs freely from subscription, so a batch can
 * close moments after its first value and idle periods emit empty arrays. Here the timer starts
 * with each batch's first value, which bounds every value's wait by `maxDelayMs` and emits nothing
 * while idle.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

/** Batches values by size or by time since the batch's first value (see the file comment). */
export function microBatchBuffer<T>(
  maxSize: number,
  maxDelayMs: number,
  scheduler: SchedulerLike,
): OperatorFunction<T, T[]> {
  if (!Number.isInteger(maxSize) || maxSize < 1) {
    throw new RangeError(`maxSize must be a positive integer, got ${maxSize}`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new RangeError(`maxDelayMs must be a finite number ≥ 0, got ${maxDelayMs}`);
  }
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let open: T[] | null = null;
      let timer: Subscription | null = null;

      const cancelTimer = (): void => {
        if (timer !== null) {
          timer.unsubscribe();
          timer = null;
        }
      };
      const flush = (): void => {
        cancelTimer();
        if (open === null) return;
        const batch = open;
        open = null;
        subscriber.next(batch);
      };

      const subscription = source.subscribe({
        next: (value) => {
          if (open === null) open = [];
          open.push(value);
          if (open.length >= maxSize) {
            flush();
            return;
          }
          if (open.length === 1) {
            const batch = open;
            const scheduled = scheduler.schedule(() => {
              // A timer that fires after its batch closed by size must not flush the next one.
              if (open === batch) flush();
            }, maxDelayMs);
            // A synchronous scheduler may already have fired it.
            if (open === batch) timer = scheduled;
          }
        },
        error: (error: unknown) => {
          cancelTimer();
          open = null;
          subscriber.error(error);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        cancelTimer();
        open = null;
        subscription.unsubscribe();
      };
    });
}
