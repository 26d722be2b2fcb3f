/**
 * A counting limiter: at most `limit` tasks run at once, the others wait in arrival order. The
 * `kserve` backend puts its requests through one, so that `maxInFlight` bounds the calls on a gRPC
 * channel as the connection pool bounds them over HTTP; `object-sink` shares one across its writes,
 * so that its image uploads never queue for a socket past their connection timeout.
 */

/** Runs async tasks with at most `limit` of them in flight. */
export class Limiter {
  private readonly limit: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** Tasks running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Runs `task` once a slot is free; the slot is freed when its promise settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never dips and overshoots.
      if (next === undefined) this.active -= 1;
      else next();
    }
  }
}
