/**
 * `trainer-sink`: the trainer as a sink of retrain requests (Avro `RetrainRequest` through
 * `schemaRegistry`, or JSON, as `kafka-source` reads them with `value.format: bytes`). For each
 * request about its model it trains once per drift episode: the version the followed alias names
 * is the parent, the training set in the lake the data; it waits (and says why) while a class has
 * too few labels; trains in a child process at low priority so inference beside it keeps the CPU;
 * judges the version with the blessing policy; registers a blessed one under `candidate` and, by
 * policy, `production`; and publishes an Avro `TrainingRun` per episode to Kafka, files or a webhook.
 *
 * Delivery is at least once, training once: a ledger per episode in `workDir` claims the version
 * name before training and keeps the result, so a redelivered request (or another request of the
 * same episode) republishes the episode's TrainingRun, and a trainer killed mid-training trains the
 * claimed version again (on the training set as it is then, with the same seed) — nothing is
 * registered until a training has finished, and a version registered just before a kill is found
 * and not registered twice. A failure a retry would meet again ends the episode as `failed`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { CreateContext, Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { counterFamily, gaugeFamily, NO_METRICS } from '../core/metric-family.js';
import type { NodeCounter, NodeGauge } from '../core/metric-family.js';
import { filesPublisher, FilesOutputOptions, kafkaOutputProblems, kafkaPublisher, KafkaOutputOptions, webhookPublisher, WebhookOptions } from '../drift-monitor/outputs.js';
import type { RecordPublisher } from '../drift-monitor/outputs.js';
import { AvroRegistryCodec, SchemaRegistryOptions } from '../kafka/schema-registry.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import { MlflowClient, mlflowAuthorization } from '../registry/mlflow-client.js';
import { MlflowModelRegistry } from '../registry/mlflow-model-registry.js';
import { openRegistry } from '../registry/open-registry.js';
import { nextVersion } from '../registry/promotion.js';
import { lakeBaseUri } from '../storage/lake-location.js';
import { StoreConnectionFields } from '../storage/store-options.js';
import type { AzureConnectionOptions, S3ConnectionOptions } from '../storage/store-options.js';
import { DEFAULT_BLESSING } from '../training/blessing.js';
import { parseRetrainRequest } from '../training/retrain-request-record.js';
import type { RetrainRequestRecord } from '../training/retrain-request-record.js';
import { trainInChildProcess } from '../training/training-process.js';
import type { TrainingReport } from '../training/training-report.js';
import { registerVersion } from '../training/training-run.js';
import type { TrainedVersion } from '../training/training-run.js';

const options = Type.Object(
  {
    trainingSet: Type.String({ minLength: 1, description: 'The training set `training-set-sink` keeps: a folder relative to the topology file, or `s3://…`, `azure://…` (credentials from the environment).' }),
    model: Type.Object(
      {
        registry: Type.String({ minLength: 1, description: 'The model registry: a folder relative to the topology file, `s3://…`, `azure://…` or `mlflow+http://host:port`.' }),
        name: Type.String({ minLength: 1, description: 'The registered model to train; requests about other models are left alone.' }),
        alias: Type.String({ minLength: 1, default: 'production', description: 'The alias whose version is the parent (the one serving).' }),
      },
      { additionalProperties: false, description: 'Which model is trained and where its versions live.' },
    ),
    workDir: Type.String({ minLength: 1, default: 'training-runs', description: 'Folder (relative to the topology file) for each episode’s run (version files, report) and the ledger that makes training once per episode survive restarts.' }),
    training: Type.Object(
      {
        policy: Type.Union([Type.Literal('latest'), Type.Literal('majority')], { default: 'latest', description: 'The label of a row several annotators labelled.' }),
        weights: Type.Union([Type.Literal('balanced'), Type.Literal('none')], { default: 'balanced', description: 'Class weights in the loss.' }),
        minPerClass: Type.Integer({ minimum: 1, default: 10, description: 'Fewest train examples each class needs; fewer: the trainer waits for labels.' }),
        seed: Type.Integer({ minimum: 0, default: 1, description: 'Seed of the initial weights and the shuffles.' }),
        maxEpochs: Type.Integer({ minimum: 1, default: 100, description: 'Most epochs.' }),
        batchSize: Type.Integer({ minimum: 1, default: 256, description: 'Examples per step.' }),
        learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.01, description: 'Adam’s learning rate.' }),
        l2: Type.Number({ minimum: 0, default: 0.0001, description: 'L2 penalty on the kernel.' }),
        patience: Type.Integer({ minimum: 0, default: 5, description: 'Epochs without a better validation loss before stopping (0: never early).' }),
        anyFingerprint: Type.Boolean({ default: false, description: 'Train on rows of any fingerprint (default: only the parent’s).' }),
      },
      { additionalProperties: false, default: {}, description: 'How the head is trained (as `centaur train`).' },
    ),
    blessing: Type.Object(
      {
        maxMacroF1Drop: Type.Number({ minimum: 0, default: DEFAULT_BLESSING.maxMacroF1Drop, description: 'The new version’s macro F1 over the parent’s classes may be this much below the parent’s.' }),
        minRecall: Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_BLESSING.minRecall, description: 'Recall floor of each of the parent’s classes.' }),
        minNewClassRecall: Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_BLESSING.minNewClassRecall, description: 'Recall floor of each new class.' }),
        minHoldoutPerClass: Type.Integer({ minimum: 0, default: DEFAULT_BLESSING.minHoldoutPerClass, description: 'Fewest holdout examples of a class to judge it.' }),
      },
      { additionalProperties: false, default: {}, description: 'The blessing policy (as `centaur train`).' },
    ),
    promote: Type.Union([Type.Literal('blessed'), Type.Literal('candidate')], {
      default: 'blessed',
      description: '`blessed`: a blessed version becomes `production` (and `candidate`); `candidate`: only `candidate`, promotion left to people (`centaur models alias`).',
    }),
    labels: Type.Object(
      {
        pollSeconds: Type.Number({ exclusiveMinimum: 0, default: 30, description: 'While a class has too few labels: seconds between looks at the training set.' }),
        maxWaitSeconds: Type.Number({ minimum: 0, default: 3600, description: 'How long a request waits for labels before its run ends as `insufficient_labels`.' }),
      },
      { additionalProperties: false, default: {}, description: 'Waiting for labels.' },
    ),
    niceness: Type.Integer({ minimum: 0, maximum: 19, default: 19, description: 'CPU priority of the training process (19: lowest, so inference keeps the cores).' }),
    mlflow: Type.Optional(
      Type.Object(
        {
          url: Type.String({ minLength: 1, description: 'The MLflow tracking server, e.g. `${CENTAUR_MLFLOW_URL}`: each training is a run there, and registered versions are mirrored in its Model Registry.' }),
          experiment: Type.String({ minLength: 1, default: 'centaur-training', description: 'The MLflow experiment of the runs.' }),
        },
        { additionalProperties: false, description: 'Log each training in MLflow and mirror registered versions in its Model Registry (MLflow down: the training still completes and registers; the gap is logged).' },
      ),
    ),
    files: Type.Optional(FilesOutputOptions),
    kafka: Type.Optional(KafkaOutputOptions),
    webhook: Type.Optional(WebhookOptions),
    schemaRegistry: Type.Optional(Type.Object(SchemaRegistryOptions.properties, { additionalProperties: false, description: 'The schema registry that decodes Avro requests (Confluent-framed values; JSON needs none).' })),
    ...StoreConnectionFields,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** A TrainingRun record (schemas/avro/training-run.avsc). */
