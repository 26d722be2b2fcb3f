/**
 * `centaur train <training-set> --model <model-dir> --out <dir>`: fits a new classification head on
 * the training set `training-set-sink` keeps in the lake, judges it against the model on the same
 * holdout with the blessing policy, and writes the new version — the model's ONNX graph with its
 * head replaced, in `<out>/model/` — with `head.json`, `report.json`, `report.md` and
 * `confusion.svg` (src/training/training-run.ts). With `--registry`, a blessed version is
 * registered under `candidate` (and `production` with `--promote`).
 */
import { CentaurError } from '../core/errors.js';
import { isImageFolderSet, readImageFolderSet } from '../datasets/image-folder-set.js';
import { loadManifest } from '../inference/manifest.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MlflowClient, mlflowAuthorization } from '../registry/mlflow-client.js';
import { MlflowModelRegistry, mlflowUrl as mlflowUrlOf } from '../registry/mlflow-model-registry.js';
import { openRegistry } from '../registry/open-registry.js';
import { lakeBaseUri } from '../storage/lake-location.js';
import { DEFAULT_BLESSING } from '../training/blessing.js';
import type { BlessingPolicy } from '../training/blessing.js';
import type { EpochFigures } from '../training/head-trainer.js';
import { TrainingTracker } from '../training/mlflow-tracking.js';
import { runTraining } from '../training/training-run.js';
import type { TrainingParameters } from '../training/training-run.js';

/** The options as commander hands them over. */
export interface TrainFlags {
  readonly model: string;
  readonly out: string;
  readonly policy?: string;
  readonly weights?: string;
  readonly minPerClass?: string;
  readonly seed?: string;
  readonly maxEpochs?: string;
  readonly batchSize?: string;
  readonly learningRate?: string;
  readonly l2?: string;
  readonly patience?: string;
  /** `--any-fingerprint`: train on rows of every fingerprint. */
  readonly anyFingerprint?: boolean;
  readonly quiet?: boolean;
  readonly maxMacroF1Drop?: string;
  readonly minRecall?: string;
  readonly minNewClassRecall?: string;
  readonly minHoldoutPerClass?: string;
  /** Registry to register a blessed version in (folder, s3://, azure://). */
  readonly registry?: string;
  readonly version?: string;
  readonly promote?: boolean;
  /** MLflow tracking server to log the run in (default $MLFLOW_TRACKING_URI). */
  readonly mlflow?: string;
  readonly experiment?: string;
}

/** Where the command writes. */
export interface TrainIo {
  out(text: string): void;
  err(text: string): void;
}

/** A positive number flag, or a usage error naming it. */
function numberFlag(value: string | undefined, fallback: number, name: string, integer: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new CentaurError('CONFIG_INVALID', `--${name} must be a ${integer ? 'whole ' : ''}number ≥ 0, not ${value}`);
  return n;
}

/** The blessing policy from the flags, defaults for those not given. */
function blessingFlags(flags: TrainFlags): BlessingPolicy {
  const d = DEFAULT_BLESSING;
  return {
    maxMacroF1Drop: numberFlag(flags.maxMacroF1Drop, d.maxMacroF1Drop, 'max-macro-f1-drop', false),
    minRecall: numberFlag(flags.minRecall, d.minRecall, 'min-recall', false),
    minNewClassRecall: numberFlag(flags.minNewClassRecall, d.minNewClassRecall, 'min-new-class-recall', false),
    minHoldoutPerClass: numberFlag(flags.minHoldoutPerClass, d.minHoldoutPerClass, 'min-holdout-per-class', true),
  };
}

