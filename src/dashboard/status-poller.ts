/**
 * Polls `/api/status` while the stream is connected: the summaries carry rates only, so node
 * states, cumulative failure counts, the topology and the failing readiness checks come from here.
 */
import { fetchStatus } from './api-client.js';
import type { StatusSnapshot } from './lib/api-types.js';

export class StatusPoller {
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;

  constructor(
    private readonly onStatus: (status: StatusSnapshot) => void,
    private readonly intervalMs = 2000,
  ) {}

  /** Fetches now and then every interval, until `stop()`. */
  start(): void {
    this.poll();
    this.timer ??= setInterval(() => this.poll(), this.intervalMs);
  }

  /** Stops polling, e.g. while disconnected. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fetches once, skipping when a fetch is still pending; failures wait for the next poll. */
  poll(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    fetchStatus()
      .then((status) => this.onStatus(status))
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
      });
  }
}