export interface TrainingRunRecord extends Record<string, unknown> {
  readonly requestId: string;
  readonly episode: string;
  readonly model: string;
  readonly parentVersion: string;
  readonly version: string | null;
  readonly status: 'promoted' | 'candidate' | 'not_blessed' | 'insufficient_labels' | 'failed';
  readonly reason: string;
  readonly classes: readonly string[];
  readonly newClasses: readonly string[];
  readonly holdoutAccuracy: number | null;
  readonly holdoutMacroF1: number | null;
  readonly productionHoldoutAccuracy: number | null;
  readonly productionHoldoutMacroF1: number | null;
  readonly trainingSetUri: string | null;
  readonly trainingSetContentHash: string | null;
  readonly trainingSetRows: number | null;
  readonly mlflowRunId: string | null;
  readonly requestedAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly trainingSeconds: number | null;
}

/** The ledger of one episode: the version it claimed, and its result once done. */
interface Ledger {
  readonly type: 'centaur-training-ledger';
  readonly version: 1;
  readonly requestId: string;
  readonly episode: string;
  readonly parentVersion: string;
  readonly newVersion: string;
  readonly startedAt: number;
  readonly run?: TrainingRunRecord;
}

const RUNS = counterFamily('centaur_trainer_runs_total', 'Retrain requests the trainer finished, by status (promoted, candidate, not_blessed, insufficient_labels, failed; `repeat` for a redelivered request answered from its ledger).', ['model', 'status']);
const WAITING = gaugeFamily('centaur_trainer_waiting_for_labels', '1 while the trainer waits for a class to have enough labels, else 0.', ['model']);
const EPOCH = gaugeFamily('centaur_trainer_epoch', 'The epoch the training in progress has finished (0 when none runs).', ['model']);
const SECONDS = gaugeFamily('centaur_trainer_last_training_seconds', 'Seconds the last training spent fitting its head.', ['model']);

