/**
 * A drift node that follows the model versions the stream's predictions name: each version is
 * compared with its own reference, so a version trained for a shift is not measured against the
 * reference of the version it replaced (and does not ask to be retrained for the shift it was
 * trained on). A version's reference is the profile published with it (the manifest's
 * `referenceProfile`), or, when it has none, one built from the version's own first inputs — its
 * warm-up, the way NannyML takes a reference period right after a deployment — and calibrated on
 * a held-out part of them for the node's window size. Windows never mix versions: the open window
 * of a replaced version is left unreported, and inputs of a version already replaced are counted
 * and left out.
 */
import type { Envelope } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import { buildCalibratedProfile, HELD_OUT_FACTOR } from './calibration.js';
import type { DriftMetrics, UnmonitoredReason } from './drift-metrics.js';
import { featureValue } from './features.js';
import type { DriftMonitor } from './monitor.js';
import { profileFeatureSpecs } from './profile.js';
import type { ProfileRow, ReferenceProfile } from './profile.js';

/** What is known of a model version's reference: its published profile (or null) and its class names. */
export interface VersionReference {
  readonly profile: ReferenceProfile | null;
  readonly classes: readonly string[];
}

/** How a version without a published profile gets one. */
export interface WarmUpOptions {
  /** Inputs of the version the reference is built from. */
  readonly inputs: number;
  /** Window sizes (inputs) calibrated; those needing more than the warm-up holds are left out. */
  readonly sizes: readonly number[];
  /** Bootstrap windows per size. */
  readonly windows: number;
  readonly seed: number;
}

/** What {@link VersionedDriftMonitor} needs. */
export interface VersionedMonitorOptions {
  /** The followed model's name; predictions of other models are counted into the current version. */
  readonly model: string;
  /** The version served when the node starts, and its reference. */
  readonly initial: { readonly version: string; readonly reference: VersionReference };
  /** Looks up a version's reference (reading the registry). */
  readonly referenceOf: (version: string) => Promise<VersionReference>;
  readonly warmUp: WarmUpOptions;
  /** A monitor comparing windows with this profile; throws when the node's options do not fit it. */
  readonly monitorFor: (profile: ReferenceProfile) => DriftMonitor;
  /** Inputs held while a version's reference loads; more are counted and left out. */
  readonly maxPending?: number;
  readonly metrics: DriftMetrics;
  readonly logger: Logger;
  readonly nodeId: string;
}

type Phase =
  | { readonly kind: 'loading'; readonly pending: Envelope[] }
  | { readonly kind: 'warming'; readonly classes: readonly string[]; readonly rows: ProfileRow[] }
  | { readonly kind: 'monitoring'; readonly monitor: DriftMonitor }
  | { readonly kind: 'unmonitored' };

/** Versions remembered as replaced (their stragglers are left out); why: bounded memory. */
const MAX_RETIRED = 64;

/** One reference row from an envelope: the features a profile holds and a copy of the embedding. */
export function profileRowOf(envelope: Envelope, classes: readonly string[]): ProfileRow {
  const values: Record<string, ReturnType<typeof featureValue>> = {};
  for (const spec of profileFeatureSpecs(classes)) values[spec.name] = featureValue(envelope, spec, classes);
  return {
    id: envelope.id,
    values,
    ...(envelope.embedding === undefined ? {} : { embedding: Float32Array.from(envelope.embedding) }),
    ...(envelope.label === undefined ? {} : { label: envelope.label }),
    ...(envelope.prediction === undefined ? {} : { predicted: envelope.prediction.label }),
  };
}

/** Windows per model version, each against that version's reference; why: see the file comment. */
export class VersionedDriftMonitor {
  private version: string;
  private phase: Phase;
  private readonly retired = new Set<string>();
  private readonly monitors: DriftMonitor[] = [];
  private loading: Promise<void> = Promise.resolve();
  private readonly maxPending: number;

  constructor(private readonly options: VersionedMonitorOptions) {
    this.maxPending = options.maxPending ?? 10_000;
    this.version = options.initial.version;
    this.phase = { kind: 'unmonitored' };
    this.enter(options.initial.version, options.initial.reference);
  }

  /** The version whose windows are open, and what the node is doing for it. */
  get state(): { readonly version: string; readonly phase: Phase['kind'] } {
    return { version: this.version, phase: this.phase.kind };
  }

