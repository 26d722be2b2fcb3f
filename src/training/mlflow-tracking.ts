/**
 * A training as an MLflow run: parameters (the training's and the blessing policy's, the parent and
 * the training set), per-epoch loss and validation figures, the holdout figures of candidate and
 * production (per class too), the verdict as a tag, and the report, confusion matrix, head and new
 * version (manifest and ONNX) as artifacts. MLflow is the team's record, not a dependency of the
 * training: when the server cannot be reached the training goes on and the gap is kept and reported
 * (`gap`), never thrown.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import type { MlflowClient, MlflowMetric } from '../registry/mlflow-client.js';
import type { EpochFigures } from './head-trainer.js';
import type { TrainingReport } from './training-report.js';

/** The MLflow side of a training, as the version's lineage records it. */
export interface MlflowRunRef {
  readonly url: string;
  readonly experimentId: string;
  readonly runId: string;
}

/** A metric key MLflow accepts (letters, digits, `_ - . /` and spaces), from a class name that may hold anything. */
export function metricKey(text: string): string {
  return text.replace(/[^A-Za-z0-9_\-. /]/g, '_').slice(0, 250);
}

export class TrainingTracker {
  private run: { runId: string; experimentId: string; artifactUri: string } | undefined;
  private problem: string | undefined;

  constructor(
    private readonly client: MlflowClient,
    private readonly experiment: string,
  ) {}

  /** Why the run is not (wholly) in MLflow, or undefined when it is. */
  get gap(): string | undefined {
    return this.problem;
  }

  /** The run, once started. */
  get ref(): MlflowRunRef | undefined {
    return this.run === undefined ? undefined : { url: this.client.where, experimentId: this.run.experimentId, runId: this.run.runId };
  }

  /** Starts the run with its parameters; a server that cannot be reached leaves a gap. */
  async start(runName: string, params: Readonly<Record<string, string>>, tags: Readonly<Record<string, string>>): Promise<void> {
    await this.attempt('start the run', async () => {
      const experimentId = await this.client.ensureExperiment(this.experiment);
      const run = await this.client.createRun(experimentId, runName, tags);
      this.run = { runId: run.runId, experimentId, artifactUri: run.artifactUri };
      await this.client.logBatch(run.runId, { params });
    });
  }

  /** Logs the epochs, the holdout figures, the verdict and the files of `outDir` as artifacts, and ends the run. */
  async finish(outDir: string, files: readonly string[], epochs: readonly EpochFigures[], report: TrainingReport): Promise<void> {
    const run = this.run;
    if (run === undefined) return;
    await this.attempt('log the results', async () => {
      const now = Date.now();
      const metrics: MlflowMetric[] = [];
      const add = (key: string, value: number | null, step = 0): void => {
        if (value !== null && Number.isFinite(value)) metrics.push({ key: metricKey(key), value, step, timestamp: now });
      };
      for (const e of epochs) {
        add('loss', e.loss, e.epoch);
        add('validation_loss', e.validationLoss, e.epoch);
        add('validation_accuracy', e.validationAccuracy, e.epoch);
      }
      add('holdout_accuracy', report.candidate.accuracy);
      add('holdout_macro_f1', report.candidate.macroF1);
      add('holdout_ece', report.candidate.ece);
      add('holdout_known_macro_f1', report.blessing.knownMacroF1.candidate);
      add('production_holdout_accuracy', report.production.accuracy);
      add('production_holdout_macro_f1', report.production.macroF1);
      add('production_holdout_known_macro_f1', report.blessing.knownMacroF1.production);
      add('best_epoch', report.bestEpoch);
      add('training_seconds', report.trainingSeconds);
      for (const c of report.classes) {
        const m = report.candidate.perClass[c];
        add(`holdout_precision.${c}`, m?.precision ?? null);
        add(`holdout_recall.${c}`, m?.recall ?? null);
        add(`holdout_f1.${c}`, m?.f1 ?? null);
      }
      const classes = JSON.stringify(report.classes);
      // MLflow takes tag values of up to 5,000 characters: a long class list stays in report.json.
      await this.client.logBatch(run.runId, { metrics, tags: { 'centaur.blessed': String(report.blessing.blessed), 'centaur.version': report.version, ...(classes.length <= 5000 ? { 'centaur.classes': classes } : {}) } });
      for (const file of files) {
        const type = file.endsWith('.json') ? 'application/json' : file.endsWith('.md') ? 'text/markdown' : file.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
        await this.client.putArtifact(run.artifactUri, file, await readFile(path.join(outDir, file)), type);
      }
      await this.client.endRun(run.runId, 'FINISHED');
    });
  }

  /** Ends the run as FAILED with the reason as a tag (best effort). */
  async fail(error: Error): Promise<void> {
    const run = this.run;
    if (run === undefined) return;
    await this.attempt('record the failure', async () => {
      await this.client.logBatch(run.runId, { tags: { 'centaur.error': error.message.slice(0, 5000) } });
      await this.client.endRun(run.runId, 'FAILED');
    });
  }

  private async attempt(what: string, step: () => Promise<void>): Promise<void> {
    if (this.problem !== undefined) return;
    try {
      await step();
    } catch (error) {
      if (!(error instanceof CentaurError)) throw error;
      this.problem = `could not ${what} in MLflow at ${this.client.where}: ${error.message}`;
    }
  }
}
