/**
 * One training from start to verdict, as `centaur train` and the trainer run it: read the training
 * set from the lake, fit the head, judge it against the parent on the same holdout with the
 * blessing policy, write the new version (the parent's ONNX graph with the head replaced) and the
 * report, and — given a registry — register a blessed version under `candidate` (and move
 * `production` when asked). A version that is not blessed is written and reported, never registered.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { loadManifest } from '../inference/manifest.js';
import type { LoadedManifest } from '../inference/manifest.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import { nextVersion } from '../registry/promotion.js';
import { storeFor } from '../storage/store-for.js';
import type { StoreSettings } from '../storage/store-options.js';
import { readTrainingSet } from '../training-set/training-set-table.js';
import type { TrainingSetSnapshot } from '../training-set/training-set-table.js';
import { bless } from './blessing.js';
import type { BlessingPolicy } from './blessing.js';
import type { EpochFigures } from './head-trainer.js';
import { writeHeadVersion } from './head-version.js';
import { trainFromSet } from './train-from-set.js';
import type { TrainFromSetOptions } from './train-from-set.js';
import type { MlflowRunRef, TrainingTracker } from './mlflow-tracking.js';
import { REPORT_FILES, writeTrainingReport } from './training-report.js';
import type { TrainingReport } from './training-report.js';

/** The training parameters recorded with every version (and logged as MLflow parameters). */
export type TrainingParameters = Pick<TrainFromSetOptions, 'policy' | 'weighting' | 'minPerClass' | 'seed' | 'maxEpochs' | 'batchSize' | 'learningRate' | 'l2' | 'patience'>;

/** What to train, judge and register. */
export interface TrainingRunOptions {
  /** The training set's base URI (s3://, azure://, file://). */
  readonly trainingSet: string;
  /** The parent: the serving version whose head is replaced. */
  readonly parent: LoadedManifest;
  /** Where the version folder (`model/`), head.json and the report are written. */
  readonly outDir: string;
  readonly parameters: TrainingParameters;
  /** Train on rows of every fingerprint, not only the parent's. */
  readonly anyFingerprint: boolean;
  readonly blessing: BlessingPolicy;
  /** The rows already read (a folder of images embedded by the caller); default: the table at `trainingSet`. */
  readonly snapshot?: TrainingSetSnapshot;
  /** Connections of an `s3://` or `azure://` training set (default: the SDKs' own defaults and environment). */
  readonly store?: Pick<StoreSettings, 's3' | 'azure'>;
  /** Registers a blessed version here; none: only the files are written. */
  readonly registry?: ModelRegistryApi;
  /** The new version's name (default: the registry's next whole number). */
  readonly version?: string;
  /** Moves `production` to a blessed version too. */
  readonly promote: boolean;
  readonly onEpoch?: (epoch: EpochFigures) => void;
  /** Logs the training as an MLflow run (a server that cannot be reached leaves a reported gap). */
  readonly tracker?: TrainingTracker;
  /** A second registry a registered version is copied into with the same aliases (MLflow's, beside a folder or object-store registry). */
  readonly mirror?: ModelRegistryApi;
}

/** A trained version on disk, not yet registered. */
export interface TrainedVersion {
  readonly report: TrainingReport;
  /** The version folder written. */
  readonly modelDir: string;
  /** The MLflow run it was logged as, when it was. */
  readonly mlflowRun: MlflowRunRef | undefined;
  /** What did not reach MLflow. */
  readonly gaps: readonly string[];
}

/** How a run ended. */
export interface TrainingRunResult {
  readonly report: TrainingReport;
  /** The version folder written. */
  readonly modelDir: string;
  readonly registered: boolean;
  readonly promoted: boolean;
  /** The MLflow run, whether the version is in MLflow's registry, and what did not reach MLflow. */
  readonly mlflow?: { readonly run: MlflowRunRef | undefined; readonly registered: boolean; readonly gaps: readonly string[] };
}

