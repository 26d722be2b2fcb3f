/**
 * The analysis options `drift` and `drift-merge-source` share — the reference profile, what is
 * compared and how, and where reports and retrain requests go — with their cross-field rules and
 * the publishers they ask for.
 */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { CreateContext, OptionProblem } from '../core/component.js';
import { DEFAULT_DRIFT_SHARE } from '../drift/dataset-drift.js';
import { EMBEDDING_DISTANCE_THRESHOLD } from '../drift/embedding-drift.js';
import { DRIFT_METHODS, isDriftMethodId } from '../drift/methods.js';
import { fanOut, filesPublisher, FilesOutputOptions, kafkaOutputProblems, kafkaPublisher, KafkaOutputOptions, webhookPublisher, WebhookOptions } from './outputs.js';
import type { RecordPublisher } from './outputs.js';
import { RetrainConditionOptions } from './retrain-trigger.js';

const ColumnChoiceOptions = Type.Object(
  {
    method: Type.Optional(Type.String({ description: 'Evidently method id: ks, chisquare, z, psi, kl_div, jensenshannon, wasserstein (default: the calibrated one, else Evidently\'s automatic choice; `ks` on the bins for numerical features in streaming mode).' })),
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
  thresholds: Type.Union([Type.Literal('auto'), Type.Literal('calibrated'), Type.Literal('evidently')], {
    default: 'auto',
    description: '`calibrated`: the thresholds the profile was calibrated with for the window\'s size (`centaur drift profile`), at its false-alarm rate, and the calibrated dataset rule; `evidently`: Evidently\'s fixed thresholds and share rule; `auto`: calibrated when the profile has a calibration, else Evidently\'s.',
  }),
  embeddingThreshold: Type.Optional(Type.Number({ minimum: 0, description: `Euclidean distance between centroids above which embeddings drift (default: the calibrated one, else Evidently's \`distance\` default ${EMBEDDING_DISTANCE_THRESHOLD}).` })),
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

/** The analysis options as one schema (for its type). */
export const AnalysisOptionsSchema = Type.Object(DriftAnalysisOptions);
/** Filled analysis options. */
export type AnalysisOptionValues = Static<typeof AnalysisOptionsSchema>;

type AnalysisValues = Pick<AnalysisOptionValues, 'reports' | 'retrain'>;

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

type AnalysisChoices = Pick<AnalysisOptionValues, 'profile' | 'model' | 'columns' | 'reports' | 'retrain'>;

/**
 * The rules between the analysis options (shared with `drift-merge-source`) that the schema cannot
 * say, for the specs' `validate`: where the profile comes from, known column methods, and a
 * registry for Avro outputs. What needs the profile itself (its features) is checked at start.
 */
export function driftAnalysisProblems(o: AnalysisChoices, rules: { readonly profileOptional?: boolean } = {}): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (o.profile === undefined && o.model === undefined && rules.profileOptional !== true) {
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

