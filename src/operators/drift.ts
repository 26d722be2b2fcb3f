/**
 * `drift`: measures data drift of the stream against the model version's reference profile, per
 * window, and passes every envelope on unchanged. Windows are tumbling or sliding, by input count
 * or by event time (with allowed lateness); each closed window gives a report — Prometheus gauges,
 * the live summary's `drift` field, and optionally records on Kafka or in files — and may fire the
 * retrain trigger. Window partials can be published for a `drift-merge-source` to combine across
 * instances. Details: docs/DRIFT.md.
 */
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { concat, defer, ignoreElements, tap } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { CreateContext, OptionProblem } from '../core/component.js';
import { envelopesOf } from '../core/envelope.js';
import type { Item } from '../core/envelope.js';
import { NO_METRICS } from '../core/node-metrics.js';
import { DEFAULT_DRIFT_SHARE } from '../drift/dataset-drift.js';
import { EMBEDDING_DISTANCE_THRESHOLD } from '../drift/embedding-drift.js';
import { DRIFT_METHODS, isDriftMethodId } from '../drift/methods.js';
import { DriftMonitor } from '../drift/stream/monitor.js';
import { fanOut, filesPublisher, FilesOutputOptions, kafkaOutputProblems, kafkaPublisher, KafkaOutputOptions, webhookPublisher, WebhookOptions } from '../drift/stream/outputs.js';
import type { RecordPublisher } from '../drift/stream/outputs.js';
import { RetrainConditionOptions, retrainTriggerOptions } from '../drift/stream/retrain-trigger.js';
import { loadProfileFor, resolveSetup } from '../drift/stream/setup.js';
import type { WindowSpec } from '../drift/stream/windower.js';

const ColumnChoiceOptions = Type.Object(
  {
    method: Type.Optional(Type.String({ description: 'Evidently method id: ks, chisquare, z, psi, kl_div, jensenshannon, wasserstein (default: Evidently\'s automatic choice; `jensenshannon` for numerical features in streaming mode).' })),
    threshold: Type.Optional(Type.Number({ description: "The method's threshold (default: Evidently's)." })),
  },
  { additionalProperties: false },
);

/** Options shared by `drift` and `drift-merge-source`: the profile, what is compared, and where reports go. */
export const DriftAnalysisOptions = {
  profile: Type.Optional(Type.String({ minLength: 1, description: 'Reference profile file (`centaur drift profile`), relative to the topology file.' })),
  model: Type.Optional(
    Type.Object({ path: Type.String({ minLength: 1, description: 'Model folder whose manifest names the profile in `referenceProfile`.' }) }, { additionalProperties: false, description: 'Take the profile of this model version (instead of `profile`).' }),
  ),
  mode: Type.Union([Type.Literal('evidently'), Type.Literal('streaming')], {
    default: 'evidently',
    description: '`evidently`: windows keep a bounded sample of each numerical feature, scores equal Evidently\'s while a window holds at most `sampleCap` values; `streaming`: histograms over the profile\'s bins, exact merges at any rate.',
  }),
  features: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Features to monitor (default: every feature of the profile): brightness, contrast, sharpness, saturation, width, height, format, class, confidence, probability.<class>.' })),
  columns: Type.Optional(Type.Record(Type.String(), ColumnChoiceOptions, { description: 'Per-feature method and threshold.' })),
  driftShare: Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_DRIFT_SHARE, description: 'Share of drifted features at or above which the dataset drifts.' }),
  sampleCap: Type.Integer({ minimum: 10, default: 1000, description: '`evidently` mode: values kept per numerical feature and window (a uniform sample beyond).' }),
  embedding: Type.Boolean({ default: true, description: 'Measure embedding drift (when the profile and the inputs have embeddings).' }),
  embeddingThreshold: Type.Number({ minimum: 0, default: EMBEDDING_DISTANCE_THRESHOLD, description: 'Euclidean distance between centroids above which embeddings drift (Evidently\'s `distance` default 0.2).' }),
  seed: Type.Integer({ default: 1, description: 'Seed of the window samples.' }),
  reports: Type.Optional(
    Type.Object(
      { files: Type.Optional(FilesOutputOptions), kafka: Type.Optional(KafkaOutputOptions) },
      { additionalProperties: false, description: 'Publish each report (schemas/avro/drift-report.avsc) to files and/or a Kafka topic.' },
    ),
  ),
  retrain: Type.Optional(
    Type.Object(
      {
        ...RetrainConditionOptions,
        files: Type.Optional(FilesOutputOptions),
        kafka: Type.Optional(KafkaOutputOptions),
        webhook: Type.Optional(WebhookOptions),
      },
      { additionalProperties: false, description: 'Retrain trigger: requests (schemas/avro/retrain-request.avsc) to files, Kafka and/or a webhook.' },
    ),
  ),
};

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

type AnalysisValues = Pick<DriftOptions, 'reports' | 'retrain'>;

