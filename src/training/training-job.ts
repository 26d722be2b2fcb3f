/**
 * A training as a job for a separate process: what it needs, as plain data that crosses the IPC
 * channel (paths and numbers, no open clients), and the messages the process sends back — one per
 * epoch for progress, then the trained version or the error.
 */
import type { StoreSettings } from '../storage/store-options.js';
import type { BlessingPolicy } from './blessing.js';
import type { EpochFigures } from './head-trainer.js';
import type { TrainedVersion, TrainingParameters } from './training-run.js';

/** What the training process runs. */
export interface TrainingJob {
  readonly trainingSet: string;
  /** The parent's local model folder. */
  readonly parentDir: string;
  readonly outDir: string;
  readonly version: string;
  readonly parameters: TrainingParameters;
  readonly anyFingerprint: boolean;
  readonly blessing: BlessingPolicy;
  /** Connections of an `s3://` or `azure://` training set. */
  readonly store?: Pick<StoreSettings, 's3' | 'azure'>;
  /** Log the run in MLflow (credentials from MLflow's environment variables). */
  readonly mlflow?: { readonly url: string; readonly experiment: string };
}

/** A message from the training process. */
export type TrainingMessage =
  | { readonly type: 'epoch'; readonly epoch: EpochFigures }
  | { readonly type: 'done'; readonly trained: TrainedVersion }
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly retriable: boolean };
