/**
 * The state of one window (or one pane of it) for every monitored feature: reservoirs (`evidently`
 * mode) or histograms over the profile's edges (`streaming` mode) for numerical features, category
 * counts for categorical ones, the embedding sum, the window's input count, event-time range and
 * latest model version, and the labelled inputs with the correct predictions among them (accuracy
 * once ground truth arrives). It merges with another window's state of the same setup and writes
 * itself as plain JSON, so panes make sliding windows and instances publish partials.
 */
import type { Envelope } from '../core/envelope.js';
import { DriftInputError } from '../drift/errors.js';
import { CategoryCountsState, type CategoryCountsStateJson } from '../drift/state/category-counts-state.js';
import { EmbeddingMeanState, type EmbeddingMeanStateJson } from '../drift/state/embedding-mean-state.js';
import { HistogramState, type HistogramStateJson } from '../drift/state/histogram-state.js';
import { ReservoirState, type ReservoirStateJson } from '../drift/state/reservoir-state.js';
import { featureValue } from './features.js';
import type { FeatureSpec } from './features.js';
import type { ModeCalibration } from './thresholds.js';
import type { ProfileRow, ReferenceProfile } from './profile.js';

/** How numerical features are kept: bounded samples (Evidently's numbers) or fixed bins (exact merges). */
export type WindowMode = 'evidently' | 'streaming';

/** What every window of one drift node is built from. */
export interface WindowSetup {
  readonly profile: ReferenceProfile;
  readonly mode: WindowMode;
  /** Features monitored, in report order (each is in the profile). */
  readonly features: readonly FeatureSpec[];
  /** Values kept per numerical feature per window in `evidently` mode. */
  readonly sampleCap: number;
  /** Whether embedding drift is measured (the profile has a centroid). */
  readonly embedding: boolean;
  /** The profile's calibrated thresholds for this mode, when the node uses them (else Evidently's). */
  readonly calibration?: ModeCalibration;
  /** The calibration's false-alarm rate (reported beside calibrated verdicts). */
  readonly falseAlarmRate?: number;
}

type FeatureState = ReservoirState | HistogramState | CategoryCountsState;
type FeatureStateJson = ReservoirStateJson | HistogramStateJson | CategoryCountsStateJson;

/** The plain-JSON form of a window state (a Kafka partial carries one). */
export interface WindowStateJson {
  readonly type: 'drift-window';
  readonly mode: WindowMode;
  readonly count: number;
  readonly eventTimeMin: number | null;
  readonly eventTimeMax: number | null;
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly features: Readonly<Record<string, FeatureStateJson>>;
  readonly embedding: EmbeddingMeanStateJson | null;
  /** Inputs with a known label and a prediction, and those predicted right (absent in partials of older versions: 0). */
  readonly labelled?: number;
  readonly correct?: number;
}