/** Trains a model's new head once per retrain request's episode and registers it by policy. */
export const trainerSink = defineSink({
  kind: 'trainer-sink',
  role: 'sink',
  stability: 'experimental',
  description: 'Trains a new head once per retrain request (episode) from the training set in the lake, in a low-priority child process; judges, registers and promotes by policy; publishes a TrainingRun per request.',
  options,
  examples: [
    {
      title: 'Retrain requests → a new head, promoted when blessed, results to a file',
      options: { trainingSet: 'lake/training-set', model: { registry: 'models-registry', name: 'horse-or-human' }, files: { dir: 'training-runs' } },
    },
  ],
  metrics: [RUNS, WAITING, EPOCH, SECONDS],
  claims: (o, baseDir) => [`training runs ${path.resolve(baseDir, o.workDir)}`, ...(o.files === undefined ? [] : [`output ${path.join(path.resolve(baseDir, o.files.dir), '<node>-training-runs.jsonl')}`])],
  validate: (o) => [
    ...(o.files === undefined && o.kafka === undefined && o.webhook === undefined
      ? [{ path: [], message: 'give at least one output for the training runs: `files`, `kafka` or `webhook`', suggestion: 'add e.g. `files: { dir: training-runs }`' }]
      : []),
    ...kafkaOutputProblems(['kafka'], o.kafka),
  ],
  async create(o, ctx): Promise<Sink> {
    const registry = await openRegistry(o.model.registry, ctx.baseDir, storeSettings(o));
    // The parent must exist before requests come: a wrong name or alias stops the start.
    await registry.resolveVersion(o.model.name, o.model.alias);
    const named = { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger };
    const targets: RecordPublisher[] = [];
    if (o.files !== undefined) targets.push(filesPublisher(path.resolve(ctx.baseDir, o.files.dir), `${ctx.nodeId}-training-runs.jsonl`));
    if (o.kafka !== undefined) targets.push(await kafkaPublisher(o.kafka, 'training-run', named));
    if (o.webhook !== undefined) targets.push(webhookPublisher(o.webhook));
    const codec = o.schemaRegistry === undefined ? undefined : await AvroRegistryCodec.create(o.schemaRegistry);
    let mirror: ModelRegistryApi | undefined;
    if (o.mlflow !== undefined && !registry.root.startsWith('mlflow+')) {
      const authorization = mlflowAuthorization();
      mirror = new MlflowModelRegistry(`mlflow+${o.mlflow.url}`, new MlflowClient({ url: o.mlflow.url, timeoutMs: 30_000, ...(authorization === undefined ? {} : { authorization }) }));
    }
    return new TrainerSink(o, registry, mirror, targets, codec, ctx);
  },
});

/** The `s3` and `azure` connections of the training set and an object-store registry. */
function storeSettings(o: Options): { s3?: S3ConnectionOptions; azure?: AzureConnectionOptions } {
  return { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }) };
}

