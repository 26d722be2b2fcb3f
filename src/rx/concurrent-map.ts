/**
 * `concurrentMap(project, concurrency)`: runs up to `concurrency` async projections at once and
 * emits their results in input order. `mergeMap(fn, n)` bounds concurrency but reorders; offsets,
 * per-key order and readable output need the order kept.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

/** Maps each value through an async function, `concurrency` at a time, keeping input order. */
export function concurrentMap<T, R>(
  project: (value: T, index: number) => Promise<R>,
  concurrency: number,
): OperatorFunction<T, R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting: { value: T; index: number }[] = [];
      const results = new Map<number, R>();
      let nextToStart = 0;
      let nextToEmit = 0;
      let running = 0;
      let sourceDone = false;
      let closed = false;

      const drain = (): void => {
        while (results.has(nextToEmit)) {
          const result = results.get(nextToEmit) as R;
          results.delete(nextToEmit);
          nextToEmit += 1;
          subscriber.next(result);
        }
        while (running < concurrency && waiting.length > 0) {
          const job = waiting.shift() as { value: T; index: number };
          launch(job.value, job.index);
        }
        if (sourceDone && running === 0 && waiting.length === 0 && !closed) {
          closed = true;
          subscriber.complete();
        }
      };

      const launch = (value: T, index: number): void => {
        running += 1;
        let promise: Promise<R>;
        try {
          promise = project(value, index);
        } catch (error) {
          promise = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        promise.then(
          (result) => {
            running -= 1;
            if (closed) return;
            results.set(index, result);
            drain();
          },
          (error: unknown) => {
            running -= 1;
            if (closed) return;
            closed = true;
            subscriber.error(error);
          },
        );
      };

      const subscription = source.subscribe({
        next: (value) => {
          const index = nextToStart;
          nextToStart += 1;
          if (running < concurrency) launch(value, index);
          else waiting.push({ value, index });
        },
        error: (error: unknown) => {
          closed = true;
          subscriber.error(error);
        },
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        closed = true;
        subscription.unsubscribe();
      };
    });
}
