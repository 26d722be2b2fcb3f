/**
 * The `/api/events` stream, kept alive: an EventSource that is reopened with backoff whenever it
 * errors or goes quiet (no summary for a few seconds), reporting each change of connection state.
 */
import type { HistoryPoint, Summary } from './lib/api-types.js';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface LiveHandlers {
  /** Called with every parsed `summary` event. */
  readonly summary: (summary: Summary) => void;
  /** Called with the recent points the server sends when the stream opens. */
  readonly history?: (points: readonly HistoryPoint[]) => void;
  /** Called when the state changes; while disconnected, `retryInMs` is the wait before the next try (unset during a try). */
  readonly state: (state: ConnectionState, retryInMs?: number) => void;
}

export interface LiveOptions {
  /** A connection with no summary for this long counts as dropped. */
  readonly staleMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

const DEFAULTS: LiveOptions = { staleMs: 5000, minBackoffMs: 1000, maxBackoffMs: 8000 };

export class LiveConnection {
  private source: EventSource | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private failures = 0;
  private lastEventAt = 0;
  private current: ConnectionState | undefined;
  private readonly options: LiveOptions;

  constructor(
    private readonly url: string,
    private readonly handlers: LiveHandlers,
    options: Partial<LiveOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Opens the stream and keeps it open until `stop()`. */
  start(): void {
    this.open();
    this.watchdog ??= setInterval(() => this.checkStale(), 1000);
  }

  /** Closes the stream for good. */
  stop(): void {
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.watchdog = undefined;
    this.retryTimer = undefined;
    this.source?.close();
    this.source = undefined;
  }

  private setState(state: ConnectionState, retryInMs?: number): void {
    if (state === this.current && state !== 'disconnected') return;
    this.current = state;
    this.handlers.state(state, retryInMs);
  }

  private open(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.close();
    // After a drop the page keeps saying "disconnected" until a summary arrives again.
    if (this.current === 'disconnected') this.handlers.state('disconnected');
    else this.setState('connecting');
    const source = new EventSource(this.url);
    this.source = source;
    this.lastEventAt = Date.now();
    source.addEventListener('open', () => {
      this.lastEventAt = Date.now();
    });
    source.addEventListener('history', (event: MessageEvent<string>) => {
      let points: HistoryPoint[];
      try {
        points = (JSON.parse(event.data) as { points: HistoryPoint[] }).points;
      } catch {
        return;
      }
      if (Array.isArray(points)) this.handlers.history?.(points);
    });
    source.addEventListener('summary', (event: MessageEvent<string>) => {
      let summary: Summary;
      try {
        summary = JSON.parse(event.data) as Summary;
      } catch {
        return;
      }
      this.lastEventAt = Date.now();
      this.failures = 0;
      this.setState('connected');
      this.handlers.summary(summary);
    });
    // The browser would retry on its own at its own pace; closing and reopening here keeps the
    // state shown on the page truthful and the retry delay bounded.
    source.addEventListener('error', () => {
      if (this.source === source) this.drop();
    });
  }

  private checkStale(): void {
    if (this.source !== undefined && Date.now() - this.lastEventAt > this.options.staleMs) this.drop();
  }

  private drop(): void {
    this.source?.close();
    this.source = undefined;
    const delay = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** this.failures);
    this.failures += 1;
    this.setState('disconnected', delay);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }
}
