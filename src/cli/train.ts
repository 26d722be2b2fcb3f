/**
 * `centaur train <training-set> --model <model-dir> --out <dir>`: fits a new classification head on
 * the training set `training-set-sink` keeps in the lake (src/training/train-from-set.ts) and
 * writes it with its report: `head.json` (classes, kernel and bias, the fingerprint it was trained
 * for, the training set's URI and content hash, the parameters and every epoch), `report.json`
 * (candidate and production on the same holdout) and `report.md`. The head is the model's
 * classification layer for the same embeddings; replacing it in the ONNX graph and registering the
 * version are the steps after this one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { loadManifest } from '../inference/manifest.js';
import { storeFor } from '../storage/store-for.js';
import { lakeBaseUri } from '../storage/lake-location.js';
import { readTrainingSet } from '../training-set/training-set-table.js';
import type { Evaluation } from '../training/evaluation.js';
import { trainFromSet } from '../training/train-from-set.js';
import type { TrainFromSetResult } from '../training/train-from-set.js';

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

/** Trains and writes the head and its report; resolves with the exit code (0 written, 1 training failed, 2 bad options or too few labels). */
export async function trainCommand(trainingSet: string, flags: TrainFlags, io: TrainIo): Promise<number> {
  try {
    const policy = flags.policy ?? 'latest';
    if (policy !== 'latest' && policy !== 'majority') throw new CentaurError('CONFIG_INVALID', `--policy must be latest or majority, not ${policy}`);
    const weighting = flags.weights ?? 'balanced';
    if (weighting !== 'balanced' && weighting !== 'none') throw new CentaurError('CONFIG_INVALID', `--weights must be balanced or none, not ${weighting}`);
    const parameters = {
      policy,
      weighting,
      minPerClass: numberFlag(flags.minPerClass, 10, 'min-per-class', true),
      seed: numberFlag(flags.seed, 1, 'seed', true),
      maxEpochs: numberFlag(flags.maxEpochs, 100, 'max-epochs', true),
      batchSize: Math.max(1, numberFlag(flags.batchSize, 256, 'batch-size', true)),
      learningRate: numberFlag(flags.learningRate, 0.01, 'learning-rate', false),
      l2: numberFlag(flags.l2, 0.0001, 'l2', false),
      patience: numberFlag(flags.patience, 5, 'patience', true),
    } as const;
    const model = await loadManifest(flags.model);
    const base = lakeBaseUri(trainingSet, process.cwd());
    const store = await storeFor(base);
    let snapshot;
    try {
      snapshot = await readTrainingSet(store, base);
    } finally {
      await store.close();
    }
    const result = await trainFromSet(snapshot.rows, {
      modelClasses: model.manifest.classes,
      fingerprint: flags.anyFingerprint === true ? undefined : model.fingerprint,
      ...parameters,
      ...(flags.quiet === true ? {} : { onEpoch: (e) => io.err(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}${e.validationLoss === null ? '' : `, validation loss ${e.validationLoss.toFixed(4)}, accuracy ${((e.validationAccuracy ?? 0) * 100).toFixed(1)} %`}`) }),
    });
    const head = {
      format: 'centaur-head',
      version: 1,
      parent: { name: model.manifest.name, version: model.manifest.version },
      fingerprint: model.fingerprint,
      classes: result.classes,
      newClasses: result.newClasses,
      dims: result.head.dims,
      kernel: Buffer.from(result.head.kernel.buffer, result.head.kernel.byteOffset, result.head.kernel.byteLength).toString('base64'),
      bias: [...result.head.bias],
      trainingSet: { uri: base, contentHash: snapshot.contentHash, rows: snapshot.rows.length, files: snapshot.files },
      parameters,
      classWeights: result.classWeights,
      bestEpoch: result.head.bestEpoch,
      epochs: result.head.epochs,
      trainingSeconds: result.trainingSeconds,
      createdAt: new Date().toISOString(),
    };
    const report = { counts: result.counts, skipped: result.skipped, candidate: result.candidate, production: result.production };
    await mkdir(flags.out, { recursive: true });
    await writeFile(path.join(flags.out, 'head.json'), JSON.stringify(head, null, 2));
    await writeFile(path.join(flags.out, 'report.json'), JSON.stringify(report, null, 2));
    await writeFile(path.join(flags.out, 'report.md'), markdown(result, snapshot.contentHash));
    io.out(`${flags.out}: head of ${result.classes.length} classes (${result.classes.join(', ')}) on ${result.head.dims}-d embeddings, epoch ${result.head.bestEpoch} of ${result.head.epochs.length}, ${result.trainingSeconds.toFixed(1)} s; holdout accuracy ${pct(result.candidate.accuracy)} (production ${pct(result.production.accuracy)}), macro F1 ${num(result.candidate.macroF1)} (production ${num(result.production.macroF1)})`);
    return 0;
  } catch (error) {
    const e = error instanceof CentaurError ? error : new CentaurError('INTERNAL', (error as Error).message, { cause: error });
    io.err(`centaur train: ${e.message}`);
    return e.code === 'CONFIG_INVALID' || e.code === 'MODEL_LOAD_FAILED' ? 2 : 1;
  }
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)} %`;
}

function num(x: number | null): string {
  return x === null ? '–' : x.toFixed(3);
}

/** The report as markdown: per-class figures of both, and the candidate's confusion matrix. */
function markdown(r: TrainFromSetResult, contentHash: string): string {
  const row = (name: string, c: Evaluation, p: Evaluation): string => {
    const a = c.perClass[name];
    const b = p.perClass[name];
    return `| ${name} | ${a?.support ?? 0} | ${num(a?.precision ?? null)} / ${num(b?.precision ?? null)} | ${num(a?.recall ?? null)} / ${num(b?.recall ?? null)} | ${num(a?.f1 ?? null)} / ${num(b?.f1 ?? null)} |`;
  };
  return [
    '# Head training report',
    '',
    `Training set content hash \`${contentHash}\`; classes ${r.classes.join(', ')}${r.newClasses.length > 0 ? ` (new: ${r.newClasses.join(', ')})` : ''}.`,
    '',
    `| holdout | candidate | production |`,
    `|---|---|---|`,
    `| examples | ${r.candidate.examples} | ${r.production.examples} |`,
    `| accuracy | ${pct(r.candidate.accuracy)} | ${pct(r.production.accuracy)} |`,
    `| macro F1 | ${num(r.candidate.macroF1)} | ${num(r.production.macroF1)} |`,
    `| expected calibration error | ${num(r.candidate.ece)} | ${num(r.production.ece)} |`,
    '',
    '| class | holdout examples | precision (candidate / production) | recall | F1 |',
    '|---|---|---|---|---|',
    ...r.classes.map((c) => row(c, r.candidate, r.production)),
    '',
    'Confusion matrix of the candidate (rows: true class, columns: predicted):',
    '',
    `| | ${r.classes.join(' | ')} |`,
    `|---|${r.classes.map(() => '---').join('|')}|`,
    ...r.candidate.confusion.map((line, i) => `| ${r.classes[i]} | ${line.join(' | ')} |`),
    '',
  ].join('\n');
}
