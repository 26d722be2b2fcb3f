/**
 * When to ask for retraining: a condition (dataset drift, or one feature's drift, or embedding
 * drift) must hold for `consecutive` windows in a row to start an episode, which emits one request;
 * the episode ends only after `recovery` windows in a row without the condition (hysteresis), and a
 * new episode asks again only once `cooldownMs` has passed since the last request (an episode that
 * starts inside the cooldown is recorded as suppressed and never asks). One episode, one request.
 */
import type { DriftReport } from './report.js';

/** Trigger settings. */
export interface RetrainTriggerOptions {
  /** `dataset`, `embedding`, or a feature name. */
  readonly on: string;
  readonly consecutive: number;
  readonly recovery: number;
  readonly cooldownMs: number;
}

/** A retraining request (schemas/avro/retrain-request.avsc). */
export interface RetrainRequest {
  readonly id: string;
  readonly topology: string;
  readonly node: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly reason: string;
  readonly requestedAt: number;
  /** The windows of the streak that started the episode, oldest first. */
  readonly windows: readonly { readonly kind: 'time' | 'count'; readonly start: number; readonly end: number; readonly inputs: number; readonly shareOfDriftedColumns: number | null }[];
  /** The features that drifted in the last window of the streak, with their scores. */
  readonly driftedFeatures: readonly { readonly name: string; readonly method: string; readonly score: number; readonly threshold: number }[];
  readonly embeddingScore: number | null;
}

/** What one window did to the trigger. */
export type TriggerOutcome = { readonly kind: 'request'; readonly request: RetrainRequest } | { readonly kind: 'suppressed' } | { readonly kind: 'none' };

/** Whether a report meets the condition. */
export function conditionHolds(report: DriftReport, on: string): boolean {
  if (on === 'dataset') return report.dataset?.datasetDrift === true;
  if (on === 'embedding') return report.embedding?.drifted === true;
  return report.columns.some((c) => c.name === on && c.drifted);
}

/** The hysteresis and cooldown state machine; why: one retraining request per drift episode. */
export class RetrainTrigger {
  private streak: DriftReport[] = [];
  private inEpisode = false;
  private clean = 0;
  private lastRequestAt: number | undefined;

  constructor(private readonly options: RetrainTriggerOptions) {
    if (!(options.consecutive >= 1) || !(options.recovery >= 1) || !(options.cooldownMs >= 0)) throw new RangeError('consecutive and recovery must be at least 1, cooldownMs at least 0');
  }

  /** Whether an episode is open now. */
  get episodeOpen(): boolean {
    return this.inEpisode;
  }

  /** Feeds one window's report (in window order) at wall-clock time `now`. */
  observe(report: DriftReport, now: number): TriggerOutcome {
    if (!conditionHolds(report, this.options.on)) {
      this.streak = [];
      if (this.inEpisode) {
        this.clean += 1;
        if (this.clean >= this.options.recovery) this.inEpisode = false;
      }
      return { kind: 'none' };
    }
    this.clean = 0;
    if (this.inEpisode) return { kind: 'none' };
    this.streak.push(report);
    if (this.streak.length > this.options.consecutive) this.streak.shift();
    if (this.streak.length < this.options.consecutive) return { kind: 'none' };
    this.inEpisode = true;
    const windows = this.streak;
    this.streak = [];
    if (this.lastRequestAt !== undefined && now - this.lastRequestAt < this.options.cooldownMs) return { kind: 'suppressed' };
    this.lastRequestAt = now;
    return { kind: 'request', request: this.request(windows, now) };
  }

  private request(windows: readonly DriftReport[], now: number): RetrainRequest {
    const last = windows[windows.length - 1]!;
    return {
      id: `${last.topology}/${last.node}/${last.window.kind}-${last.window.start}-${last.window.end}`,
      topology: last.topology,
      node: last.node,
      model: last.model,
      reason: this.options.on,
      requestedAt: now,
      windows: windows.map((r) => ({ kind: r.window.kind, start: r.window.start, end: r.window.end, inputs: r.inputs, shareOfDriftedColumns: r.dataset?.shareOfDriftedColumns ?? null })),
      driftedFeatures: last.columns.filter((c) => c.drifted).map((c) => ({ name: c.name, method: c.method, score: c.score, threshold: c.threshold })),
      embeddingScore: last.embedding?.score ?? null,
    };
  }
}
