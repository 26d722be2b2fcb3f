/**
 * A training set from a folder of images by class (`horses/`, `humans/`, `dogs/` — a class per
 * folder, one trailing `s` dropped), embedded with the serving model's own decode and backbone:
 * the images go through the same components a serving topology runs (decode-image with the
 * model's input settings, micro-batch, infer), so the embeddings are those serving computes. Each
 * image becomes a training row labelled with its folder's class as ground truth, split by a hash
 * of its path like the lake's training set, with the parent's prediction kept for the
 * production-side evaluation.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { readImageFolder } from './drift-input.js';
import type { LoadedManifest } from '../inference/manifest.js';
import { labelText } from '../labelling/label-event.js';
import { splitOf } from '../training-set/training-row.js';
import type { SplitShares, TrainingRow } from '../training-set/training-row.js';
import type { TrainingSetSnapshot } from '../training-set/training-set-table.js';

/** The shares of the validation and holdout splits of an image folder (the training-set sink's defaults). */
export const FOLDER_SPLIT: SplitShares = { validation: 0.1, holdout: 0.1 };

/** Whether `dir` is a local folder of images by class rather than a training-set table (it has no `_table.json`). */
export async function isImageFolderSet(dir: string): Promise<boolean> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) return false;
  return stat(path.join(dir, '_table.json')).then(() => false, () => true);
}

/** Embeds the images under `dir` with `parent` and returns them as training rows; the content hash covers each image's path, class and bytes. */
export async function readImageFolderSet(dir: string, parent: LoadedManifest, onProblem: (text: string) => void): Promise<TrainingSetSnapshot> {
  const data = await readImageFolder(dir, { model: parent.dir, anyFolderLabel: true }, { out: () => undefined, err: onProblem });
  const rows: TrainingRow[] = [];
  const hash = createHash('sha256');
  for (const row of [...data.rows].sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : 1))) {
    if (row.id === undefined || row.label === undefined || row.embedding === undefined || row.predicted === undefined) continue;
    const label = labelText(row.label, `the class folder of ${row.id}`);
    const id = row.id.split(path.sep).join('/');
    hash.update(`${id}\0${label}\0${createHash('sha256').update(await readFile(path.join(dir, row.id))).digest('hex')}\n`);
    const confidence = row.values.confidence;
    rows.push({
      inputId: id,
      split: splitOf(id, FOLDER_SPLIT),
      annotations: [{ annotator: 'folder', label, origin: 'ground-truth', labelTime: 0 }],
      features: {
        entity: id,
        eventTime: 0,
        modelVersion: parent.manifest.version,
        modelFingerprint: parent.fingerprint,
        embedding: Float32Array.from(row.embedding),
        predictedLabel: row.predicted,
        confidence: typeof confidence === 'number' ? confidence : 0,
      },
      updatedTime: 0,
    });
  }
  if (rows.length === 0) throw new CentaurError('CONFIG_INVALID', `${dir}: no labelled images (a class per folder: horses/, humans/, dogs/ …)`);
  return { rows, contentHash: hash.digest('hex'), files: rows.length };
}
