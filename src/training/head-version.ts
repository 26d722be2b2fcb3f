/**
 * A new model version made from a parent and a trained head: the parent's ONNX graph or TF.js graph
 * model with its classifier replaced (src/formats/onnx-classifier.ts, tfjs-classifier.ts) and a manifest that keeps the parent's
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
import { findTfjsClassifier, replaceTfjsClassifier, tfjsWeightsDigest } from '../formats/tfjs-classifier.js';
import type { TfjsGraphModelJson } from '../formats/tfjs-classifier.js';
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
  if (manifest.format !== 'onnx' && manifest.format !== 'tfjs') throw new CentaurError('CONFIG_INVALID', `${manifest.name} version ${manifest.version} is a ${String(manifest.format)} model; a new head is written into an ONNX or TF.js graph parent`);
  const embedding = manifest.outputs.embedding;
  if (embedding === undefined) throw new CentaurError('CONFIG_INVALID', `${manifest.name} version ${manifest.version} has no embedding output to train a head on`);
  const outputs = { embedding, probabilities: manifest.outputs.probabilities };
  const written = manifest.format === 'onnx' ? await onnxHead(parent, outputs, o) : await tfjsHead(parent, outputs, o);
  const created: Manifest = {
    name: manifest.name,
    version: o.version,
    format: manifest.format,
    file: written.file,
    sha256: written.sha256,
    createdAt: new Date().toISOString(),
    fingerprint: parent.fingerprint,
    input: manifest.input,
    outputs: manifest.outputs,
    classes: [...o.classes],
    architecture: `${manifest.architecture ?? `${manifest.format === 'onnx' ? 'ONNX' : 'TF.js graph'} model`}; head retrained for ${o.classes.length} classes`,
    metrics: { ...o.metrics },
    training: {
      kind: 'head',
      parent: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 ?? written.parentSha256 },
      backboneSha256: written.backboneSha256,
      codeVersion: PACKAGE_VERSION,
      ...o.training,
    },
  };
  const staging = `${outDir.replace(/\/+$/, '')}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    for (const f of written.files) {
      await mkdir(path.dirname(path.join(staging, f.path)), { recursive: true });
      await writeFile(path.join(staging, f.path), f.bytes);
    }
    await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(created, null, 2)}\n`);
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return loadManifest(outDir);
}

/** The files of a new version's model, its checksum (of `file`), the parent's, and the backbone's weights digest. */
interface WrittenHead {
  readonly file: string;
  readonly files: readonly { readonly path: string; readonly bytes: Uint8Array }[];
  readonly sha256: string;
  readonly parentSha256: string;
  readonly backboneSha256: string;
}

type HeadOutputs = { readonly embedding: string; readonly probabilities: string };

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The parent's ONNX graph with the head replaced (src/formats/onnx-classifier.ts). */
async function onnxHead(parent: LoadedManifest, outputs: HeadOutputs, o: HeadVersionOptions): Promise<WrittenHead> {
  const bytes = await readFile(parent.modelPath);
  const head = findClassifier(bytes, outputs);
  if (head.classes !== parent.manifest.classes.length) throw new CentaurError('MODEL_LOAD_FAILED', `the ONNX head answers ${head.classes} classes and the manifest lists ${parent.manifest.classes.length}`);
  const next = replaceClassifier(bytes, outputs, { kernel: o.kernel, bias: o.bias, classes: o.classes.length });
  const file = path.basename(parent.manifest.file);
  return { file, files: [{ path: file, bytes: next }], sha256: sha256Of(next), parentSha256: sha256Of(bytes), backboneSha256: initializersDigest(bytes, [head.kernelName, head.biasName]) };
}

/** Shard size of the weights written, as the TF.js converter writes them. */
const SHARD_BYTES = 4 * 1024 * 1024;

/** The parent's TF.js graph model with the head replaced (src/formats/tfjs-classifier.ts), its weights in 4 MiB shards beside model.json. */
async function tfjsHead(parent: LoadedManifest, outputs: HeadOutputs, o: HeadVersionOptions): Promise<WrittenHead> {
  const text = await readFile(parent.modelPath);
  const modelDir = path.dirname(parent.modelPath);
  const problem = (message: string): CentaurError => new CentaurError('MODEL_LOAD_FAILED', `${parent.manifest.name} version ${parent.manifest.version}: ${message}`);
  let json: TfjsGraphModelJson;
  try {
    json = JSON.parse(text.toString('utf8')) as TfjsGraphModelJson;
  } catch (error) {
    throw problem(`model.json is not JSON: ${(error as Error).message}`);
  }
  if (json.format !== 'graph-model' || !Array.isArray(json.modelTopology?.node) || !Array.isArray(json.weightsManifest)) throw problem('not a TF.js graph model (a layers model\'s head is not edited here)');
  const groups = await Promise.all(
    json.weightsManifest.map(async (group) =>
      Buffer.concat(
        await Promise.all(
          group.paths.map((p) => {
            const shard = path.resolve(modelDir, p);
            if (path.relative(modelDir, shard).startsWith('..')) throw problem(`weight shard ${p} is outside the model's folder`);
            return readFile(shard);
          }),
        ),
      ),
    ),
  );
  const fileDir = path.dirname(parent.manifest.file);
  let edited: { json: TfjsGraphModelJson; weights: Uint8Array };
  let head: ReturnType<typeof findTfjsClassifier>;
  try {
    head = findTfjsClassifier(json, outputs);
    if (head.classes !== parent.manifest.classes.length) throw new Error(`the TF.js head answers ${head.classes} classes and the manifest lists ${parent.manifest.classes.length}`);
    edited = replaceTfjsClassifier(json, groups, outputs, { kernel: o.kernel, bias: o.bias, classes: o.classes.length }, (bytes) => {
      const count = Math.max(1, Math.ceil(bytes / SHARD_BYTES));
      return Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
    });
  } catch (error) {
    throw problem((error as Error).message);
  }
  const next = Buffer.from(`${JSON.stringify(edited.json)}\n`);
  const shards = edited.json.weightsManifest[0]!.paths.map((p, i) => ({ path: path.join(fileDir, p), bytes: edited.weights.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES) }));
  return {
    file: parent.manifest.file,
    files: [{ path: parent.manifest.file, bytes: next }, ...shards],
    sha256: sha256Of(next),
    parentSha256: sha256Of(text),
    backboneSha256: tfjsWeightsDigest(json, groups, [head.kernelName, head.biasName]),
  };
}
