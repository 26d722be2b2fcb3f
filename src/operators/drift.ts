/**
 * `drift`: measures data drift of the stream against the model version's reference profile, per
 * window, and passes every envelope on unchanged. Windows are tumbling or sliding, by input count
 * or by event time (with allowed lateness); each closed window gives a report — Prometheus gauges,
 * the live summary's `drift` field, and optionally records on Kafka or in files — and may fire the
 * retrain trigger. Window partials can be published for a `drift-merge-source` to combine across
 * instances. With `follow`, each model version the predictions name is compared with its own
 * reference (src/drift-monitor/versioned-monitor.ts). Details: docs/DRIFT.md.
 */
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { concat, defer, ignoreElements, tap } from 'rxjs';
import { defineOperator } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import type { CreateContext, OptionProblem } from '../core/component.js';
import { envelopesOf } from '../core/envelope.js';
import type { Item } from '../core/envelope.js';
import { NO_METRICS } from '../core/metric-family.js';
import { DEFAULT_CALIBRATION_SIZES } from '../drift-monitor/calibration.js';
import { DRIFT_NODE_FAMILIES, DriftMetrics } from '../drift-monitor/drift-metrics.js';
import { analysisPublishers, DriftAnalysisOptions, driftAnalysisProblems } from '../drift-monitor/analysis-options.js';
import { DriftMonitor, ReportHandler } from '../drift-monitor/monitor.js';
import type { MonitorOptions } from '../drift-monitor/monitor.js';
import { kafkaPublisher, KafkaOutputOptions } from '../drift-monitor/outputs.js';
import type { RecordPublisher } from '../drift-monitor/outputs.js';
import { retrainTriggerOptions } from '../drift-monitor/retrain-trigger.js';
import { readReferenceProfile } from '../drift-monitor/profile.js';
import type { ReferenceProfile } from '../drift-monitor/profile.js';
import { loadProfileFor, noteThresholds, resolveSetup } from '../drift-monitor/setup.js';
import { VersionedDriftMonitor } from '../drift-monitor/versioned-monitor.js';
import type { VersionReference } from '../drift-monitor/versioned-monitor.js';
import type { WindowSpec } from '../drift-monitor/windower.js';
import { openRegistry } from '../registry/open-registry.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import { StoreConnectionFields } from '../storage/store-options.js';

