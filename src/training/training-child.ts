/**
 * The training process's entry: receives one TrainingJob over IPC, trains the version (reading the
 * training set, fitting, judging, writing, logging to MLflow) and sends progress and the result
 * back. It exits when its parent goes away (the IPC channel closes), so a killed trainer leaves no
 * training behind that could register a version later.
 */
import { CentaurError } from '../core/errors.js';
import { loadManifest } from '../inference/manifest.js';
import { MlflowClient, mlflowAuthorization } from '../registry/mlflow-client.js';
import type { TrainingJob, TrainingMessage } from './training-job.js';
import { TrainingTracker } from './mlflow-tracking.js';
import { trainVersion } from './training-run.js';

function send(message: TrainingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

async function run(job: TrainingJob): Promise<void> {
  try {
    const parent = await loadManifest(job.parentDir);
    const authorization = mlflowAuthorization();
    const tracker =
      job.mlflow === undefined ? undefined : new TrainingTracker(new MlflowClient({ url: job.mlflow.url, timeoutMs: 30_000, ...(authorization === undefined ? {} : { authorization }) }), job.mlflow.experiment);
    const trained = await trainVersion({
      trainingSet: job.trainingSet,
      parent,
      outDir: job.outDir,
      parameters: job.parameters,
      anyFingerprint: job.anyFingerprint,
      blessing: job.blessing,
      version: job.version,
      ...(job.store === undefined ? {} : { store: job.store }),
      onEpoch: (epoch) => void send({ type: 'epoch', epoch }),
      ...(tracker === undefined ? {} : { tracker }),
    });
    await send({ type: 'done', trained });
  } catch (error) {
    // Anything that is not one of Centaur's errors (a reset socket, a full disk) may pass: retriable.
    const e = error instanceof CentaurError ? error : new CentaurError('INTERNAL', (error as Error).message, { cause: error, retriable: true });
    await send({ type: 'error', code: e.code, message: e.message, retriable: e.retriable });
  }
  process.disconnect?.();
}

process.on('disconnect', () => process.exit(0));
process.once('message', (job: TrainingJob) => void run(job));
