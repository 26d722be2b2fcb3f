/**
 * The bookkeeping of the `drift-merge-source`: window partials of several instances are gathered
 * per window (topology, node, window bounds) and merged with `WindowState.merge`. A window is
 * complete once partials of `instances` distinct instances arrived, or expires `graceMs` after its
 * first partial arrived, with whatever instances contributed. A second partial of the same
 * instance for a pending window (a redelivery) is ignored, and so is a partial of a window already
 * reported (a redelivery, or an instance later than the grace): merging is idempotent per instance.
 */
import type { WindowRef } from './report.js';
import { WindowState } from './window-state.js';
import type { WindowSetup } from './window-state.js';
import type { DriftPartial } from './monitor.js';

/** Where a partial was read (Kafka partition and offset); why: offsets commit once its window is reported. */
export interface PartialPosition {
  readonly partition: string;
  readonly offset: number;
}

/** A window whose partials are merged: complete (every expected instance) or expired (grace over). */
export interface MergedWindow {
  readonly topology: string;
  readonly node: string;
  readonly window: WindowRef;
  readonly state: WindowState;
  /** The instances that contributed, sorted. */
  readonly instances: readonly string[];
  /** Late inputs summed over the partials. */
  readonly late: number;
  /** Whether every expected instance contributed (false: the grace timeout ran out). */
  readonly complete: boolean;
  /** Where its partials were read. */
  readonly positions: readonly PartialPosition[];
}

/** What became of one partial. */
export type AddOutcome =
  | { readonly kind: 'pending' }
  | { readonly kind: 'complete'; readonly merged: MergedWindow }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'after-report' };

/** Settings of the merger. */
export interface MergerOptions {
  readonly setup: WindowSetup;
  /** Instances whose partials make a window complete. */
  readonly instances: number;
  /** Wall-clock time after a window's first partial at which it is reported anyway. */
  readonly graceMs: number;
  /** Reported windows remembered to recognise redelivered partials (default 10 000). */
  readonly remember?: number;
}

interface Pending {
  readonly topology: string;
  readonly node: string;
  readonly window: WindowRef;
  readonly state: WindowState;
  readonly instances: Set<string>;
  late: number;
  readonly firstAt: number;
  readonly positions: PartialPosition[];
}

/** The identity of a window across instances. */
function windowKey(p: Pick<DriftPartial, 'topology' | 'node' | 'window'>): string {
  return `${p.topology}/${p.node}/${p.window.kind}/${p.window.start}/${p.window.end}`;
}

/** Gathers and merges partials per window; why: one report per window, whatever the number of instances. */
export class PartialMerger {
  private readonly pending = new Map<string, Pending>();
  private readonly reported = new Set<string>();
  private readonly remember: number;

  constructor(private readonly options: MergerOptions) {
    if (!(options.instances >= 1)) throw new RangeError(`instances must be at least 1, got ${options.instances}`);
    this.remember = options.remember ?? 10_000;
  }

  /** Windows waiting for partials. */
  get open(): number {
    return this.pending.size;
  }

  /** Takes one partial read at `position` at wall-clock `now`; a window it completes is returned merged. */
  add(partial: DriftPartial, position: PartialPosition, now: number): AddOutcome {
    const key = windowKey(partial);
    if (this.reported.has(key)) return { kind: 'after-report' };
    let entry = this.pending.get(key);
    if (entry?.instances.has(partial.instance) === true) return { kind: 'duplicate' };
    const state = WindowState.fromJSON(this.options.setup, partial.state);
    if (entry === undefined) {
      entry = { topology: partial.topology, node: partial.node, window: partial.window, state, instances: new Set(), late: 0, firstAt: now, positions: [] };
      this.pending.set(key, entry);
    } else {
      entry.state.merge(state);
    }
    entry.instances.add(partial.instance);
    entry.late += partial.late;
    entry.positions.push(position);
    if (entry.instances.size < this.options.instances) return { kind: 'pending' };
    return { kind: 'complete', merged: this.take(key, entry, true) };
  }

  /** Windows whose grace ran out by `now`, in the order their first partials arrived. */
  expire(now: number): MergedWindow[] {
    const out: MergedWindow[] = [];
    for (const [key, entry] of this.pending) if (now - entry.firstAt >= this.options.graceMs) out.push(this.take(key, entry, false));
    return out;
  }

  private take(key: string, entry: Pending, complete: boolean): MergedWindow {
    this.pending.delete(key);
    this.reported.add(key);
    if (this.reported.size > this.remember) this.reported.delete(this.reported.values().next().value as string);
    return {
      topology: entry.topology,
      node: entry.node,
      window: entry.window,
      state: entry.state,
      instances: [...entry.instances].sort(),
      late: entry.late,
      complete,
      positions: entry.positions,
    };
  }
}
