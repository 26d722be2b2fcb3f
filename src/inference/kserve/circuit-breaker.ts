/**
 * A small circuit breaker: after `failureThreshold` consecutive failures it opens and callers fail
 * fast for `coolDownMs`; then it is half-open and lets one trial call through: a success closes it,
 * a failure opens it again for another cool-down. Only infrastructure failures should be recorded as
 * failures; a server that answers (even "bad request") is healthy.
 */

/** `closed`: calls go through; `open`: calls fail fast; `half-open`: one trial call is allowed. */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (at least 1). */
  readonly failureThreshold: number;
  /** How long the circuit stays open before a trial call, in milliseconds. */
  readonly coolDownMs: number;
  /** The clock, in milliseconds; tests pass a fake one. */
  readonly now?: () => number;
  /** Called when the circuit opens (true) and when a success closes it again (false), e.g. for a gauge. */
  readonly onChange?: (open: boolean) => void;
}

/** Counts consecutive failures and decides whether a call may go out. */
export class CircuitBreaker {
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openedAt: number | null = null;
  private trialInFlight = false;
  private readonly onChange: ((open: boolean) => void) | undefined;

  constructor(options: CircuitBreakerOptions) {
    this.threshold = Math.max(1, Math.floor(options.failureThreshold));
    this.coolDownMs = Math.max(0, options.coolDownMs);
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange;
  }

  /** The state now (an open circuit whose cool-down has passed reads as half-open). */
  get state(): CircuitState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.coolDownMs ? 'half-open' : 'open';
  }

  /** Consecutive failures recorded since the last success. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Milliseconds until an open circuit allows a trial call (0 when closed or half-open). */
  get retryInMs(): number {
    if (this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.coolDownMs - this.now());
  }

  /**
   * Asks to make a call: true when it may go out (the caller must then record its outcome with
   * `success()` or `failure()`), false when the circuit is open or a half-open trial is in flight.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Records a call that reached a healthy server: closes the circuit. */
  success(): void {
    const wasOpen = this.openedAt !== null;
    this.failures = 0;
    this.openedAt = null;
    this.trialInFlight = false;
    if (wasOpen) this.onChange?.(false);
  }

  /** Records an infrastructure failure: opens the circuit at the threshold, or again after a failed trial. */
  failure(): void {
    this.failures += 1;
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    if (trial || this.failures >= this.threshold) {
      const wasOpen = this.openedAt !== null;
      this.openedAt = this.now();
      if (!wasOpen) this.onChange?.(true);
    }
  }
}
