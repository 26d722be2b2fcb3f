/**
 * Windows over a stream, built from panes: a window of `size` with a `slide` (size a multiple of
 * slide; tumbling when they are equal) is the merge of size/slide consecutive panes, so each input
 * is added once, to one pane, and a sliding window costs a merge at close. By count, pane p holds
 * the inputs numbered [p·slide, (p+1)·slide). By event time, pane p holds event times in
 * [p·slide, (p+1)·slide) ms; the watermark is the largest event time seen minus the allowed
 * lateness, a window closes once the watermark reaches its end, and an input whose windows have all
 * closed is late: counted, and kept out of the statistics. Open panes are bounded by
 * (size + allowed lateness)/slide + 1 whatever the rate.
 */
import type { WindowRef } from './report.js';

/** Window settings. */
export type WindowSpec =
  | { readonly by: 'count'; readonly size: number; readonly slide: number }
  | { readonly by: 'time'; readonly sizeMs: number; readonly slideMs: number; readonly allowedLatenessMs: number };

/** What the windower calls: make an empty pane, and take a closed window's panes. */
export interface WindowerCallbacks<P, T> {
  createPane(index: number): P;
  add(pane: P, item: T): void;
  close(window: WindowRef & { readonly index: number; readonly partial: boolean }, panes: readonly P[]): void;
}

/** Assigns inputs to panes and closes windows; why: tumbling and sliding windows by count or event time with one mechanism. */
export class Windower<P, T = unknown> {
  private readonly panes = new Map<number, P>();
  private readonly perWindow: number;
  private readonly slide: number;
  /** The next window to close (its first pane); undefined before the first input. */
  private next: number | undefined;
  private closedAny = false;
  private ordinal = 0;
  private maxEventTime = Number.NEGATIVE_INFINITY;
  private lateCount = 0;
  private pendingSinceClose = false;

  constructor(readonly spec: WindowSpec, private readonly callbacks: WindowerCallbacks<P, T>) {
    const size = spec.by === 'count' ? spec.size : spec.sizeMs;
    this.slide = spec.by === 'count' ? spec.slide : spec.slideMs;
    if (!(this.slide > 0) || !(size > 0) || size % this.slide !== 0) throw new RangeError(`window size ${size} must be a positive multiple of its slide ${this.slide}`);
    this.perWindow = size / this.slide;
  }

  /** Late inputs since the last call; why: each report says how many were dropped from its statistics. */
  takeLate(): number {
    const n = this.lateCount;
    this.lateCount = 0;
    return n;
  }

  /** Panes held now; why: the memory bound is tested and reported. */
  get openPanes(): number {
    return this.panes.size;
  }

  /** Adds one input; returns false when it was late (not counted in any window). */
  add(item: T, eventTime: number): boolean {
    if (this.spec.by === 'count') {
      const pane = Math.floor(this.ordinal / this.slide);
      this.ordinal += 1;
      this.next ??= 0;
      this.callbacks.add(this.paneAt(pane), item);
      this.pendingSinceClose = true;
      if (this.ordinal % this.slide === 0 && pane >= this.perWindow - 1) this.closeWindow(pane - this.perWindow + 1, false);
      return true;
    }
    const pane = Math.floor(eventTime / this.slide);
    if (this.next === undefined || (!this.closedAny && pane < this.next)) this.next = pane;
    if (pane < this.next) {
      this.lateCount += 1;
      return false;
    }
    this.callbacks.add(this.paneAt(pane), item);
    if (eventTime > this.maxEventTime) {
      this.maxEventTime = eventTime;
      this.advance(this.maxEventTime - this.spec.allowedLatenessMs);
    }
    return true;
  }

  /** End of input: closes every window that holds data (by count, the last partial window). */
  flush(): void {
    if (this.spec.by === 'count') {
      if (this.pendingSinceClose && this.ordinal > 0) {
        const last = Math.floor((this.ordinal - 1) / this.slide);
        this.closeWindow(Math.max(0, last - this.perWindow + 1), true);
      }
      this.panes.clear();
      return;
    }
    this.advance(Number.POSITIVE_INFINITY);
  }

  private paneAt(index: number): P {
    let pane = this.panes.get(index);
    if (pane === undefined) {
      pane = this.callbacks.createPane(index);
      this.panes.set(index, pane);
    }
    return pane;
  }

  /** Closes every time window whose end the watermark reached, skipping runs of empty windows. */
  private advance(watermark: number): void {
    if (this.next === undefined) return;
    for (;;) {
      if (this.panes.size === 0) return;
      let minPane = Number.POSITIVE_INFINITY;
      for (const k of this.panes.keys()) if (k < minPane) minPane = k;
      // Windows that end before the first pane with data are empty: jump over them.
      this.next = Math.max(this.next, minPane - this.perWindow + 1);
      if ((this.next + this.perWindow) * this.slide > watermark) return;
      this.closeWindow(this.next, false);
    }
  }

  private closeWindow(first: number, partial: boolean): void {
    const panes: P[] = [];
    for (let p = first; p < first + this.perWindow; p += 1) {
      const pane = this.panes.get(p);
      if (pane !== undefined) panes.push(pane);
    }
    const start = first * this.slide;
    const end = start + this.perWindow * this.slide;
    this.panes.delete(first);
    this.next = first + 1;
    this.closedAny = true;
    this.pendingSinceClose = false;
    if (panes.length === 0) return;
    this.callbacks.close({ kind: this.spec.by, index: first, start, end: partial && this.spec.by === 'count' ? this.ordinal : end, partial }, panes);
  }
}
