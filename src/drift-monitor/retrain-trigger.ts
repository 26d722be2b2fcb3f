/**
 * When to ask for retraining: a condition (dataset drift, embedding drift, drift of the model's
 * outputs, one feature's drift, a drop in labelled accuracy, or any-of / all-of several) must hold for `consecutive` windows in a row to start an episode,
 * which emits one request; the episode ends only after `recovery` windows in a row without the
 * condition (hysteresis), and a new episode asks again only once `cooldownMs` has passed since the
 * last request (an episode that starts inside the cooldown is recorded as suppressed and never
 * asks). One episode, one request.
 *
 * Reports must come in window order. A report that is not newer than the last one seen for the
 * same node and model version — an at-least-once redelivery, or a window older than one already
 * handled — is ignored (`stale`), so it never counts twice. The state is plain JSON, so a sink can
 * keep it across restarts. Used by the `drift` operator's `retrain` option, `drift-merge-source`
 * and `retrain-trigger-sink`.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { DriftReport, WindowRef } from './report.js';

/** Default drop of accuracy (absolute) that counts for `on: accuracy`. */
export const DEFAULT_ACCURACY_DROP = 0.05;
/** Default least number of labelled inputs a window needs to count for `on: accuracy`. */
export const DEFAULT_MIN_LABELLED = 30;

const Signals = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });

/** The condition with calibrated thresholds when none is given: a new class shows in embeddings and outputs before image statistics. */
export const DEFAULT_RETRAIN_ON = { anyOf: ['dataset', 'embedding'] } as const;
/** The condition with Evidently's thresholds when none is given (its embedding threshold of 0.2 alarms on every window of a large embedding). */
export const UNCALIBRATED_RETRAIN_ON = 'dataset';

/** The trigger's condition options, as a topology writes them (a `retrain` block holds them with its outputs). */
export const RetrainConditionOptions = {
  on: Type.Optional(
    Type.Union([Type.String({ minLength: 1 }), Signals, Type.Object({ anyOf: Signals }, { additionalProperties: false }), Type.Object({ allOf: Signals }, { additionalProperties: false })], {
      description:
        'The condition that counts: a signal — `dataset`, `embedding`, `outputs` (class shares, confidence, probabilities), `accuracy` (labelled accuracy dropped by `accuracyDrop`) or a feature name — or several, as a list or `{ anyOf: [...] }` (any holds) or `{ allOf: [...] }` (all hold). Default: `{ anyOf: [dataset, embedding] }` for reports with calibrated thresholds, `dataset` for reports with Evidently\'s.',
    }),
  ),
  consecutive: Type.Integer({ minimum: 1, default: 3, description: 'Windows in a row with the condition that start an episode (and its one request).' }),
  recovery: Type.Integer({ minimum: 1, default: 2, description: 'Windows in a row without the condition that end an episode.' }),
  cooldownMs: Type.Integer({ minimum: 0, default: 3_600_000, description: 'Least time between two requests, in report time; an episode starting sooner sends none.' }),
  accuracyDrop: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: DEFAULT_ACCURACY_DROP, description: '`on: accuracy`: absolute drop below the baseline (0.05 = five points) at or beyond which a window counts.' }),
  minLabelled: Type.Integer({ minimum: 1, default: DEFAULT_MIN_LABELLED, description: '`on: accuracy`: windows with fewer labelled inputs count neither way (they neither extend nor break a streak).' }),
  baselineAccuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: '`on: accuracy`: the accuracy to compare with (default: the reference profile\'s, carried in each report).' })),
};
const _retrainCondition = Type.Object(RetrainConditionOptions);
/** A filled `retrain` condition block. */
export type RetrainConditionValues = Static<typeof _retrainCondition>;

/** A condition: one signal, a list of signals (any of them), or an explicit any-of / all-of. */
export type RetrainCondition = string | readonly string[] | { readonly anyOf: readonly string[] } | { readonly allOf: readonly string[] };

/** A condition as the signals it combines and how. */
export function conditionParts(on: RetrainCondition): { readonly combine: 'any' | 'all'; readonly signals: readonly string[] } {
  if (typeof on === 'string') return { combine: 'any', signals: [on] };
  if (Array.isArray(on)) return { combine: 'any', signals: on as readonly string[] };
  if ('allOf' in on) return { combine: 'all', signals: on.allOf };
  return { combine: 'any', signals: (on as { readonly anyOf: readonly string[] }).anyOf };
}

/** A condition as text for logs and the request's `reason`: `dataset`, `anyOf(dataset, embedding)`. */
export function describeCondition(on: RetrainCondition): string {
  const { combine, signals } = conditionParts(on);
  return signals.length === 1 ? signals[0]! : `${combine}Of(${signals.join(', ')})`;
}

