/**
 * `training-set-sink`: labels into a training set in the lake. Each label event (from
 * `label-studio-source`, or `kafka-source` with `value.content: label`) is joined with the
 * embedding and prediction `feature-store-sink` stored for its input (the online store, read in
 * Feast's Redis layout, keyed by input id, so a label hours late still finds them) and the row is
 * written to the training-set table (`src/training-set/`): Parquet files of one row per input,
 * rewritten when a label changes, readable by pyarrow and pandas.
 *
 * A label event is acknowledged once the file holding its row is uploaded; a restart reads the
 * table back and applies events again, which replaces rather than adds (one row per input, one
 * annotation per annotator). A label for an input the feature store does not hold is a
 * `LABEL_INPUT_UNKNOWN` dead letter; a label outside the model's classes is a new class: kept,
 * flagged `new_class` and counted.
 */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Annotation, Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { counterFamily, gaugeFamily, histogramFamily } from '../core/metric-family.js';
import { NO_METRICS } from '../core/metric-family.js';
import type { NodeMetrics } from '../core/metric-family.js';
import { FEAST_NAME_PATTERN, feastRedisKey } from '../feature-store/feast-redis-layout.js';
import { storedFeatureFields, storedFeatures } from '../feature-store/feature-row.js';
import type { StoredFeatures } from '../feature-store/feature-row.js';
import { FeastOnlineStore } from '../feature-store/online-store.js';
import { loadManifest } from '../inference/manifest.js';
import { lakeBaseUri, probeLake } from '../storage/lake-location.js';
import { storeFor } from '../storage/store-for.js';
import { LAKE_FOLDER_PATTERN, objectUriProblems, StoreUploadFields } from '../storage/store-options.js';
import { chooseLabel, selectionOf, splitOf, withAnnotation } from '../training-set/training-row.js';
import type { SplitShares, TrainingRow } from '../training-set/training-row.js';
import { TrainingSetTable } from '../training-set/training-set-table.js';
import { labelFigures, LABELS_STATUS } from '../training-set/labels-status.js';
import type { ClassTally } from '../training-set/labels-status.js';

const options = Type.Object(
  {
    features: Type.Object(
      {
        url: Type.String({ minLength: 1, description: 'Redis URL of the online store `feature-store-sink` writes, e.g. `${CENTAUR_REDIS_URL}`.' }),
        project: Type.String({ pattern: FEAST_NAME_PATTERN, description: 'Its Feast project.' }),
        featureView: Type.String({ pattern: FEAST_NAME_PATTERN, description: 'Its feature view.' }),
        entity: Type.String({ pattern: FEAST_NAME_PATTERN, default: 'image_id', description: 'Its entity join key; label events name inputs by the same id.' }),
        timeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Deadline of one read, in milliseconds.' }),
      },
      { additionalProperties: false, description: 'Where each input’s embedding and prediction are read: the online store of a `feature-store-sink` (with `infer`’s `includeEmbedding: true`).' },
    ),
    uri: Type.String({ minLength: 1, description: 'The lake: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path`, or a folder relative to the topology file.' }),
    prefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'training-set', description: 'Folder of the table under `uri`: `<uri>/<prefix>/bucket-NNN.parquet` and `_table.json`.' }),
    policy: Type.Union([Type.Literal('latest'), Type.Literal('majority')], {
      default: 'latest',
      description: 'The label of an input several annotators labelled: the `latest` annotation, or the `majority` label (ties: the latest of them). Ground truth wins under both. Every annotation is kept in the row.',
    }),
    split: Type.Object(
      {
        validation: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1, description: 'Share of inputs in the validation split.' }),
        holdout: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1, description: 'Share of inputs in the holdout split; an input’s split is a hash of its id, assigned once and kept.' }),
      },
      { additionalProperties: false, default: {}, description: 'The stable train / validation / holdout split.' },
    ),
    classes: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'The model’s classes (or give `model`); a label outside them is a new class.' })),
    model: Type.Optional(Type.Object({ path: Type.String({ minLength: 1, description: 'Model folder with `manifest.json`, relative to the topology file: its classes.' }) }, { additionalProperties: false, description: 'Read the classes from this model’s manifest (instead of `classes`).' })),
    buckets: Type.Integer({ minimum: 1, maximum: 4096, default: 16, description: 'Files the rows are spread over, for a new table: a change rewrites one file of about rows / buckets rows.' }),
    maxRows: Type.Integer({ minimum: 1, default: 100000, description: 'Most rows the table holds (in memory too: about 5 KiB per row for a 1,280-d embedding); a label for a new input beyond it is a dead letter.' }),
    compression: Type.Union([Type.Literal('zstd'), Type.Literal('snappy'), Type.Literal('none')], { default: 'zstd', description: 'Parquet page compression.' }),
    ...StoreUploadFields,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