/** Runs one training and registers its version; CONFIG_INVALID when the set has too few labels per class (the message says which). */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const { manifest } = o.parent;
  const version = o.version ?? (o.registry === undefined ? String(Number(manifest.version) + 1 || `${manifest.version}-1`) : await nextVersion(o.registry, manifest.name, manifest.version));
  const trained = await trainVersion({ ...o, version });
  const done = await registerVersion(trained, o);
  if (o.tracker === undefined) return { report: trained.report, modelDir: trained.modelDir, registered: done.registered, promoted: done.promoted };
  const mlflowRegistered = done.mirrored || (done.registered && o.mirror === undefined && o.registry?.root.startsWith('mlflow+') === true);
  return { report: trained.report, modelDir: trained.modelDir, registered: done.registered, promoted: done.promoted, mlflow: { run: trained.mlflowRun, registered: mlflowRegistered, gaps: [...trained.gaps, ...done.gaps] } };
}

/** What `trainVersion` needs: the run's options without the registry side, and the version name. */
export type TrainVersionOptions = Omit<TrainingRunOptions, 'registry' | 'mirror' | 'promote' | 'version'> & { readonly version: string };

/** Reads the training set, trains, judges and writes the version and its report into `outDir` (logged in MLflow when tracked); registers nothing. */
export async function trainVersion(o: TrainVersionOptions): Promise<TrainedVersion> {
  const snapshot = o.snapshot ?? (await readTrainingTable(o.trainingSet, o.store ?? {}));
  const { manifest } = o.parent;
  const version = o.version;
  const trainingSet = { uri: o.trainingSet, contentHash: snapshot.contentHash, rows: snapshot.rows.length };
  await o.tracker?.start(
    `${manifest.name} ${version}`,
    {
      ...Object.fromEntries(Object.entries(o.parameters).map(([k, v]) => [k, String(v)])),
      ...Object.fromEntries(Object.entries(o.blessing).map(([k, v]) => [`blessing.${k}`, String(v)])),
      parent: `${manifest.name}:${manifest.version}`,
      trainingSet: o.trainingSet,
      trainingSetContentHash: snapshot.contentHash,
      trainingSetRows: String(snapshot.rows.length),
      fingerprint: o.parent.fingerprint,
    },
    { 'centaur.model': manifest.name, 'centaur.version': version, 'centaur.parent': manifest.version, 'mlflow.source.name': 'centaur train' },
  );
  let result;
  try {
    result = await trainFromSet(snapshot.rows, {
      ...o.parameters,
      minHoldoutPerClass: o.blessing.minHoldoutPerClass,
      modelClasses: manifest.classes,
      fingerprint: o.anyFingerprint ? undefined : o.parent.fingerprint,
      ...(o.onEpoch === undefined ? {} : { onEpoch: o.onEpoch }),
    });
  } catch (error) {
    await o.tracker?.fail(error as Error);
    throw error;
  }
  const blessing = bless(result.candidate, result.production, manifest.classes, o.blessing);
  const report: TrainingReport = {
    model: manifest.name,
    version,
    parentVersion: manifest.version,
    trainingSet,
    classes: result.classes,
    newClasses: result.newClasses,
    counts: result.counts,
    skipped: result.skipped,
    candidate: result.candidate,
    production: result.production,
    blessing,
    bestEpoch: result.head.bestEpoch,
    epochs: result.head.epochs.length,
    trainingSeconds: result.trainingSeconds,
  };
  await mkdir(o.outDir, { recursive: true });
  const modelDir = path.join(o.outDir, 'model');
  await writeHeadVersion(o.parent, modelDir, {
    version,
    classes: result.classes,
    kernel: result.head.kernel,
    bias: result.head.bias,
    metrics: {
      holdoutAccuracy: result.candidate.accuracy,
      holdoutMacroF1: result.candidate.macroF1,
      holdoutEce: result.candidate.ece,
      holdoutSize: result.candidate.examples,
      blessed: blessing.blessed,
    },
    training: {
      trainingSet,
      parameters: o.parameters,
      classWeights: result.classWeights,
      counts: result.counts,
      bestEpoch: result.head.bestEpoch,
      epochs: result.head.epochs,
      seconds: result.trainingSeconds,
      ...(o.tracker?.ref === undefined ? {} : { mlflow: o.tracker.ref }),
    },
  });
  await writeFile(
    path.join(o.outDir, 'head.json'),
    `${JSON.stringify({ format: 'centaur-head', version: 1, classes: result.classes, dims: result.head.dims, kernel: Buffer.from(result.head.kernel.buffer, result.head.kernel.byteOffset, result.head.kernel.byteLength).toString('base64'), bias: [...result.head.bias], fingerprint: o.parent.fingerprint }, null, 2)}\n`,
  );
  await writeTrainingReport(o.outDir, report);
  const modelFiles = ['manifest.json', path.basename(manifest.file)].map((f) => `model/${f}`);
  await o.tracker?.finish(o.outDir, [...REPORT_FILES, 'head.json', ...modelFiles], result.head.epochs, report);
  return { report, modelDir, mlflowRun: o.tracker?.ref, gaps: o.tracker?.gap === undefined ? [] : [o.tracker.gap] };
}