/** Whether a condition reads labelled accuracy; why: a trigger without a baseline warns once. */
export function watchesAccuracy(on: RetrainCondition | undefined): boolean {
  return on !== undefined && conditionParts(on).signals.includes('accuracy');
}

/**
 * The condition a report is judged by: the one given, else any of dataset and embedding drift
 * when the report's thresholds are calibrated, else dataset drift alone; why: Evidently's
 * embedding threshold alarms on every window of a 1,280-d embedding, so it must not count by default.
 */
export function effectiveCondition(options: Pick<RetrainTriggerOptions, 'on'>, report: Pick<DriftReport, 'thresholds'>): RetrainCondition {
  return options.on ?? (report.thresholds === 'calibrated' ? DEFAULT_RETRAIN_ON : UNCALIBRATED_RETRAIN_ON);
}

/** Trigger settings. */
export interface RetrainTriggerOptions {
  /** The signals that count and how they combine (default: {@link effectiveCondition}). */
  readonly on?: RetrainCondition;
  readonly consecutive: number;
  readonly recovery: number;
  readonly cooldownMs: number;
  /** `on: accuracy`: drop that counts (default 0.05). */
  readonly accuracyDrop?: number;
  /** `on: accuracy`: labelled inputs a window needs to count (default 30). */
  readonly minLabelled?: number;
  /** `on: accuracy`: the baseline (default: the report's reference accuracy). */
  readonly baselineAccuracy?: number;
}

/** The trigger settings of a filled `retrain` block; why: the operator, the merge source and the sink read them alike. */
export function retrainTriggerOptions(o: RetrainConditionValues): RetrainTriggerOptions {
  return {
    ...(o.on === undefined ? {} : { on: o.on }),
    consecutive: o.consecutive,
    recovery: o.recovery,
    cooldownMs: o.cooldownMs,
    accuracyDrop: o.accuracyDrop,
    minLabelled: o.minLabelled,
    ...(o.baselineAccuracy === undefined ? {} : { baselineAccuracy: o.baselineAccuracy }),
  };
}

/** One window of a request's streak. */
export interface RetrainWindow {
  readonly kind: 'time' | 'count';
  readonly start: number;
  readonly end: number;
  readonly inputs: number;
  readonly shareOfDriftedColumns: number | null;
  /** Labelled inputs of the window and their accuracy (null without labels). */
  readonly labelled: number | null;
  readonly accuracy: number | null;
}

/** A retraining request (schemas/avro/retrain-request.avsc). */
export interface RetrainRequest {
  readonly id: string;
  readonly topology: string;
  readonly node: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  /** The condition, as text (`dataset`, `anyOf(dataset, embedding)`). */
  readonly reason: string;
  /** The signals that held in the last window of the streak. */
  readonly reasons: readonly string[];
  /** The drift episode: topology, node, model version and the streak's first window; a trainer trains once per episode. */
  readonly episode: string;
  readonly requestedAt: number;
  /** The windows of the streak that started the episode, oldest first. */
  readonly windows: readonly RetrainWindow[];
  /** The features that drifted in the last window of the streak, with their scores. */
  readonly driftedFeatures: readonly { readonly name: string; readonly method: string; readonly score: number; readonly threshold: number }[];
  readonly embeddingScore: number | null;
  /** `on: accuracy`: the accuracy the windows were compared with. */
  readonly baselineAccuracy: number | null;
}

/** What one window did to the trigger; `stale`: a report not newer than the last one (a redelivery, or out of order), ignored. */
export type TriggerOutcome =
  | { readonly kind: 'request'; readonly request: RetrainRequest }
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'stale'; readonly why: 'duplicate' | 'out-of-order' }
  | { readonly kind: 'none' };

/** Whether a window meets the condition, does not, or cannot tell (too few labels, no baseline). */
export type ConditionVerdict = 'holds' | 'clear' | 'unknown';

/** The accuracy a report is compared with under these options, or null when there is none. */
export function baselineOf(report: DriftReport, options: RetrainTriggerOptions): number | null {
  return options.baselineAccuracy ?? report.accuracy?.reference ?? null;
}

/** Whether a report shows one signal: `dataset`, `embedding`, `outputs`, `accuracy` or a feature name. */
export function signalVerdict(report: DriftReport, signal: string, options: RetrainTriggerOptions): ConditionVerdict {
  if (signal === 'dataset') return report.dataset?.datasetDrift === true ? 'holds' : 'clear';
  if (signal === 'embedding') return report.embedding?.drifted === true ? 'holds' : 'clear';
  if (signal === 'outputs') return report.outputs?.drifted === true ? 'holds' : 'clear';
  if (signal === 'accuracy') {
    const a = report.accuracy;
    const baseline = baselineOf(report, options);
    if (a === null || a.labelled < (options.minLabelled ?? DEFAULT_MIN_LABELLED) || baseline === null) return 'unknown';
    // A tolerance far below any meaningful accuracy step, so that 0.9 − 0.8 counts as a drop of 0.1.
    return baseline - a.ratio >= (options.accuracyDrop ?? DEFAULT_ACCURACY_DROP) - 1e-9 ? 'holds' : 'clear';
  }
  return report.columns.some((c) => c.name === signal && c.drifted) ? 'holds' : 'clear';
}