/** The first byte of a Confluent-framed Avro value. */
const AVRO_MAGIC = 0;

class TrainerSink implements Sink {
  /** One request at a time: trainings never overlap. */
  readonly concurrency = 1;
  private readonly abort = new AbortController();
  private readonly runs: NodeCounter<'model' | 'status'>;
  private readonly epoch: NodeGauge<'model'>;
  private readonly waiting: NodeGauge<'model'>;
  private readonly seconds: NodeGauge<'model'>;
  private readonly workDir: string;
  private readonly trainingSet: string;

  constructor(
    private readonly o: Options,
    private readonly registry: ModelRegistryApi,
    private readonly mirror: ModelRegistryApi | undefined,
    private readonly targets: readonly RecordPublisher[],
    private readonly codec: AvroRegistryCodec | undefined,
    private readonly ctx: CreateContext,
  ) {
    const metrics = ctx.metrics ?? NO_METRICS;
    this.runs = metrics.counter(RUNS);
    this.epoch = metrics.gauge(EPOCH);
    this.waiting = metrics.gauge(WAITING);
    this.seconds = metrics.gauge(SECONDS);
    this.workDir = path.resolve(ctx.baseDir, o.workDir);
    this.trainingSet = lakeBaseUri(o.trainingSet, ctx.baseDir);
  }