/** The rows of the training-set table at `uri`. */
async function readTrainingTable(uri: string, settings: StoreSettings): Promise<TrainingSetSnapshot> {
  const store = await storeFor(uri, settings);
  try {
    return await readTrainingSet(store, uri);
  } finally {
    await store.close();
  }
}

/** Where a trained version goes. */
export interface RegisterOptions {
  readonly registry?: ModelRegistryApi;
  readonly promote: boolean;
  readonly mirror?: ModelRegistryApi;
}

/**
 * Registers a blessed version under `candidate` (and `production` when promoting), then in the
 * mirror with the same aliases; a version already registered with the same checksum (a retry after
 * a crash) is taken as registered. A version that is not blessed is not registered.
 */
export async function registerVersion(trained: TrainedVersion, o: RegisterOptions): Promise<{ registered: boolean; promoted: boolean; mirrored: boolean; gaps: string[] }> {
  const { report } = trained;
  const gaps: string[] = [];
  if (o.registry === undefined || !report.blessing.blessed) return { registered: false, promoted: false, mirrored: false, gaps };
  const aliases = o.promote ? ['candidate', 'production'] : ['candidate'];
  await registerOnce(o.registry, trained.modelDir, report.model, report.version, aliases);
  let mirrored = false;
  if (o.mirror !== undefined && trained.gaps.length === 0) {
    try {
      await registerOnce(o.mirror, trained.modelDir, report.model, report.version, aliases);
      mirrored = true;
    } catch (error) {
      if (!(error instanceof CentaurError)) throw error;
      gaps.push(`could not register version ${report.version} in ${o.mirror.root}: ${error.message}`);
    }
  }
  return { registered: true, promoted: o.promote, mirrored, gaps };
}

/** Registers `modelDir` as `version` unless that version is there already with the same checksum, then points the aliases at it. */
async function registerOnce(registry: ModelRegistryApi, modelDir: string, model: string, version: string, aliases: readonly string[]): Promise<void> {
  const local = await loadManifest(modelDir);
  const listed = await registry.versions(model).catch((error: unknown) => {
    if (error instanceof CentaurError && error.code === 'MODEL_NOT_FOUND') return [];
    throw error;
  });
  const existing = listed.find((v) => v.version === version);
  if (existing === undefined) await registry.register(modelDir, { version });
  else if (existing.sha256 !== local.manifest.sha256) throw new CentaurError('CONFIG_INVALID', `${model} version ${version} is registered in ${registry.root} with other weights (sha256 ${existing.sha256 ?? '?'}); versions are immutable`);
  const current = await registry.aliases(model);
  for (const alias of aliases) if (current[alias] !== version) await registry.setAlias(model, alias, version);
}
