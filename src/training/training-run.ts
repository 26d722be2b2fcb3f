/**
 * One training from start to verdict, as `centaur train` and the trainer run it: read the training
 * set from the lake, fit the head, judge it against the parent on the same holdout with the
 * blessing policy, write the new version (the parent's ONNX graph with the head replaced) and the
 * report, and — given a registry — register a blessed version under `candidate` (and move
 * `production` when asked). A version that is not blessed is written and reported, never registered.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedManifest } from '../inference/manifest.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import { nextVersion } from '../registry/promotion.js';
import { storeFor } from '../storage/store-for.js';
import { readTrainingSet } from '../training-set/training-set-table.js';
import { bless } from './blessing.js';
import type { BlessingPolicy } from './blessing.js';
import type { EpochFigures } from './head-trainer.js';
import { writeHeadVersion } from './head-version.js';
import { trainFromSet } from './train-from-set.js';
import type { TrainFromSetOptions } from './train-from-set.js';
import { writeTrainingReport } from './training-report.js';
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
  /** Registers a blessed version here; none: only the files are written. */
  readonly registry?: ModelRegistryApi;
  /** The new version's name (default: the registry's next whole number). */
  readonly version?: string;
  /** Moves `production` to a blessed version too. */
  readonly promote: boolean;
  readonly onEpoch?: (epoch: EpochFigures) => void;
}

/** How a run ended. */
export interface TrainingRunResult {
  readonly report: TrainingReport;
  /** The version folder written. */
  readonly modelDir: string;
  readonly registered: boolean;
  readonly promoted: boolean;
}

/** Runs one training; CONFIG_INVALID when the set has too few labels per class (the message says which). */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const store = await storeFor(o.trainingSet);
  let snapshot;
  try {
    snapshot = await readTrainingSet(store, o.trainingSet);
  } finally {
    await store.close();
  }
  const { manifest } = o.parent;
  const result = await trainFromSet(snapshot.rows, {
    ...o.parameters,
    modelClasses: manifest.classes,
    fingerprint: o.anyFingerprint ? undefined : o.parent.fingerprint,
    ...(o.onEpoch === undefined ? {} : { onEpoch: o.onEpoch }),
  });
  const blessing = bless(result.candidate, result.production, manifest.classes, o.blessing);
  const version = o.version ?? (o.registry === undefined ? String(Number(manifest.version) + 1 || `${manifest.version}-1`) : await nextVersion(o.registry, manifest.name, manifest.version));
  const trainingSet = { uri: o.trainingSet, contentHash: snapshot.contentHash, rows: snapshot.rows.length };
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
    },
  });
  await writeFile(
    path.join(o.outDir, 'head.json'),
    `${JSON.stringify({ format: 'centaur-head', version: 1, classes: result.classes, dims: result.head.dims, kernel: Buffer.from(result.head.kernel.buffer, result.head.kernel.byteOffset, result.head.kernel.byteLength).toString('base64'), bias: [...result.head.bias], fingerprint: o.parent.fingerprint }, null, 2)}\n`,
  );
  await writeTrainingReport(o.outDir, report);
  let registered = false;
  let promoted = false;
  if (o.registry !== undefined && blessing.blessed) {
    await o.registry.register(modelDir, { version, aliases: ['candidate'] });
    registered = true;
    if (o.promote) {
      await o.registry.setAlias(manifest.name, 'production', version);
      promoted = true;
    }
  }
  return { report, modelDir, registered, promoted };
}