/**
 * Whether a report meets the condition: any-of holds when one signal holds, and cannot tell only
 * when none can; all-of holds when every signal holds, and is clear as soon as one is clear.
 */
export function conditionVerdict(report: DriftReport, options: RetrainTriggerOptions): ConditionVerdict {
  const { combine, signals } = conditionParts(effectiveCondition(options, report));
  const verdicts = signals.map((s) => signalVerdict(report, s, options));
  if (combine === 'any') return verdicts.includes('holds') ? 'holds' : verdicts.every((v) => v === 'unknown') ? 'unknown' : 'clear';
  return verdicts.includes('clear') ? 'clear' : verdicts.every((v) => v === 'holds') ? 'holds' : 'unknown';
}

function checkOptions(o: RetrainTriggerOptions): void {
  if (!(o.consecutive >= 1) || !(o.recovery >= 1) || !(o.cooldownMs >= 0)) throw new RangeError('consecutive and recovery must be at least 1, cooldownMs at least 0');
  if (o.on !== undefined && conditionParts(o.on).signals.length === 0) throw new RangeError('the retrain condition needs at least one signal');
  if (o.accuracyDrop !== undefined && !(o.accuracyDrop > 0 && o.accuracyDrop <= 1)) throw new RangeError('accuracyDrop must be in (0, 1]');
  if (o.minLabelled !== undefined && !(o.minLabelled >= 1)) throw new RangeError('minLabelled must be at least 1');
  if (o.baselineAccuracy !== undefined && !(o.baselineAccuracy >= 0 && o.baselineAccuracy <= 1)) throw new RangeError('baselineAccuracy must be in [0, 1]');
}

/** Where a report sits in its node's sequence: window start for event-time windows; for count windows (ordinals restart with the node) creation time, then start. */
function orderOf(report: DriftReport): readonly [number, number] {
  return report.window.kind === 'time' ? [report.window.start, report.window.end] : [report.createdAt, report.window.start];
}

/** The last report a trigger took, to tell redeliveries and older windows. */
export interface LastSeen {
  readonly window: WindowRef;
  readonly createdAt: number;
}

/** A trigger's state as plain JSON; why: a sink keeps it across restarts. */
export interface RetrainTriggerStateJson {
  readonly streak: readonly RetrainWindow[];
  readonly inEpisode: boolean;
  readonly clean: number;
  readonly lastRequestAt: number | null;
  readonly last: LastSeen | null;
}

/** The hysteresis and cooldown state machine of one node and model version; why: one retraining request per drift episode. */
export class RetrainTrigger {
  private streak: RetrainWindow[] = [];
  private inEpisode = false;
  private clean = 0;
  private lastRequestAt: number | undefined;
  private last: LastSeen | undefined;

  constructor(private readonly options: RetrainTriggerOptions, state?: RetrainTriggerStateJson) {
    checkOptions(options);
    if (state !== undefined) {
      this.streak = state.streak.slice(-options.consecutive);
      this.inEpisode = state.inEpisode;
      this.clean = state.clean;
      this.lastRequestAt = state.lastRequestAt ?? undefined;
      this.last = state.last ?? undefined;
    }
  }

  /** Whether an episode is open now. */
  get episodeOpen(): boolean {
    return this.inEpisode;
  }

  /** Feeds one window's report (in window order) at time `now` (ms; the cooldown is measured in it). */
  observe(report: DriftReport, now: number): TriggerOutcome {
    const stale = this.staleness(report);
    if (stale !== undefined) return { kind: 'stale', why: stale };
    this.last = { window: { ...report.window }, createdAt: report.createdAt };
    const verdict = conditionVerdict(report, this.options);
    if (verdict === 'unknown') return { kind: 'none' };
    if (verdict === 'clear') {
      this.streak = [];
      if (this.inEpisode) {
        this.clean += 1;
        if (this.clean >= this.options.recovery) this.inEpisode = false;
      }
      return { kind: 'none' };
    }
    this.clean = 0;
    if (this.inEpisode) return { kind: 'none' };
    this.streak.push(windowOf(report));
    if (this.streak.length > this.options.consecutive) this.streak.shift();
    if (this.streak.length < this.options.consecutive) return { kind: 'none' };
    this.inEpisode = true;
    const windows = this.streak;
    this.streak = [];
    if (this.lastRequestAt !== undefined && now - this.lastRequestAt < this.options.cooldownMs) return { kind: 'suppressed' };
    this.lastRequestAt = now;
    return { kind: 'request', request: this.request(windows, report, now) };
  }