/** Options of `drift`. */
export const DriftOptions = Type.Object(
  {
    ...DriftAnalysisOptions,
    window: Type.Object(
      {
        by: Type.Union([Type.Literal('count'), Type.Literal('time')], { default: 'count', description: '`count`: inputs in arrival order; `time`: event time.' }),
        size: Type.Integer({ minimum: 1, default: 500, description: 'Window length: inputs (`count`) or milliseconds (`time`).' }),
        slide: Type.Optional(Type.Integer({ minimum: 1, description: 'Distance between window starts (default `size`: tumbling); `size` must be a multiple of it.' })),
        allowedLatenessMs: Type.Integer({ minimum: 0, default: 0, description: '`time`: the watermark trails the largest event time by this much; later inputs are counted as late and left out.' }),
      },
      { additionalProperties: false, default: {}, description: 'Windows.' },
    ),
    follow: Type.Optional(
      Type.Object(
        {
          registry: Type.String({ minLength: 1, description: 'Model registry (as `infer`\'s `model.registry`): a folder relative to the topology file, an `s3://` / `azure://` prefix, or `mlflow+http://host:port`.' }),
          ...StoreConnectionFields,
          name: Type.String({ minLength: 1, description: 'Model name in the registry.' }),
          alias: Type.Optional(Type.String({ minLength: 1, description: 'Alias naming the version served when the node starts (default `production`); `profile` or `model`, when given, is that version\'s reference.' })),
          warmUp: Type.Optional(
            Type.Object(
              {
                inputs: Type.Optional(Type.Integer({ minimum: 20, description: 'A version without a published profile: inputs its reference is built from (default 10 × `window.size` for count windows, which calibrates that size; 5000 for time windows).' })),
                windows: Type.Optional(Type.Integer({ minimum: 200, description: 'Bootstrap windows per calibrated size (default 200).' })),
              },
              { additionalProperties: false, description: 'How a version without a published profile gets a reference: from its first inputs.' },
            ),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Follow the model versions the predictions name (place the node after `infer`): each version is compared with its own reference — the profile published with it (manifest `referenceProfile`), or one built and calibrated from its first inputs (`warmUp`) — so a version trained for a shift does not ask to be retrained for it.',
        },
      ),
    ),
    partials: Type.Optional(
      Type.Object(
        {
          kafka: KafkaOutputOptions,
          instance: Type.Optional(Type.String({ minLength: 1, description: 'This instance\'s name in partials (default `<hostname>-<pid>`).' })),
        },
        { additionalProperties: false, description: 'Publish each window\'s state (JSON) for a `drift-merge-source`; use event-time windows so instances agree on windows.' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DriftOptions = Static<typeof DriftOptions>;

/** The rules of `drift`'s own options, besides the analysis options'. */
function driftProblems(o: DriftOptions): OptionProblem[] {
  const problems = driftAnalysisProblems(o, { profileOptional: o.follow !== undefined });
  if (o.follow !== undefined && o.partials !== undefined) {
    problems.push({ path: ['partials'], message: 'partials are merged by window, and a node following versions restarts its windows at each version', suggestion: 'remove `partials`, or `follow` (give `profile` or `model` instead)' });
  }
  const w = o.window;
  const slide = w.slide ?? w.size;
  if (w.size % slide !== 0) {
    problems.push({
      path: ['window', 'slide'],
      message: `window.size ${w.size} must be a multiple of window.slide ${slide}`,
      suggestion: `set \`window.size: ${Math.ceil(w.size / slide) * slide}\`, or a \`window.slide\` that divides ${w.size}`,
    });
  }
  if (o.partials !== undefined && o.partials.kafka.format !== 'json') {
    problems.push({ path: ['partials', 'kafka', 'format'], message: 'partials are JSON', suggestion: 'set `partials.kafka.format: json` (or leave it out)' });
  }
  return problems;
}

/** The window spec of the options (`validate` checked that `size` is a multiple of `slide`). */
function windowSpec(w: DriftOptions['window']): WindowSpec {
  const slide = w.slide ?? w.size;
  return w.by === 'count' ? { by: 'count', size: w.size, slide } : { by: 'time', sizeMs: w.size, slideMs: slide, allowedLatenessMs: w.allowedLatenessMs };
}

/** What a drift node counts envelopes into: one monitor, or one per followed model version. */
export interface DriftCounter {
  add(envelope: Parameters<DriftMonitor['add']>[0]): void;
  finish(): Promise<void>;
}

/** The reference of a registry version: its published profile (confined to its folder) or none, and its classes. */
async function registryReference(registry: ModelRegistryApi, name: string, version: string): Promise<VersionReference> {
  const loaded = await registry.load(name, version);
  const named = loaded.manifest.referenceProfile;
  if (named === undefined) return { profile: null, classes: loaded.manifest.classes };
  const file = path.resolve(loaded.dir, named);
  if (path.relative(loaded.dir, file).startsWith('..') || path.isAbsolute(path.relative(loaded.dir, file))) {
    throw new CentaurError('CONFIG_INVALID', `${name} version ${version}: \`referenceProfile\` ${JSON.stringify(named)} is outside the version's folder`);
  }
  return { profile: await readReferenceProfile(file), classes: loaded.manifest.classes };
}

/** Builds a drift monitor from filled options; why: the operator and tests share it. */
export async function createDriftMonitor(o: DriftOptions, ctx: CreateContext): Promise<{ monitor: DriftCounter; close: () => Promise<void> }> {
  const window = windowSpec(o.window);
  const given = o.profile !== undefined || o.model !== undefined;
  const profile = given ? await loadProfileFor({ ...(o.profile === undefined ? {} : { profile: o.profile }), ...(o.model === undefined ? {} : { modelDir: o.model.path }) }, ctx.baseDir, ctx.nodeId) : undefined;
  const publishers = await analysisPublishers(o, ctx);
  let partials: { publisher: RecordPublisher; instance: string } | undefined;
  if (o.partials !== undefined) {
    const publisher = await kafkaPublisher(o.partials.kafka, 'drift-partial', { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger });
    publishers.all.push(publisher);
    partials = { publisher, instance: o.partials.instance ?? `${os.hostname()}-${process.pid}` };
  }
  const metrics = new DriftMetrics(ctx.metrics ?? NO_METRICS, ctx.nodeId);
  const retrain = o.retrain === undefined ? undefined : retrainTriggerOptions(o.retrain);
  const handler = new ReportHandler({
    metrics,
    logger: ctx.logger,
    ...(retrain === undefined ? {} : { retrain }),
    ...(publishers.reports === undefined ? {} : { reports: publishers.reports }),
    ...(publishers.requests === undefined ? {} : { requests: publishers.requests }),
  });
  const monitorFor = (reference: ReferenceProfile, note: boolean): DriftMonitor => {
    const { setup, columns } = resolveSetup(reference, o, ctx.nodeId);
    if (note) noteThresholds(o.thresholds, setup, ctx.logger, ctx.nodeId);
    const options: MonitorOptions = {
      topology: ctx.topologyName,
      node: ctx.nodeId,
      setup,
      window,
      seed: o.seed,
      driftShare: o.driftShare,
      columns,
      embeddingThreshold: o.embeddingThreshold,
      ...(retrain === undefined ? {} : { retrain }),
      ...(partials === undefined ? {} : { partials }),
      metrics,
      logger: ctx.logger,
      handler,
    };
    return new DriftMonitor(options);
  };
  const close = async (): Promise<void> => void (await Promise.all(publishers.all.map((p) => p.close().catch(() => undefined))));
  const f = o.follow;
  if (f === undefined) {
    // Unreachable without a profile for validated options (`driftProblems`).
    if (profile === undefined) throw new CentaurError('INTERNAL', `node \`${ctx.nodeId}\`: give \`profile\`, \`model\` or \`follow\``);
    return { monitor: monitorFor(profile, true), close };
  }
  const registry = await openRegistry(f.registry, ctx.baseDir, { ...(f.s3 === undefined ? {} : { s3: f.s3 }), ...(f.azure === undefined ? {} : { azure: f.azure }) });
  const version = await registry.resolveVersion(f.name, f.alias ?? 'production');
  const initial = profile === undefined ? await registryReference(registry, f.name, version) : { profile, classes: profile.classes };
  // The node's options must fit the starting reference: a misfit is a configuration error now, not a silent gap later.
  if (initial.profile !== null) noteThresholds(o.thresholds, resolveSetup(initial.profile, o, ctx.nodeId).setup, ctx.logger, ctx.nodeId);
  const sizes = window.by === 'count' ? [window.size] : DEFAULT_CALIBRATION_SIZES;
  const monitor = new VersionedDriftMonitor({
    model: f.name,
    initial: { version, reference: initial },
    referenceOf: (v) => registryReference(registry, f.name, v),
    warmUp: { inputs: f.warmUp?.inputs ?? (window.by === 'count' ? 10 * window.size : 5000), sizes, windows: f.warmUp?.windows ?? 200, seed: o.seed },
    monitorFor: (reference) => monitorFor(reference, false),
    metrics,
    logger: ctx.logger,
    nodeId: ctx.nodeId,
  });
  return { monitor, close };
}

/** The `drift` operator spec. */
export const drift = defineOperator({
  kind: 'drift',
  role: 'operator',
  stability: 'experimental',
  description: 'Measures data and embedding drift per window against the reference profile; passes every input on unchanged.',
  options: DriftOptions,
  examples: [
    { title: 'Windows of 500 inputs against a reference profile', options: { profile: 'reference-profile.json', window: { by: 'count', size: 500 } } },
    {
      title: 'Hourly windows by event time, reports to a file, a retrain trigger',
      options: { profile: 'reference-profile.json', window: { by: 'time', size: 3600000 }, reports: { files: { dir: 'drift' } }, retrain: { on: 'dataset', files: { dir: 'drift' } } },
    },
    {
      title: 'Each version a registry alias serves against its own reference (published, or built from its first 5,000 inputs)',
      options: { follow: { registry: '../registry', name: 'horse-or-human', warmUp: { inputs: 5000 } }, window: { by: 'count', size: 500 }, retrain: { files: { dir: 'drift' } } },
    },
  ],
  metrics: DRIFT_NODE_FAMILIES,
  validate: (o) => driftProblems(o),
  async create(options, ctx) {
    const { monitor, close } = await createDriftMonitor(options, ctx);
    return {
      accepts: 'any',
      apply: (input, opCtx) =>
        concat(
          input.pipe(
            tap((item: Item) => {
              // Each envelope's time in the node (a window's report is paid by the envelope that closes it).
              for (const envelope of envelopesOf(item)) {
                const started = performance.now();
                monitor.add(envelope);
                envelope.timings[opCtx.nodeId] = performance.now() - started;
              }
            }),
          ),
          defer(() => monitor.finish()).pipe(ignoreElements()),
        ),
      close,
    };
  },
});