/** A seed per (window or pane, feature): reservoirs stay reproducible. */
function seedOf(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** One window's mergeable statistics; why: memory per window is bounded by the setup, not the rate. */
export class WindowState {
  readonly states = new Map<string, FeatureState>();
  embedding: EmbeddingMeanState | null;
  count = 0;
  eventTimeMin = Number.POSITIVE_INFINITY;
  eventTimeMax = Number.NEGATIVE_INFINITY;
  model: { name: string; version: string } | null = null;
  /** Inputs with a ground-truth label and a prediction; those whose top class equals the label. */
  labelled = 0;
  correct = 0;

  constructor(readonly setup: WindowSetup, seed: number) {
    setup.features.forEach((spec, i) => {
      const reference = setup.profile.features[spec.name];
      if (reference === undefined) throw new DriftInputError(`feature ${spec.name} is not in the reference profile`);
      if (reference.kind === 'categorical') this.states.set(spec.name, new CategoryCountsState());
      else if (setup.mode === 'streaming') this.states.set(spec.name, new HistogramState(reference.edges));
      else this.states.set(spec.name, new ReservoirState(setup.sampleCap, seedOf(seed, i)));
    });
    const e = setup.profile.embedding;
    this.embedding = setup.embedding && e !== null ? new EmbeddingMeanState(e.dimension) : null;
  }

  /** Adds one envelope's features. */
  add(envelope: Envelope): void {
    this.count += 1;
    if (envelope.eventTime < this.eventTimeMin) this.eventTimeMin = envelope.eventTime;
    if (envelope.eventTime > this.eventTimeMax) this.eventTimeMax = envelope.eventTime;
    if (envelope.model !== undefined) this.model = { name: envelope.model.name, version: envelope.model.version };
    if (envelope.label !== undefined && envelope.prediction !== undefined) {
      this.labelled += 1;
      if (envelope.prediction.label === envelope.label) this.correct += 1;
    }
    const classes = this.setup.profile.classes;
    for (const spec of this.setup.features) {
      const state = this.states.get(spec.name)!;
      const value = featureValue(envelope, spec, classes);
      if (state instanceof CategoryCountsState) state.add(value);
      else state.add(typeof value === 'number' ? value : undefined);
    }
    if (this.embedding !== null && envelope.embedding !== undefined) this.embedding.add(envelope.embedding);
  }

  /** Adds one reference row (feature values and embedding, no event time); why: calibration draws windows from held-out rows. */
  addRow(row: ProfileRow): void {
    this.count += 1;
    for (const spec of this.setup.features) {
      const state = this.states.get(spec.name)!;
      const value = row.values[spec.name];
      if (state instanceof CategoryCountsState) state.add(value);
      else state.add(typeof value === 'number' ? value : undefined);
    }
    if (this.embedding !== null && row.embedding !== undefined && row.embedding.length > 0) this.embedding.add(row.embedding);
  }

  /** Adds another state of the same setup into this one and returns this. */
  merge(other: WindowState): this {
    for (const [name, state] of this.states) {
      const o = other.states.get(name);
      if (o === undefined) throw new DriftInputError(`cannot merge windows: feature ${name} is missing on one side`);
      if (state instanceof CategoryCountsState && o instanceof CategoryCountsState) state.merge(o);
      else if (state instanceof HistogramState && o instanceof HistogramState) state.merge(o);
      else if (state instanceof ReservoirState && o instanceof ReservoirState) state.merge(o);
      else throw new DriftInputError(`cannot merge windows: feature ${name} is kept differently on each side`);
    }
    if (this.embedding !== null && other.embedding !== null) this.embedding.merge(other.embedding);
    this.count += other.count;
    this.labelled += other.labelled;
    this.correct += other.correct;
    this.eventTimeMin = Math.min(this.eventTimeMin, other.eventTimeMin);
    this.eventTimeMax = Math.max(this.eventTimeMax, other.eventTimeMax);
    this.model = other.model ?? this.model;
    return this;
  }

  /** The plain-JSON form. */
  toJSON(): WindowStateJson {
    const features: Record<string, FeatureStateJson> = {};
    for (const [name, state] of this.states) features[name] = state.toJSON();
    const empty = this.count === 0;
    return {
      type: 'drift-window',
      mode: this.setup.mode,
      count: this.count,
      eventTimeMin: empty ? null : this.eventTimeMin,
      eventTimeMax: empty ? null : this.eventTimeMax,
      model: this.model,
      features,
      embedding: this.embedding?.toJSON() ?? null,
      labelled: this.labelled,
      correct: this.correct,
    };
  }

  /** Reads a partial written by toJSON() on an instance with the same setup; why: merging across instances. */
  static fromJSON(setup: WindowSetup, json: WindowStateJson): WindowState {
    if (json.type !== 'drift-window') throw new DriftInputError(`expected a drift-window state, got ${String(json.type)}`);
    if (json.mode !== setup.mode) throw new DriftInputError(`a ${json.mode} partial cannot merge into a ${setup.mode} window`);
    const state = new WindowState(setup, 0);
    for (const spec of setup.features) {
      const j = json.features[spec.name];
      if (j === undefined) throw new DriftInputError(`partial lacks feature ${spec.name}`);
      const current = state.states.get(spec.name)!;
      if (current instanceof CategoryCountsState) state.states.set(spec.name, CategoryCountsState.fromJSON(j as CategoryCountsStateJson));
      else if (current instanceof HistogramState) state.states.set(spec.name, HistogramState.fromJSON(j as HistogramStateJson));
      else state.states.set(spec.name, ReservoirState.fromJSON(j as ReservoirStateJson));
    }
    if (state.embedding !== null && json.embedding !== null) state.embedding = EmbeddingMeanState.fromJSON(json.embedding);
    state.count = json.count;
    state.eventTimeMin = json.eventTimeMin ?? Number.POSITIVE_INFINITY;
    state.eventTimeMax = json.eventTimeMax ?? Number.NEGATIVE_INFINITY;
    state.model = json.model;
    const labelled = json.labelled ?? 0;
    const correct = json.correct ?? 0;
    if (!Number.isInteger(labelled) || !Number.isInteger(correct) || labelled < 0 || correct < 0 || correct > labelled) {
      throw new DriftInputError(`partial has invalid labelled counts (labelled ${String(labelled)}, correct ${String(correct)})`);
    }
    state.labelled = labelled;
    state.correct = correct;
    return state;
  }
}

export { seedOf };