  /** The state as plain JSON. */
  toJSON(): RetrainTriggerStateJson {
    return { streak: [...this.streak], inEpisode: this.inEpisode, clean: this.clean, lastRequestAt: this.lastRequestAt ?? null, last: this.last ?? null };
  }

  private staleness(report: DriftReport): 'duplicate' | 'out-of-order' | undefined {
    const last = this.last;
    if (last === undefined) return undefined;
    const w = report.window;
    if (w.kind === last.window.kind && w.start === last.window.start && w.end === last.window.end && (w.kind === 'time' || report.createdAt === last.createdAt)) return 'duplicate';
    if (w.kind !== last.window.kind) return undefined;
    const [a, b] = orderOf(report);
    const [la, lb] = orderOf({ ...report, window: last.window, createdAt: last.createdAt });
    return a < la || (a === la && b <= lb) ? 'out-of-order' : undefined;
  }

  private request(windows: readonly RetrainWindow[], last: DriftReport, now: number): RetrainRequest {
    const first = windows[0] ?? windowOf(last);
    const model = last.model === null ? '-' : `${last.model.name}@${last.model.version}`;
    return {
      id: `${last.topology}/${last.node}/${last.window.kind}-${last.window.start}-${last.window.end}`,
      topology: last.topology,
      node: last.node,
      model: last.model,
      reason: describeCondition(effectiveCondition(this.options, last)),
      reasons: conditionParts(effectiveCondition(this.options, last)).signals.filter((s) => signalVerdict(last, s, this.options) === 'holds'),
      // Count windows restart their ordinals with the node: the request time keeps such an episode's id unique.
      episode: `${last.topology}/${last.node}/${model}/${first.kind}-${first.start}${first.kind === 'count' ? `@${now}` : ''}`,
      requestedAt: now,
      windows,
      driftedFeatures: last.columns.filter((c) => c.drifted).map((c) => ({ name: c.name, method: c.method, score: c.score, threshold: c.threshold })),
      embeddingScore: last.embedding?.score ?? null,
      baselineAccuracy: watchesAccuracy(this.options.on) ? baselineOf(last, this.options) : null,
    };
  }
}

function windowOf(r: DriftReport): RetrainWindow {
  return {
    kind: r.window.kind,
    start: r.window.start,
    end: r.window.end,
    inputs: r.inputs,
    shareOfDriftedColumns: r.dataset?.shareOfDriftedColumns ?? null,
    labelled: r.accuracy?.labelled ?? null,
    accuracy: r.accuracy?.ratio ?? null,
  };
}

/** The state of every trigger of a {@link RetrainTriggers}, as plain JSON. */
export interface RetrainTriggersStateJson {
  readonly type: 'centaur-retrain-state';
  readonly version: 1;
  readonly triggers: readonly { readonly key: string; readonly state: RetrainTriggerStateJson }[];
}

/** Triggers kept at most (least recently used dropped); why: model versions come and go. */
const MAX_TRIGGERS = 1000;

/**
 * One trigger per topology, drift node and model version; why: a topic may carry several nodes'
 * reports, and a new model version (after retraining) starts its own episodes.
 */
export class RetrainTriggers {
  private readonly triggers = new Map<string, RetrainTrigger>();

  constructor(private readonly options: RetrainTriggerOptions, state?: RetrainTriggersStateJson) {
    checkOptions(options);
    for (const t of state?.triggers ?? []) this.triggers.set(t.key, new RetrainTrigger(options, t.state));
  }

  /** The key of a report's trigger. */
  static keyOf(report: DriftReport): string {
    return JSON.stringify([report.topology, report.node, report.model?.name ?? null, report.model?.version ?? null]);
  }

  /** Feeds one report to its node and model version's trigger. */
  observe(report: DriftReport, now: number): TriggerOutcome {
    const key = RetrainTriggers.keyOf(report);
    const trigger = this.triggers.get(key) ?? new RetrainTrigger(this.options);
    this.triggers.delete(key);
    this.triggers.set(key, trigger);
    if (this.triggers.size > MAX_TRIGGERS) this.triggers.delete(this.triggers.keys().next().value as string);
    return trigger.observe(report, now);
  }

  /** The state of every trigger. */
  toJSON(): RetrainTriggersStateJson {
    return { type: 'centaur-retrain-state', version: 1, triggers: [...this.triggers].map(([key, t]) => ({ key, state: t.toJSON() })) };
  }
}