/** Trains, judges, writes the version and its report, registers when blessed; resolves with the exit code (0 blessed, 3 not blessed, 1 training failed, 2 bad options or too few labels). */
export async function trainCommand(trainingSet: string, flags: TrainFlags, io: TrainIo): Promise<number> {
  try {
    const policy = flags.policy ?? 'latest';
    if (policy !== 'latest' && policy !== 'majority') throw new CentaurError('CONFIG_INVALID', `--policy must be latest or majority, not ${policy}`);
    const weighting = flags.weights ?? 'balanced';
    if (weighting !== 'balanced' && weighting !== 'none') throw new CentaurError('CONFIG_INVALID', `--weights must be balanced or none, not ${weighting}`);
    const parameters: TrainingParameters = {
      policy,
      weighting,
      minPerClass: numberFlag(flags.minPerClass, 10, 'min-per-class', true),
      seed: numberFlag(flags.seed, 1, 'seed', true),
      maxEpochs: numberFlag(flags.maxEpochs, 100, 'max-epochs', true),
      batchSize: Math.max(1, numberFlag(flags.batchSize, 256, 'batch-size', true)),
      learningRate: numberFlag(flags.learningRate, 0.01, 'learning-rate', false),
      l2: numberFlag(flags.l2, 0.0001, 'l2', false),
      patience: numberFlag(flags.patience, 5, 'patience', true),
    };
    const blessing = blessingFlags(flags);
    if (flags.promote === true && flags.registry === undefined) throw new CentaurError('CONFIG_INVALID', '--promote needs --registry');
    const parent = await loadManifest(flags.model);
    const registry = flags.registry === undefined ? undefined : await openRegistry(flags.registry, process.cwd());
    // MLflow: the --mlflow server (or MLflow's own variable), else the registry's when it is MLflow's.
    // MLflow's own variable may name a local store (file:, sqlite:, databricks) for other tools: only a server counts.
    const fromEnv = nonEmpty(process.env.MLFLOW_TRACKING_URI);
    const envServer = fromEnv !== undefined && /^https?:\/\//i.test(fromEnv) ? fromEnv : undefined;
    if (fromEnv !== undefined && envServer === undefined && flags.mlflow === undefined) io.err('centaur train: MLFLOW_TRACKING_URI is not an http(s) tracking server; the training is not logged in MLflow (give --mlflow)');
    const mlflowUrl = flags.mlflow ?? envServer ?? (registry?.root.startsWith('mlflow+') === true ? mlflowUrlOf(registry.root) : undefined);
    if (mlflowUrl !== undefined && !/^https?:\/\//i.test(mlflowUrl)) throw new CentaurError('CONFIG_INVALID', '--mlflow must be the tracking server\'s http(s) URL');
    const authorization = mlflowAuthorization();
    const client = mlflowUrl === undefined ? undefined : new MlflowClient({ url: mlflowUrl, timeoutMs: 30_000, ...(authorization === undefined ? {} : { authorization }) });
    const tracker = client === undefined ? undefined : new TrainingTracker(client, flags.experiment ?? 'centaur-training');
    const mirror = client !== undefined && registry !== undefined && !registry.root.startsWith('mlflow+') ? new MlflowModelRegistry(`mlflow+${mlflowUrl ?? ''}`, client) : undefined;
    // A local folder of images by class is embedded with the model here; anything else is a training-set table.
    const snapshot = (await isImageFolderSet(trainingSet)) ? await readImageFolderSet(trainingSet, parent, (text) => io.err(`centaur train: left out ${text}`)) : undefined;
    const run = await runTraining({
      trainingSet: lakeBaseUri(trainingSet, process.cwd()),
      parent,
      outDir: flags.out,
      parameters,
      anyFingerprint: flags.anyFingerprint === true,
      blessing,
      ...(registry === undefined ? {} : { registry }),
      ...(flags.version === undefined ? {} : { version: flags.version }),
      promote: flags.promote === true,
      ...(snapshot === undefined ? {} : { snapshot }),
      ...(tracker === undefined ? {} : { tracker }),
      ...(mirror === undefined ? {} : { mirror }),
      ...(flags.quiet === true ? {} : { onEpoch: (e: EpochFigures) => io.err(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}${e.validationLoss === null ? '' : `, validation loss ${e.validationLoss.toFixed(4)}, accuracy ${((e.validationAccuracy ?? 0) * 100).toFixed(1)} %`}`) }),
    });
    const r = run.report;
    io.out(
      `${r.model} version ${r.version} in ${run.modelDir}: ${r.classes.length} classes (${r.classes.join(', ')}), epoch ${r.bestEpoch} of ${r.epochs}, ${r.trainingSeconds.toFixed(1)} s; holdout accuracy ${pct(r.candidate.accuracy)} (version ${r.parentVersion}: ${pct(r.production.accuracy)}), macro F1 ${num(r.candidate.macroF1)} (${num(r.production.macroF1)}); ${r.blessing.blessed ? 'blessed' : `not blessed: ${r.blessing.checks.filter((c) => !c.passed).map((c) => c.check).join('; ')}`}${run.registered ? `; registered as ${r.version} (candidate${run.promoted ? ', production' : ''})` : registry === undefined ? '' : '; not registered'}`,
    );
    if (run.mlflow !== undefined) {
      await writeFile(path.join(flags.out, 'mlflow.json'), `${JSON.stringify(run.mlflow, null, 2)}\n`);
      if (run.mlflow.run !== undefined) io.out(`MLflow run ${run.mlflow.run.runId} (experiment ${run.mlflow.run.experimentId}) at ${run.mlflow.run.url}${run.mlflow.registered ? `; version ${r.version} in its Model Registry` : ''}`);
      for (const gap of run.mlflow.gaps) io.err(`centaur train: MLflow gap: ${gap}; the training and its registration here are complete (see ${path.join(flags.out, 'mlflow.json')})`);
    }
    return r.blessing.blessed ? 0 : 3;
  } catch (error) {
    const e = error instanceof CentaurError ? error : new CentaurError('INTERNAL', (error as Error).message, { cause: error });
    io.err(`centaur train: ${e.message}`);
    return e.code === 'CONFIG_INVALID' || e.code === 'MODEL_LOAD_FAILED' ? 2 : 1;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)} %`;
}

function num(x: number | null): string {
  return x === null ? '–' : x.toFixed(3);
}
