/**
 * `centaur drift profile <images-dir> [--model <model-dir>] --out <file>`: decodes every image of a
 * folder (recursively) with the model's input settings, runs the model when one is given, and writes
 * the reference profile of the image features, model outputs and embeddings (src/drift/stream/profile.ts).
 * Put the file beside the model and name it in the manifest's `referenceProfile`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { asyncScheduler, bufferCount, from, lastValueFrom, map, mergeMap, tap } from 'rxjs';
import type { Observable } from 'rxjs';
import type { OperatorContext } from '../core/component.js';
import { envelopesOf } from '../core/envelope.js';
import type { Envelope, Item } from '../core/envelope.js';
import { NO_METRICS } from '../core/node-metrics.js';
import { DEFAULT_PROFILE_SAMPLE, buildReferenceProfile, profileFeatureSpecs, writeReferenceProfile } from '../drift/stream/profile.js';
import type { ProfileRow } from '../drift/stream/profile.js';
import { featureValue } from '../drift/stream/features.js';
import { loadManifest } from '../inference/manifest.js';
import { decodeImage, DecodeImageOptions } from '../operators/decode-image.js';
import { createInfer, InferOptions } from '../operators/infer.js';

/** The options as commander hands them over. */
export interface DriftProfileFlags {
  readonly out: string;
  readonly model?: string;
  readonly sample?: string;
  readonly seed?: string;
}

/** Where the command writes. */
export interface DriftProfileIo {
  out(text: string): void;
  err(text: string): void;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listImages(full)));
    else if (entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

/** Builds and writes the profile; resolves with the exit code (0, 1 when nothing could be read, 2 for bad options). */
export async function driftProfileCommand(imagesDir: string, flags: DriftProfileFlags, io: DriftProfileIo): Promise<number> {
  const sampleSize = flags.sample === undefined ? DEFAULT_PROFILE_SAMPLE : Number(flags.sample);
  const seed = flags.seed === undefined ? 1 : Number(flags.seed);
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1) {
    io.err(`centaur drift profile: --sample must be a positive integer, got ${JSON.stringify(flags.sample)}`);
    return 2;
  }
  if (!Number.isSafeInteger(seed)) {
    io.err(`centaur drift profile: --seed must be an integer, got ${JSON.stringify(flags.seed)}`);
    return 2;
  }
  if (!(await stat(imagesDir).catch(() => undefined))?.isDirectory()) {
    io.err(`centaur drift profile: ${imagesDir} is not a folder`);
    return 2;
  }
  const manifest = flags.model === undefined ? undefined : (await loadManifest(flags.model)).manifest;
  const decodeOptions = Value.Default(DecodeImageOptions, manifest === undefined ? {} : { size: [manifest.input.width, manifest.input.height], fit: manifest.input.fit, kernel: manifest.input.kernel, scale: manifest.input.scale }) as DecodeImageOptions;
  const decode = await decodeImage.create(decodeOptions, { nodeId: 'decode', topologyName: 'drift-profile', baseDir: '.', logger: undefined as never });
  const infer = flags.model === undefined
    ? undefined
    : await createInfer(Value.Default(InferOptions, { model: { path: path.resolve(flags.model) }, includeEmbedding: true }) as InferOptions, { baseDir: '.', metrics: NO_METRICS });
  const files = await listImages(imagesDir);
  let failed = 0;
  const ctx = (nodeId: string): OperatorContext => ({ nodeId, scheduler: asyncScheduler, fail: (e, error) => {
    failed += 1;
    io.err(`${e.id}: ${(error as Error).message}`);
  } });
  const classes = manifest?.classes ?? [];
  const specs = profileFeatureSpecs(classes);
  const rows: ProfileRow[] = [];
  const envelopes: Observable<Item> = from(files).pipe(
    mergeMap(async (file, i): Promise<Envelope> => {
      const bytes = await readFile(file);
      return { id: path.relative(imagesDir, file), eventTime: 0, position: { source: 'files', partition: '0', offset: i }, payload: { kind: 'bytes', bytes }, sizeBytes: bytes.length, metadata: {}, receivedAt: 0, timings: {}, delivery: { acknowledge: () => undefined, deadLettered: () => undefined } };
    }, 8),
  );
  let decoded = decode.apply(envelopes, ctx('decode'));
  if (infer !== undefined) {
    decoded = infer.apply(decoded.pipe(bufferCount(32), map((batch): Item => ({ kind: 'batch', envelopes: batch as Envelope[], tensor: null }))), ctx('infer'));
  }
  await lastValueFrom(
    decoded.pipe(
      tap((item) => {
        for (const e of envelopesOf(item)) {
          rows.push({ values: Object.fromEntries(specs.map((s) => [s.name, featureValue(e, s, classes)])), ...(e.embedding === undefined ? {} : { embedding: e.embedding }) });
          delete e.tensor;
        }
      }),
    ),
    { defaultValue: undefined },
  );
  await infer?.close?.();
  if (rows.length === 0) {
    io.err(`centaur drift profile: no image could be read under ${imagesDir}`);
    return 1;
  }
  const profile = buildReferenceProfile(rows, { ...(manifest === undefined ? {} : { model: { name: manifest.name, version: manifest.version, classes } }), sampleSize, seed });
  await writeReferenceProfile(flags.out, profile);
  io.out(`wrote ${flags.out}: ${rows.length} images (${failed} unreadable), ${Object.keys(profile.features).length} features${profile.embedding === null ? '' : `, embedding of ${profile.embedding.dimension}`}`);
  if (manifest !== undefined) io.out(`add "referenceProfile": "${path.relative(path.resolve(flags.model!), path.resolve(flags.out))}" to ${path.join(flags.model!, 'manifest.json')} when the file lives beside the model`);
  return 0;
}