  /** Handles the requests in order; resolves once each one's TrainingRun is published. */
  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    for (const envelope of envelopes) {
      let request: RetrainRequestRecord;
      try {
        request = await this.read(envelope);
      } catch (error) {
        const err = toCentaurError(error, 'RETRAIN_REQUEST_INVALID');
        if (err.retriable) throw err;
        rejections.push({ envelope, error: err });
        continue;
      }
      if (request.model !== null && request.model.name !== this.o.model.name) {
        this.ctx.logger.info({ node: this.ctx.nodeId, request: request.id, model: request.model.name }, 'A retrain request about another model: left alone.');
        continue;
      }
      await this.handle(request);
    }
    return rejections;
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.targets.map((t) => t.close().catch(() => undefined)));
  }

  /** Decodes an envelope's payload: Avro when Confluent-framed, JSON otherwise. */
  private async read(envelope: Envelope): Promise<RetrainRequestRecord> {
    if (envelope.payload.kind !== 'bytes') throw new CentaurError('RETRAIN_REQUEST_INVALID', `input ${envelope.id} is a reference (${envelope.payload.uri}), not a retrain request`);
    const bytes = envelope.payload.bytes;
    let value: unknown;
    if (bytes.length > 0 && bytes[0] === AVRO_MAGIC) {
      if (this.codec === undefined) throw new CentaurError('RETRAIN_REQUEST_INVALID', 'the value is Confluent-framed Avro, but the node has no `schemaRegistry` to decode it');
      value = await this.codec.decode(bytes);
    } else {
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new CentaurError('RETRAIN_REQUEST_INVALID', `the value is neither Confluent-framed Avro nor JSON: ${(error as Error).message}`, { cause: error });
      }
    }
    return parseRetrainRequest(value);
  }

  /** One request: from its ledger when done before, else claim a version, train (waiting for labels), register, record, publish. */
  private async handle(request: RetrainRequestRecord): Promise<void> {
    const model = this.o.model.name;
    const dir = path.join(this.workDir, createHash('sha256').update(request.episode).digest('hex').slice(0, 32));
    const ledgerFile = path.join(dir, 'ledger.json');
    let ledger = await readLedger(ledgerFile);
    if (ledger?.run !== undefined) {
      this.ctx.logger.info({ node: this.ctx.nodeId, request: request.id, episode: request.episode, status: ledger.run.status }, 'A retrain request of an episode already trained: its result is published again.');
      this.runs.inc({ model, status: 'repeat' });
      await this.publish(ledger.run);
      return;
    }
    if (ledger === undefined) {
      const parentVersion = await this.registry.resolveVersion(model, this.o.model.alias);
      ledger = { type: 'centaur-training-ledger', version: 1, requestId: request.id, episode: request.episode, parentVersion, newVersion: await nextVersion(this.registry, model, parentVersion), startedAt: Date.now() };
      await writeLedger(ledgerFile, ledger);
    }
    let run: TrainingRunRecord;
    try {
      run = await this.train(request, ledger, dir);
    } catch (error) {
      const err = toCentaurError(error);
      if (err.retriable) throw err;
      // A failure that a retry would meet again (a parent version gone, the claimed version taken
      // by other weights, a registry refusing): the episode's run is `failed`, with the reason.
      run = { requestId: request.id, episode: request.episode, model, parentVersion: ledger.parentVersion, requestedAt: request.requestedAt, startedAt: ledger.startedAt, ...EMPTY_RUN, status: 'failed', reason: err.message, finishedAt: Date.now() };
    }
    ledger = { ...ledger, run };
    await writeLedger(ledgerFile, ledger);
    this.runs.inc({ model, status: run.status });
    this.ctx.logger.info({ node: this.ctx.nodeId, request: request.id, version: run.version, status: run.status, reason: run.reason }, 'Retrain request done.');
    await this.publish(run);
  }

  /** Trains the claimed version, waiting while labels are too few; the TrainingRun of the outcome. */
  private async train(request: RetrainRequestRecord, ledger: Ledger, dir: string): Promise<TrainingRunRecord> {
    const model = this.o.model.name;
    const base = { requestId: request.id, episode: request.episode, model, parentVersion: ledger.parentVersion, requestedAt: request.requestedAt, startedAt: ledger.startedAt };
    const outDir = path.join(dir, 'run');
    const { epoch, waiting } = this;
    const t = this.o.training;
    const job = {
      trainingSet: this.trainingSet,
      parentDir: (await this.registry.load(model, ledger.parentVersion)).dir,
      outDir,
      version: ledger.newVersion,
      parameters: { policy: t.policy, weighting: t.weights, minPerClass: t.minPerClass, seed: t.seed, maxEpochs: t.maxEpochs, batchSize: t.batchSize, learningRate: t.learningRate, l2: t.l2, patience: t.patience },
      anyFingerprint: t.anyFingerprint,
      blessing: this.o.blessing,
      ...(this.o.mlflow === undefined ? {} : { mlflow: { url: this.o.mlflow.url, experiment: this.o.mlflow.experiment } }),
      store: storeSettings(this.o),
    };
    let trained: TrainedVersion | undefined = await this.alreadyTrained(outDir, ledger);
    while (trained === undefined) {
      try {
        this.ctx.logger.info({ node: this.ctx.nodeId, request: request.id, parent: ledger.parentVersion, version: ledger.newVersion }, 'Training a new head.');
        trained = await trainInChildProcess(job, {
          niceness: this.o.niceness,
          signal: this.abort.signal,
          onEpoch: (e) => {
            epoch.set({ model }, e.epoch);
            if (e.epoch % 10 === 0) this.ctx.logger.debug({ node: this.ctx.nodeId, epoch: e.epoch, loss: e.loss, validationLoss: e.validationLoss }, 'Training progress.');
          },
        });
      } catch (error) {
        const err = toCentaurError(error);
        if (this.abort.signal.aborted || err.retriable) throw new CentaurError('SINK_WRITE_FAILED', `training for request ${request.id} did not finish: ${err.message}`, { cause: err, retriable: true });
        if (err.code !== 'CONFIG_INVALID' || !/too few labelled/.test(err.message)) {
          return { ...base, ...EMPTY_RUN, status: 'failed', reason: err.message, finishedAt: Date.now() };
        }
        if (Date.now() - ledger.startedAt >= this.o.labels.maxWaitSeconds * 1000) {
          waiting.set({ model }, 0);
          return { ...base, ...EMPTY_RUN, status: 'insufficient_labels', reason: err.message, finishedAt: Date.now() };
        }
        waiting.set({ model }, 1);
        this.ctx.logger.warn({ node: this.ctx.nodeId, request: request.id, why: err.message, retryInSeconds: this.o.labels.pollSeconds }, 'Waiting for labels before training.');
        await sleep(this.o.labels.pollSeconds * 1000, undefined, { signal: this.abort.signal }).catch(() => undefined);
        if (this.abort.signal.aborted) throw new CentaurError('SINK_WRITE_FAILED', `stopped while request ${request.id} waited for labels`, { retriable: true });
      } finally {
        epoch.set({ model }, 0);
      }
    }
    waiting.set({ model }, 0);
    this.seconds.set({ model }, trained.report.trainingSeconds);
    const done = await registerVersion(trained, { registry: this.registry, promote: this.o.promote === 'blessed', ...(this.mirror === undefined ? {} : { mirror: this.mirror }) });
    for (const gap of [...trained.gaps, ...done.gaps]) this.ctx.logger.warn({ node: this.ctx.nodeId, request: request.id, gap }, 'Part of the training did not reach MLflow; the version is complete here.');
    return runRecord(base, trained, done.promoted ? 'promoted' : done.registered ? 'candidate' : 'not_blessed');
  }

  /** The version trained before a restart, when its files are complete (a kill came after the training, before the ledger said done). */
  private async alreadyTrained(outDir: string, ledger: Ledger): Promise<TrainedVersion | undefined> {
    try {
      const report = JSON.parse(await readFile(path.join(outDir, 'report.json'), 'utf8')) as TrainingReport;
      const mlflow = JSON.parse(await readFile(path.join(outDir, 'model', 'manifest.json'), 'utf8')) as { version: string; training?: { mlflow?: TrainedVersion['mlflowRun'] } };
      if (report.version !== ledger.newVersion || mlflow.version !== ledger.newVersion) return undefined;
      return { report, modelDir: path.join(outDir, 'model'), mlflowRun: mlflow.training?.mlflow, gaps: [] };
    } catch {
      return undefined;
    }
  }

  private async publish(run: TrainingRunRecord): Promise<void> {
    for (const target of this.targets) await target.publish(run.episode, run);
  }
}

