/**
 * How both KServe v2 clients make a call: a deadline per attempt, retries with exponential backoff
 * (full jitter, `src/core/retry.ts`) for the server's trouble only, and a circuit breaker shared by
 * every call of the client, so that a server that is down is not hammered by each batch in turn.
 */
import { CentaurError, toCentaurError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { isServerTrouble } from './classify.js';

/** Settings shared by the HTTP and gRPC clients. */
export interface KserveClientOptions {
  /** Deadline of one attempt, in milliseconds (default 30000). */
  readonly timeoutMs?: number;
  /** Deadline of a health call (live, ready, modelReady), in milliseconds (default 5000). */
  readonly healthTimeoutMs?: number;
  /** Attempts per call including the first (default 4), and the backoff between them. */
  readonly retry?: { readonly attempts?: number; readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /** Consecutive failed attempts that open the circuit (default 5), and its cool-down (default 5000 ms). */
  readonly breaker?: { readonly failureThreshold?: number; readonly coolDownMs?: number };
  /** Called before each retry, e.g. to log or count it. */
  readonly onRetry?: (error: CentaurError, attempt: number, delayMs: number) => void;
  /** Called when the client's circuit opens (true) and closes again (false). */
  readonly onCircuit?: (open: boolean) => void;
}

/** The settings with defaults filled in, and the client's breaker. */
export interface CallPolicy {
  readonly timeoutMs: number;
  readonly healthTimeoutMs: number;
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly breaker: CircuitBreaker;
  readonly onRetry?: (error: CentaurError, attempt: number, delayMs: number) => void;
}

/** Fills in the defaults and creates the breaker for one client. */
export function callPolicy(options: KserveClientOptions = {}): CallPolicy {
  const policy: CallPolicy = {
    timeoutMs: options.timeoutMs ?? 30_000,
    healthTimeoutMs: options.healthTimeoutMs ?? 5_000,
    attempts: Math.max(1, options.retry?.attempts ?? 4),
    baseDelayMs: options.retry?.baseDelayMs ?? 100,
    maxDelayMs: options.retry?.maxDelayMs ?? 2_000,
    breaker: new CircuitBreaker({
      failureThreshold: options.breaker?.failureThreshold ?? 5,
      coolDownMs: options.breaker?.coolDownMs ?? 5_000,
      ...(options.onCircuit === undefined ? {} : { onChange: options.onCircuit }),
    }),
  };
  return options.onRetry === undefined ? policy : { ...policy, onRetry: options.onRetry };
}

/**
 * Runs `attempt` under the policy. Each attempt asks the breaker first (an open circuit fails at
 * once with a retriable INFERENCE_SERVER_UNAVAILABLE), records the outcome (only the server's
 * trouble counts as a failure), and a retriable error is retried until the attempts run out; the
 * last error then says how many attempts were made.
 */
export async function callWithPolicy<T>(policy: CallPolicy, where: string, attempt: () => Promise<T>): Promise<T> {
  const { breaker } = policy;
  let attempts = 0;
  try {
    return await retry(
      async () => {
        attempts += 1;
        if (!breaker.tryAcquire()) {
          throw new CentaurError(
            'INFERENCE_SERVER_UNAVAILABLE',
            `${where}: circuit open after ${breaker.consecutiveFailures} consecutive failures; next try in ${Math.ceil(breaker.retryInMs)} ms`,
          );
        }
        try {
          const result = await attempt();
          breaker.success();
          return result;
        } catch (error) {
          const coded = toCentaurError(error, 'INFERENCE_FAILED');
          if (isServerTrouble(coded)) breaker.failure();
          else breaker.success();
          throw coded;
        }
      },
      {
        attempts: policy.attempts,
        baseDelayMs: policy.baseDelayMs,
        maxDelayMs: policy.maxDelayMs,
        ...(policy.onRetry === undefined ? {} : { onRetry: policy.onRetry }),
      },
    );
  } catch (error) {
    if (error instanceof CentaurError && error.retriable && attempts > 1) {
      throw new CentaurError(error.code, `${error.message} (gave up after ${attempts} attempts)`, { cause: error });
    }
    throw error;
  }
}