const LABELS = counterFamily('centaur_training_labels_total', 'Label events applied to the training set, by outcome: added (a new annotation), replaced (an annotator’s newer label), unchanged (a repeat), unknown-input (no stored features: dead letter).', ['outcome']);
const ROWS = gaugeFamily('centaur_training_set_rows', 'Rows in the training set, by split.', ['split']);
const NEW_CLASS_ROWS = gaugeFamily('centaur_training_set_new_class_rows', 'Rows whose label is outside the model’s classes, by label (the first 50 new class names seen; the rest as `other`); a name without rows drops its series.', ['label']);
const CLASS_ROWS = gaugeFamily(
  'centaur_label_class_rows',
  'Labelled inputs per class (the model’s classes; `new` for labels outside them, and for predictions of a class the model no longer has) for precision and recall: `labelled` by label, `predicted` by prediction, `correct` by label. `sample`: all labels, or only the randomly explored ones (an unbiased estimate).',
  ['class', 'kind', 'sample'],
);
const LABEL_TO_ROW = histogramFamily('centaur_label_to_training_seconds', 'From a label’s time to its row being in the lake.', [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600], []);

/** New-class labels counted by name before the rest count as `other`. */
const MAX_NEW_CLASS_LABELS = 50;

/** Joins label events with their inputs’ stored embeddings and writes the training set to the lake. */
export const trainingSetSink = defineSink({
  kind: 'training-set-sink',
  role: 'sink',
  description: 'Joins label events with the stored embedding and prediction of their inputs and keeps the training set as Parquet in the lake: one row per input, every annotation, a stable split.',
  stability: 'experimental',
  options,
  metrics: [LABELS, ROWS, NEW_CLASS_ROWS, CLASS_ROWS, LABEL_TO_ROW],
  examples: [
    {
      title: 'Labels joined with the feature store into a training set in the lake',
      options: { features: { url: '${CENTAUR_REDIS_URL}', project: 'centaur', featureView: 'image_embeddings' }, uri: 'lake', model: { path: 'models/demo' } },
    },
  ],
  claims: (o, baseDir) => [`output ${tableBase(o, baseDir)}/`],
  validate: (o, ctx) => [
    ...(o.classes === undefined && o.model === undefined ? [{ path: [], message: '`training-set-sink` needs the model’s classes', suggestion: 'add `classes: [...]` or `model: { path: <model folder> }`' }] : []),
    ...(o.split.validation + o.split.holdout >= 1 ? [{ path: ['split'], message: '`split.validation` + `split.holdout` leave no train split', suggestion: 'keep their sum below 1' }] : []),
    ...objectUriProblems(['uri'], tableBase(o, ctx.baseDir)),
  ],
  create: async (o, ctx): Promise<Sink> => {
    const classes = o.classes ?? (await loadManifest(path.resolve(ctx.baseDir, (o.model as { path: string }).path))).manifest.classes;
    const base = tableBase(o, ctx.baseDir);
    const store = await storeFor(base, { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
    await probeLake(store, base, o.retries, ctx.nodeId, 'uri');
    const table = await TrainingSetTable.open({ base, buckets: o.buckets, policy: o.policy, classes: new Set(classes), compression: o.compression, retries: o.retries }, store, ctx.logger, ctx.nodeId);
    const online = new FeastOnlineStore({ url: o.features.url, timeoutMs: o.features.timeoutMs, ttlSeconds: 0 }, ctx.logger, ctx.nodeId);
    try {
      await online.connect();
    } catch (error) {
      await table.close();
      throw error;
    }
    ctx.logger.info({ node: ctx.nodeId, base, rows: table.size }, 'Training set opened.');
    return new TrainingSetSink(o, classes, table, online, ctx.metrics ?? NO_METRICS, ctx.nodeId);
  },
});

/** `<uri>/<prefix>` of the table, without a trailing slash. */
function tableBase(o: Options, baseDir: string): string {
  return `${lakeBaseUri(o.uri, baseDir)}/${o.prefix}`;
}

class TrainingSetSink implements Sink {
  /** One write at a time: each reads and changes the rows the next one sees. */
  readonly concurrency = 1;
  readonly batching = { maxSize: 256, maxDelayMs: 200 };
  private readonly classes: ReadonlySet<string>;
  private readonly shares: SplitShares;
  private readonly labels;
  private readonly rowsGauge;
  private readonly newClassGauge;
  private readonly classGauge;
  private readonly labelToRow;
  private failure: string | null = null;
  /** New-class names counted by name (at most MAX_NEW_CLASS_LABELS, kept for the process's life), and those with a series now. */
  private readonly newClassNames = new Set<string>();
  private newClassSeries = new Set<string>();

  constructor(
    private readonly o: Options,
    classes: readonly string[],
    private readonly table: TrainingSetTable,
    private readonly online: FeastOnlineStore,
    private readonly metrics: NodeMetrics,
    private readonly node: string,
  ) {
    this.classes = new Set(classes);
    this.shares = { validation: o.split.validation, holdout: o.split.holdout };
    this.labels = metrics.counter(LABELS);
    this.rowsGauge = metrics.gauge(ROWS);
    this.newClassGauge = metrics.gauge(NEW_CLASS_ROWS);
    this.classGauge = metrics.gauge(CLASS_ROWS);
    this.labelToRow = metrics.histogram(LABEL_TO_ROW);
    this.publish();
  }

  /** Joins each label event with its input's features and writes the changed rows; names the events that cannot be joined. */
  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    const events: { envelope: Envelope; annotation: Annotation }[] = [];
    for (const envelope of envelopes) {
      if (envelope.annotation === undefined) rejections.push({ envelope, error: new CentaurError('LABEL_INVALID', `Input \`${envelope.id}\` is not a label event; take \`training-set-sink\` from \`label-studio-source\` or a \`kafka-source\` with \`value.content: label\`.`) });
      else events.push({ envelope, annotation: envelope.annotation });
    }
    let stored: Map<string, StoredFeatures>;
    try {
      stored = await this.lookup([...new Set(events.map((e) => e.envelope.id))]);
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    }
    const changed = new Map<string, TrainingRow>();
    const applied: Annotation[] = [];
    const now = Date.now();
    let added = 0;
    for (const { envelope, annotation } of events) {
      const id = envelope.id;
      const current = changed.get(id) ?? this.table.get(id);
      const features = stored.get(id) ?? current?.features;
      if (features === undefined) {
        this.labels.inc({ outcome: 'unknown-input' });
        rejections.push({ envelope, error: new CentaurError('LABEL_INPUT_UNKNOWN', `No stored embedding for input \`${id}\` in feature view ${this.o.features.project}/${this.o.features.featureView}; it cannot join the training set.`) });
        continue;
      }
      if (current === undefined && this.table.size + added >= this.o.maxRows) {
        rejections.push({ envelope, error: new CentaurError('TRAINING_SET_FULL', `The training set holds its maxRows (${this.o.maxRows}); input \`${id}\` is not added.`) });
        continue;
      }
      const next = withAnnotation(current?.annotations ?? [], annotation);
      const selection = current?.selection ?? annotation.selection;
      this.labels.inc({ outcome: next.outcome });
      if (next.outcome === 'unchanged' && selection === current?.selection) continue;
      if (current === undefined && this.table.get(id) === undefined) added += 1;
      applied.push(annotation);
      changed.set(id, { inputId: id, split: current?.split ?? splitOf(id, this.shares), annotations: next.annotations, ...(selection === undefined ? {} : { selection }), features, updatedTime: now });
    }
    if (changed.size > 0) {
      try {
        await this.table.put([...changed.values()]);
        this.failure = null;
      } catch (error) {
        this.failure = (error as Error).message;
        throw error;
      }
      const written = Date.now();
      for (const a of applied) this.labelToRow.observe({}, Math.max(0, (written - a.labelTime) / 1000));
      this.publish();
    }
    return rejections;
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.online.close();
    await this.table.close();
  }

  /** The last failure until a write succeeds; Redis not connected. */
  health(): string | null {
    if (!this.online.ready) return 'feature store Redis not connected';
    return this.failure;
  }

  /** The stored features of the inputs the feature store holds. */
  private async lookup(ids: readonly string[]): Promise<Map<string, StoredFeatures>> {
    const f = this.o.features;
    const values = await this.online.read(
      ids.map((id) => feastRedisKey(f.project, f.entity, id)),
      storedFeatureFields(f.featureView),
    );
    const found = new Map<string, StoredFeatures>();
    ids.forEach((id, i) => {
      // A row this version cannot decode counts as missing: that label alone is refused.
      let features: StoredFeatures | undefined;
      try {
        features = storedFeatures(id, values[i] ?? []);
      } catch {
        features = undefined;
      }
      if (features !== undefined) found.set(id, features);
    });
    return found;
  }

  /** Sets the gauges from the whole table and publishes the status: rows per split, new classes, per-class counts (all labels, explored labels). */
  private publish(): void {
    const splits = { train: 0, validation: 0, holdout: 0 };
    const newClasses = new Map<string, number>();
    const samples = { all: new Map<string, ClassTally>(), exploration: new Map<string, ClassTally>() };
    for (const sample of Object.values(samples)) for (const cls of [...this.classes, 'new']) sample.set(cls, { labelled: 0, predicted: 0, correct: 0 });
    let newClassRows = 0;
    for (const row of this.table.rows()) {
      splits[row.split] += 1;
      const label = chooseLabel(row.annotations, this.o.policy).annotation.label;
      const known = this.classes.has(label);
      if (!known) {
        newClassRows += 1;
        if (!this.newClassNames.has(label) && this.newClassNames.size < MAX_NEW_CLASS_LABELS) this.newClassNames.add(label);
        const name = this.newClassNames.has(label) ? label : 'other';
        newClasses.set(name, (newClasses.get(name) ?? 0) + 1);
      }
      const trueClass = known ? label : 'new';
      const predicted = this.classes.has(row.features.predictedLabel) ? row.features.predictedLabel : 'new';
      const into = selectionOf(row) === 'exploration' ? [samples.all, samples.exploration] : [samples.all];
      for (const tallies of into) {
        (tallies.get(trueClass) as ClassTally).labelled += 1;
        (tallies.get(predicted) as ClassTally).predicted += 1;
        if (label === row.features.predictedLabel) (tallies.get(trueClass) as ClassTally).correct += 1;
      }
    }
    for (const [split, n] of Object.entries(splits)) this.rowsGauge.set({ split }, n);
    for (const [label, n] of newClasses) this.newClassGauge.set({ label }, n);
    for (const label of this.newClassSeries) if (!newClasses.has(label)) this.newClassGauge.remove({ label });
    this.newClassSeries = new Set(newClasses.keys());
    for (const [sample, tallies] of Object.entries(samples)) {
      for (const [cls, t] of tallies) for (const kind of ['labelled', 'predicted', 'correct'] as const) this.classGauge.set({ class: cls, kind, sample }, t[kind]);
    }
    this.metrics.publish(LABELS_STATUS, { node: this.node, rows: this.table.size, newClassRows, all: labelFigures(samples.all), exploration: labelFigures(samples.exploration) });
  }
}