const EMPTY_RUN = {
  version: null,
  classes: [],
  newClasses: [],
  holdoutAccuracy: null,
  holdoutMacroF1: null,
  productionHoldoutAccuracy: null,
  productionHoldoutMacroF1: null,
  trainingSetUri: null,
  trainingSetContentHash: null,
  trainingSetRows: null,
  mlflowRunId: null,
  trainingSeconds: null,
} as const;

/** The record of a trained version. */
function runRecord(base: Pick<TrainingRunRecord, 'requestId' | 'episode' | 'model' | 'parentVersion' | 'requestedAt' | 'startedAt'>, trained: TrainedVersion, status: TrainingRunRecord['status']): TrainingRunRecord {
  const r = trained.report;
  const failed = r.blessing.checks.filter((c) => !c.passed).map((c) => `${c.check} ${c.value === null ? '–' : c.value.toFixed(3)} < ${c.threshold.toFixed(3)}`);
  return {
    ...base,
    version: r.version,
    status,
    reason: failed.length === 0 ? 'blessed' : `not blessed: ${failed.join('; ')}`,
    classes: r.classes,
    newClasses: r.newClasses,
    holdoutAccuracy: r.candidate.accuracy,
    holdoutMacroF1: r.candidate.macroF1,
    productionHoldoutAccuracy: r.production.accuracy,
    productionHoldoutMacroF1: r.production.macroF1,
    trainingSetUri: r.trainingSet.uri,
    trainingSetContentHash: r.trainingSet.contentHash,
    trainingSetRows: r.trainingSet.rows,
    mlflowRunId: trained.mlflowRun?.runId ?? null,
    finishedAt: Date.now(),
    trainingSeconds: r.trainingSeconds,
  };
}

/** The ledger of an episode, or undefined when it has none. */
async function readLedger(file: string): Promise<Ledger | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CentaurError('SINK_WRITE_FAILED', `cannot read the training ledger ${file}: ${(error as Error).message}`, { cause: error, retriable: true });
  }
  const ledger = JSON.parse(text) as Ledger;
  if (ledger.type !== 'centaur-training-ledger' || ledger.version !== 1) throw new CentaurError('CONFIG_INVALID', `${file} is not a training ledger of version 1; move it away to train that episode again`);
  return ledger;
}

/** Writes a ledger atomically. */
async function writeLedger(file: string, ledger: Ledger): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(ledger, null, 2)}\n`);
  await rename(temporary, file);
}