/** The publishers of reports and retrain requests a node's options ask for. */
export async function analysisPublishers(o: AnalysisValues, ctx: CreateContext): Promise<{ reports?: RecordPublisher; requests?: RecordPublisher; all: RecordPublisher[] }> {
  const all: RecordPublisher[] = [];
  const named = { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger };
  const reportTargets: RecordPublisher[] = [];
  if (o.reports?.files !== undefined) reportTargets.push(filesPublisher(path.resolve(ctx.baseDir, o.reports.files.dir), `${ctx.nodeId}-reports.jsonl`));
  if (o.reports?.kafka !== undefined) reportTargets.push(await kafkaPublisher(o.reports.kafka, 'drift-report', named));
  const requestTargets: RecordPublisher[] = [];
  if (o.retrain?.files !== undefined) requestTargets.push(filesPublisher(path.resolve(ctx.baseDir, o.retrain.files.dir), `${ctx.nodeId}-retrain-requests.jsonl`));
  if (o.retrain?.kafka !== undefined) requestTargets.push(await kafkaPublisher(o.retrain.kafka, 'retrain-request', named));
  if (o.retrain?.webhook !== undefined) requestTargets.push(webhookPublisher(o.retrain.webhook));
  all.push(...reportTargets, ...requestTargets);
  const noop = (): void => undefined;
  return {
    ...(reportTargets.length === 0 ? {} : { reports: fanOut(reportTargets, ctx.logger, 'a drift report', noop) }),
    ...(requestTargets.length === 0 ? {} : { requests: fanOut(requestTargets, ctx.logger, 'a retrain request', noop) }),
    all,
  };
}

type AnalysisChoices = Pick<DriftOptions, 'profile' | 'model' | 'columns' | 'reports' | 'retrain'>;

/**
 * The rules between the analysis options (shared with `drift-merge-source`) that the schema cannot
 * say, for the specs' `validate`: where the profile comes from, known column methods, and a
 * registry for Avro outputs. What needs the profile itself (its features) is checked at start.
 */
export function driftAnalysisProblems(o: AnalysisChoices): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (o.profile === undefined && o.model === undefined) {
    problems.push({ path: [], message: 'give `profile` (a profile file) or `model` (a model folder whose manifest names one)', suggestion: 'add `profile: <file from centaur drift profile>`, or `model: { path: <model folder> }`' });
  }
  for (const [name, choice] of Object.entries(o.columns ?? {})) {
    if (choice.method !== undefined && !isDriftMethodId(choice.method)) {
      problems.push({ path: ['columns', name, 'method'], message: `columns.${name}: unknown method \`${choice.method}\``, suggestion: `use one of ${Object.keys(DRIFT_METHODS).join(', ')}, or leave \`method\` out` });
    }
  }
  problems.push(...kafkaOutputProblems(['reports', 'kafka'], o.reports?.kafka), ...kafkaOutputProblems(['retrain', 'kafka'], o.retrain?.kafka));
  return problems;
}

/** The rules of `drift`'s own options, besides the analysis options'. */
function driftProblems(o: DriftOptions): OptionProblem[] {
  const problems = driftAnalysisProblems(o);
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

/** Builds a drift monitor from filled options; why: the operator and tests share it. */
export async function createDriftMonitor(o: DriftOptions, ctx: CreateContext): Promise<{ monitor: DriftMonitor; close: () => Promise<void> }> {
  const window = windowSpec(o.window);
  const profile = await loadProfileFor({ ...(o.profile === undefined ? {} : { profile: o.profile }), ...(o.model === undefined ? {} : { modelDir: o.model.path }) }, ctx.baseDir, ctx.nodeId);
  const { setup, columns } = resolveSetup(profile, o, ctx.nodeId);
  const publishers = await analysisPublishers(o, ctx);
  let partials: { publisher: RecordPublisher; instance: string } | undefined;
  if (o.partials !== undefined) {
    const publisher = await kafkaPublisher(o.partials.kafka, 'drift-partial', { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger });
    publishers.all.push(publisher);
    partials = { publisher, instance: o.partials.instance ?? `${os.hostname()}-${process.pid}` };
  }
  const monitor = new DriftMonitor({
    topology: ctx.topologyName,
    node: ctx.nodeId,
    setup,
    window,
    seed: o.seed,
    driftShare: o.driftShare,
    columns,
    embeddingThreshold: o.embeddingThreshold,
    ...(o.retrain === undefined ? {} : { retrain: retrainTriggerOptions(o.retrain) }),
    ...(publishers.reports === undefined ? {} : { reports: publishers.reports }),
    ...(publishers.requests === undefined ? {} : { requests: publishers.requests }),
    ...(partials === undefined ? {} : { partials }),
    metrics: ctx.metrics ?? NO_METRICS,
    logger: ctx.logger,
  });
  return { monitor, close: async () => void (await Promise.all(publishers.all.map((p) => p.close().catch(() => undefined)))) };
}

/** The `drift` operator spec. */
export const drift = defineOperator({
  kind: 'drift',
  role: 'operator',
  stability: 'experimental',
  description: 'Measures data and embedding drift per window against the reference profile; passes every input on unchanged.',
  options: DriftOptions,
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
