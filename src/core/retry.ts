/** The one retry helper: exponential backoff with full jitter, for retriable errors only. */
import { CentaurError } from './errors.js';

export interface RetryOptions {
  /** Total attempts, including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called before each wait, e.g. to log or count. */
  readonly onRetry?: (error: CentaurError, attempt: number, delayMs: number) => void;
  /** Once aborted, no further attempt: the last error is thrown (e.g. the run has ended). */
  readonly signal?: AbortSignal;
}

/** Runs `fn`, retrying retriable CentaurErrors with backoff; anything else is thrown at once. */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const aborted = (): boolean => options.signal?.aborted === true;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      const retriable = error instanceof CentaurError && error.retriable;
      if (!retriable || attempt >= options.attempts || aborted()) throw error;
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.random() * ceiling;
      options.onRetry?.(error, attempt, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
        options.signal?.addEventListener('abort', done, { once: true });
      });
      if (aborted()) throw error;
    }
  }
}