  /** Counts one envelope into its version's windows (or its warm-up), switching versions when the prediction names a new one. */
  add(envelope: Envelope): void {
    const named = envelope.model !== undefined && envelope.model.name === this.options.model ? envelope.model.version : undefined;
    if (named !== undefined && named !== this.version) {
      if (this.retired.has(named)) {
        this.leaveOut('retired_version');
        return;
      }
      this.switchTo(named);
    }
    const phase = this.phase;
    switch (phase.kind) {
      case 'monitoring':
        phase.monitor.add(envelope);
        return;
      case 'loading':
        if (phase.pending.length < this.maxPending) phase.pending.push(envelope);
        else this.leaveOut('loading');
        return;
      case 'warming':
        this.leaveOut('warm_up');
        phase.rows.push(profileRowOf(envelope, phase.classes));
        if (phase.rows.length >= this.options.warmUp.inputs) this.finishWarmUp(phase);
        return;
      case 'unmonitored':
        this.leaveOut('no_reference');
        return;
    }
  }

  /** End of input: closes the current version's windows and waits for every publication. */
  async finish(): Promise<void> {
    await this.loading;
    const phase = this.phase;
    if (phase.kind === 'monitoring') await phase.monitor.finish();
    else await this.monitors[this.monitors.length - 1]?.handler.drained();
  }

  private switchTo(version: string): void {
    const o = this.options;
    this.retired.add(this.version);
    if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.values().next().value as string);
    o.logger.info({ node: o.nodeId, from: this.version, to: version }, 'The stream serves a new model version: drift windows now compare it with its own reference (the open window of the previous version is left unreported).');
    this.version = version;
    const phase: Phase = { kind: 'loading', pending: [] };
    this.phase = phase;
    this.loading = this.loading
      .then(() => o.referenceOf(version))
      .then(
        (reference) => {
          if (this.phase !== phase) return;
          this.enter(version, reference);
          for (const envelope of phase.pending) this.add(envelope);
        },
        (error: unknown) => {
          if (this.phase !== phase) return;
          o.logger.error({ node: o.nodeId, version, err: error }, 'Could not read the new model version\'s reference: its inputs are not checked for drift.');
          this.phase = { kind: 'unmonitored' };
          this.leaveOut('no_reference', phase.pending.length);
        },
      );
  }

  /** Starts monitoring a version against its published profile, or starts its warm-up. */
  private enter(version: string, reference: VersionReference): void {
    const o = this.options;
    if (reference.profile === null) {
      o.logger.info({ node: o.nodeId, version, inputs: o.warmUp.inputs }, 'The model version has no published reference profile: building one from its first inputs.');
      this.phase = { kind: 'warming', classes: reference.classes, rows: [] };
      return;
    }
    this.monitorWith(version, reference.profile);
  }

  private finishWarmUp(phase: Extract<Phase, { kind: 'warming' }>): void {
    const o = this.options;
    const w = o.warmUp;
    const started = performance.now();
    let profile: ReferenceProfile;
    let skipped: readonly number[];
    try {
      ({ profile, skippedSizes: skipped } = buildCalibratedProfile(phase.rows, { model: { name: o.model, version: this.version, classes: phase.classes } }, { sizes: w.sizes, windows: w.windows, seed: w.seed }));
    } catch (error) {
      o.logger.error({ node: o.nodeId, version: this.version, err: error }, 'Could not build the model version\'s reference from its warm-up: its inputs are not checked for drift.');
      this.phase = { kind: 'unmonitored' };
      return;
    }
    o.logger.info(
      {
        node: o.nodeId,
        version: this.version,
        rows: phase.rows.length,
        calibratedSizes: profile.calibration?.modes.streaming.sizes.map((s) => s.size) ?? [],
        ...(skipped.length === 0 ? {} : { uncalibratedSizes: skipped, rowsNeeded: 2 * HELD_OUT_FACTOR * Math.max(...skipped) }),
        ms: Math.round(performance.now() - started),
      },
      'Built the model version\'s reference from its warm-up.',
    );
    this.monitorWith(this.version, profile);
  }

  private monitorWith(version: string, profile: ReferenceProfile): void {
    const o = this.options;
    try {
      const monitor = o.monitorFor(profile);
      this.monitors.push(monitor);
      if (this.monitors.length > 2) this.monitors.shift();
      this.phase = { kind: 'monitoring', monitor };
    } catch (error) {
      o.logger.error({ node: o.nodeId, version, err: error }, 'The node\'s drift options do not fit the model version\'s reference: its inputs are not checked for drift.');
      this.phase = { kind: 'unmonitored' };
    }
  }

  private leaveOut(reason: UnmonitoredReason, count = 1): void {
    if (count > 0) this.options.metrics.unmonitoredInputs(reason, count);
  }
}
