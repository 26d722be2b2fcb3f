/**
 * A new model version made from a parent and a trained head: the parent's ONNX graph with its
 * classifier replaced (src/formats/onnx-classifier.ts) and a manifest that keeps the parent's
 * input, outputs and fingerprint (the embeddings are the same, so training rows of either version
 * train both), lists the new classes, and records the lineage — parent, the backbone's weights
 * digest, the training set, parameters, code version — and the holdout metrics.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import { PACKAGE_VERSION } from '../core/package-info.js';
import { findClassifier, initializersDigest, replaceClassifier } from '../formats/onnx-classifier.js';
import { loadManifest } from '../inference/manifest.js';
import type { LoadedManifest, Manifest } from '../inference/manifest.js';

/** What the new version records besides its weights. */
export interface HeadVersionOptions {
  readonly version: string;
  /** Class names in the head's output order (the parent's first). */
  readonly classes: readonly string[];
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  /** Holdout figures, copied into the manifest's `metrics`. */
  readonly metrics: Readonly<Record<string, unknown>>;
  /** Training details (training set, parameters, epochs, run ids), under the manifest's `training`. */
  readonly training: Readonly<Record<string, unknown>>;
}

/** Writes the new version into `outDir` (replaced whole when it exists) and returns it loaded. */
export async function writeHeadVersion(parent: LoadedManifest, outDir: string, o: HeadVersionOptions): Promise<LoadedManifest> {
  const { manifest } = parent;
  if (manifest.format !== 'onnx') throw new CentaurError('CONFIG_INVALID', `${manifest.name} version ${manifest.version} is a ${manifest.format} model; a new head is written into an ONNX parent (train from the model's ONNX version)`);
  const embedding = manifest.outputs.embedding;
  if (embedding === undefined) throw new CentaurError('CONFIG_INVALID', `${manifest.name} version ${manifest.version} has no embedding output to train a head on`);
  const outputs = { embedding, probabilities: manifest.outputs.probabilities };
  const bytes = await readFile(parent.modelPath);
  const head = findClassifier(bytes, outputs);
  if (head.classes !== manifest.classes.length) throw new CentaurError('MODEL_LOAD_FAILED', `the ONNX head answers ${head.classes} classes and the manifest lists ${manifest.classes.length}`);
  const next = replaceClassifier(bytes, outputs, { kernel: o.kernel, bias: o.bias, classes: o.classes.length });
  const file = path.basename(manifest.file);
  const sha256 = createHash('sha256').update(next).digest('hex');
  const created: Manifest = {
    name: manifest.name,
    version: o.version,
    format: 'onnx',
    file,
    sha256,
    createdAt: new Date().toISOString(),
    fingerprint: parent.fingerprint,
    input: manifest.input,
    outputs: manifest.outputs,
    classes: [...o.classes],
    architecture: `${manifest.architecture ?? 'ONNX model'}; head retrained for ${o.classes.length} classes`,
    metrics: { ...o.metrics },
    training: {
      kind: 'head',
      parent: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 ?? createHash('sha256').update(bytes).digest('hex') },
      backboneSha256: initializersDigest(bytes, [head.kernelName, head.biasName]),
      codeVersion: PACKAGE_VERSION,
      ...o.training,
    },
  };
  const staging = `${outDir.replace(/\/+$/, '')}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(path.join(staging, file), next);
    await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(created, null, 2)}\n`);
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return loadManifest(outDir);
}
