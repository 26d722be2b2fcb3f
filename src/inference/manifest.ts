/**
 * The model manifest: `<modelDir>/manifest.json` says which file holds the model, what input it
 * wants (size, layout, element type, pixel scale, and the resize fit and kernel used in training),
 * which outputs carry probabilities and the embedding, and the class names. `loadManifest`
 * validates it and the model file it names (existence, sha256) before any backend is created.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { DECODERS, FITS, KERNELS, PIXEL_SCALES, oneOf } from '../core/image-spec.js';
import type { Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { CentaurError } from '../core/errors.js';

/** The model's input spec. */
export const ManifestInput = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Name of the model input tensor.' }),
    width: Type.Integer({ minimum: 1, description: 'Input width in pixels.' }),
    height: Type.Integer({ minimum: 1, description: 'Input height in pixels.' }),
    channels: Type.Integer({ minimum: 1, description: 'Channels per pixel (3 for RGB).' }),
    layout: Type.Union([Type.Literal('NHWC'), Type.Literal('NCHW')], { description: 'Memory order of the input.' }),
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8')], { description: 'Element type of the input.' }),
    scale: oneOf(PIXEL_SCALES, { description: 'Pixel scaling used in training: `unit` = /255, `symmetric` = [-1, 1], `uint8` = raw.' }),
    fit: oneOf(FITS, { description: 'How training images were fitted to the input size.' }),
    kernel: oneOf(KERNELS, { description: 'Interpolation kernel used to resize training images.' }),
    decoder: Type.Optional(
      oneOf(DECODERS, {
        description:
          "How training images were decoded and resized: `sharp` (the default when absent) or `jpeg-turbo` (Pillow's `draft` + BILINEAR, as `decode-image` with `decoder: jpeg-turbo` does).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ManifestInput = Static<typeof ManifestInput>;

/** `<modelDir>/manifest.json`. */
export const Manifest = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Model name.' }),
    version: Type.String({ minLength: 1, description: 'Model version.' }),
    format: Type.Union([Type.Literal('onnx'), Type.Literal('tfjs')], { description: 'Serialization format of `file`.' }),
    file: Type.String({ minLength: 1, description: 'Model file, relative to the manifest folder.' }),
    sha256: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'Hex sha256 of `file`; checked at load when given.' }),
    ),
    createdAt: Type.Optional(Type.String({ description: 'ISO 8601 time the model was exported.' })),
    fingerprint: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description:
          'Fingerprint of what makes the embeddings: preprocessing and backbone weights. Default: SHA-256 of the input spec and the model file. A version that only replaces the classification head keeps its parent\'s, so embeddings stored under either train both.',
      }),
    ),
    input: ManifestInput,
    outputs: Type.Object(
      {
        probabilities: Type.String({ minLength: 1, description: 'Output holding class probabilities [n, classes].' }),
        embedding: Type.Optional(Type.String({ minLength: 1, description: 'Output holding the embedding [n, d].' })),
      },
      { additionalProperties: false },
    ),
    classes: Type.Array(Type.String(), { minItems: 1, description: 'Class names, in output order.' }),
    architecture: Type.Optional(Type.String({ description: 'Free-text description of the network.' })),
    metrics: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Evaluation metrics (free-form).' })),
    training: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Training details (free-form).' })),
    referenceProfile: Type.Optional(Type.String({ minLength: 1, description: 'Drift reference profile of this version (`centaur drift profile`), relative to the manifest folder.' })),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof Manifest>;

/** A validated manifest with its resolved paths. */
export interface LoadedManifest {
  readonly manifest: Manifest;
  /** Absolute model folder. */
  readonly dir: string;
  /** Absolute path of the model file. */
  readonly modelPath: string;
  /** The manifest's `fingerprint`, or the one computed from its input spec and model file. */
  readonly fingerprint: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateManifest = ajv.compile<Manifest>(Manifest);

/** Reads and checks `<dir>/manifest.json` and its model file; throws MODEL_LOAD_FAILED naming the problem. */
export async function loadManifest(dir: string, options: { readonly verifyHash?: boolean } = {}): Promise<LoadedManifest> {
  const absDir = path.resolve(dir);
  const manifestPath = path.join(absDir, 'manifest.json');
  const fail = (problem: string, cause?: unknown): CentaurError =>
    new CentaurError('MODEL_LOAD_FAILED', `${manifestPath}: ${problem}`, cause === undefined ? undefined : { cause });

  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw fail(`cannot read the manifest (${errorMessage(error)})`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw fail(`not valid JSON (${errorMessage(error)})`, error);
  }
  if (!validateManifest(parsed)) {
    const problems = (validateManifest.errors ?? []).map((e) => {
      const where = e.instancePath === '' ? '(root)' : e.instancePath;
      const extra =
        e.keyword === 'additionalProperties'
          ? ` \`${String((e.params as { additionalProperty?: unknown }).additionalProperty)}\``
          : e.keyword === 'enum' || e.keyword === 'const'
            ? ` (${JSON.stringify(e.params)})`
            : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    });
    throw fail(`invalid manifest: ${[...new Set(problems)].join('; ')}`);
  }
  const manifest = parsed;
  const modelPath = path.resolve(absDir, manifest.file);
  try {
    const info = await stat(modelPath);
    if (!info.isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw fail(`model file ${modelPath} is missing or unreadable (${errorMessage(error)})`, error);
  }
  if (manifest.sha256 !== undefined && options.verifyHash !== false) {
    const actual = await sha256File(modelPath);
    if (actual !== manifest.sha256.toLowerCase()) {
      throw fail(`model file ${modelPath} has sha256 ${actual}, the manifest says ${manifest.sha256}`);
    }
  }
  const fingerprint = manifest.fingerprint ?? modelFingerprint(manifest.input, manifest.sha256?.toLowerCase() ?? (await sha256File(modelPath)));
  return { manifest, dir: absDir, modelPath, fingerprint };
}

/**
 * The default fingerprint of a model: SHA-256 over its preprocessing (decoder, size, channels,
 * layout, element type, scale, fit, kernel) and its weights' SHA-256; why: embeddings, profiles and
 * training rows made under another fingerprint are not comparable with this model's.
 */
export function modelFingerprint(input: ManifestInput, weightsSha256: string): string {
  const preprocessing = { decoder: input.decoder ?? 'sharp', width: input.width, height: input.height, channels: input.channels, layout: input.layout, dtype: input.dtype, scale: input.scale, fit: input.fit, kernel: input.kernel };
  return createHash('sha256').update(JSON.stringify({ preprocessing, weights: weightsSha256 })).digest('hex');
}

/** Hex sha256 of a file, streamed so large models are not read into memory at once. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
