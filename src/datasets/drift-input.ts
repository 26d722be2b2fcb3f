/**
 * Data sets read for drift: a folder of images (decoded recursively with a model's input settings
 * and run through it, by the same components a serving topology runs) or a JSONL file of feature
 * records (flat, or the prediction records the files and object sinks write), as rows of feature
 * values, embeddings and labels. `centaur drift profile`, `centaur drift compare` and the drift
 * detection benchmark read their inputs here.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { Type } from '@sinclair/typebox';
import { defineSink, defineSource } from '../core/component.js';
import { PauseGate } from '../core/pause-gate.js';
import { createLogger } from '../core/logger.js';
import { DriftInputError } from '../drift/errors.js';
import { profileFeatureSpecs } from '../drift-monitor/profile.js';
import type { ProfileRow } from '../drift-monitor/profile.js';
import { PROBABILITY_PREFIX, featureValue, featuresFromRecord, IMAGE_FEATURES } from '../drift-monitor/features.js';
import type { FeatureSpec } from '../drift-monitor/features.js';
import { loadManifest } from '../inference/manifest.js';
import { Runtime } from '../runtime/runtime.js';
import { parseTopology } from '../topology/load.js';
import { allComponents } from '../topology/registry.js';

/** Where readers report skipped lines and progress. */
export interface DriftInputIo {
  out(text: string): void;
  err(text: string): void;
}

/** How to read a data set for drift (shared by `drift profile` and `drift compare`). */
export interface DriftInputOptions {
  /** Model folder: image folders are decoded with its input settings and run through it. */
  readonly model?: string;
  /** JSONL: fail at the first bad line instead of skipping bad lines. */
  readonly strict?: boolean;
  /** Columns to read (default: every Centaur feature that has values); other names are fields of JSONL records. */
  readonly columns?: readonly string[];
  /** Columns (other than Centaur's features) to treat as categorical even when their values are numbers. */
  readonly categorical?: readonly string[];
  /** Fields of JSONL records to read as columns besides those `columns` selects (the other columns of a reference profile). */
  readonly extraColumns?: readonly string[];
  /** Images: every class folder labels its images, not only the model's classes (a folder `dogs/` or `dog/` labels `dog`). */
  readonly anyFolderLabel?: boolean;
}

/** A data set read for drift: one row per image or record, and the columns that have values. */
export interface DriftData {
  readonly source: string;
  readonly kind: 'images' | 'jsonl';
  readonly rows: readonly ProfileRow[];
  /** Columns with at least one value, in profile order (Centaur's features, then other columns). */
  readonly features: readonly FeatureSpec[];
  readonly classes: readonly string[];
  /** The model version the rows come from: the `--model` folder's, or the one every JSONL record names. */
  readonly model?: { readonly name: string; readonly version: string; readonly classes: readonly string[] };
  /** Images that could not be decoded, or JSONL lines skipped as bad. */
  readonly unreadable: number;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
/** Bad JSONL lines reported one by one before only the count is given. */
const BAD_LINES_SHOWN = 10;

/**
 * The true label of an image from its folder: the class whose name, or plural folder name
 * (`horses/` for `horse`, as `centaur generate-images` lays classes out), is the image's parent folder.
 */
function folderLabel(relative: string, classes: readonly string[]): string | undefined {
  const folder = path.basename(path.dirname(relative));
  return classes.find((c) => folder === c || folder === `${c}s`);
}

/** The label any class folder gives: its name without one trailing `s` (`dogs/` → `dog`, as `centaur generate-images` and `publish-images` read folders); none at the top level. */
function anyFolderLabel(relative: string): string | undefined {
  const folder = path.basename(path.dirname(relative));
  if (folder === '' || folder === '.') return undefined;
  return folder.length > 1 && folder.endsWith('s') ? folder.slice(0, -1) : folder;
}

/** A JSONL record's top-level true `label`, when it has one. */
function labelOf(record: unknown): string | undefined {
  const label = typeof record === 'object' && record !== null ? (record as { label?: unknown }).label : undefined;
  return typeof label === 'string' && label.length > 0 ? label : undefined;
}

/** The image files under `dir`, recursively, in name order (hidden ones included; extensions in any case). */
async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listImages(full)));
    else if (entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

/** Whether a name is one of Centaur's features (for any class names). */
export function isCentaurFeature(name: string): boolean {
  return name === 'class' || name === 'confidence' || name.startsWith(PROBABILITY_PREFIX) || IMAGE_FEATURES.some((f) => f.name === name);
}

function hasValue(rows: readonly ProfileRow[], name: string): boolean {
  return rows.some((r) => {
    const v = r.values[name];
    return v !== undefined && v !== null && !(typeof v === 'number' && !Number.isFinite(v));
  });
}

/** Splits a comma-separated option into names; why: --columns, --categorical. */
export function splitList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Reads a folder of images (recursively) into feature rows; why: the reference or current data of images. */
export async function readImageFolder(dir: string, options: DriftInputOptions, io: DriftInputIo): Promise<DriftData> {
  const unknown = (options.columns ?? []).filter((c) => !isCentaurFeature(c));
  if (unknown.length > 0) throw new DriftInputError(`${dir}: images have no column ${unknown.map((c) => `\`${c}\``).join(', ')} (only Centaur's features)`);
  const manifest = options.model === undefined ? undefined : (await loadManifest(options.model)).manifest;
  const classes = manifest?.classes ?? [];
  const specs = profileFeatureSpecs(classes);
  const rows: ProfileRow[] = [];
  let failed = 0;
  // The rows come from the same components a serving topology runs (files-source, decode-image,
  // micro-batch, infer), through the runtime, so a profile measures what serving will see.
  // The folder is read as before (any file name, any extension case); the rest of the graph is
  // the serving components. Paths stay out of the topology text, so no character in them is
  // read as YAML or as a `${NAME}`.
  const images = defineSource({
    kind: 'profile-images',
    role: 'source',
    stability: 'stable',
    description: 'Reads the image files of a drift profile folder.',
    options: Type.Object({}, { additionalProperties: false }),
    examples: [{ title: 'Private to `drift profile`', options: {} }],
    create: () => {
      const gate = new PauseGate();
      return {
        start: async (ctx) => {
          const files = await listImages(dir);
          for (const [offset, file] of files.entries()) {
            await gate.whilePaused();
            if (gate.stopped) return;
            const id = path.relative(dir, file);
            const position = { source: 'images', partition: '0', offset, uri: pathToFileURL(file).href };
            try {
              const bytes = await readFile(file);
              ctx.emit({ id, eventTime: 0, position, payload: { kind: 'bytes', bytes }, sizeBytes: bytes.length });
            } catch (error) {
              ctx.fail({ id, eventTime: 0, position, payload: { kind: 'reference', uri: position.uri }, sizeBytes: 0 }, error);
            }
          }
        },
        pause: () => gate.pause(),
        resume: () => gate.resume(),
        commit: async () => undefined,
        stop: async () => gate.stop(),
      };
    },
  });
  const collect = defineSink({
    kind: 'profile-rows',
    role: 'sink',
    stability: 'stable',
    description: 'Collects the feature rows of drift profile inputs.',
    options: Type.Object({}, { additionalProperties: false }),
    examples: [{ title: 'Private to `drift profile`', options: {} }],
    create: () => ({
      write: async (envelopes) => {
        for (const e of envelopes) {
          const label = folderLabel(e.id, classes) ?? (options.anyFolderLabel === true ? anyFolderLabel(e.id) : undefined);
          rows.push({
            id: e.id,
            values: Object.fromEntries(specs.map((s) => [s.name, featureValue(e, s, classes)])),
            ...(e.embedding === undefined ? {} : { embedding: e.embedding }),
            ...(label === undefined || e.prediction === undefined ? {} : { label, predicted: e.prediction.label }),
          });
        }
      },
      flush: async () => undefined,
      close: async () => undefined,
    }),
  });
  const unreadable = defineSink({
    kind: 'profile-unreadable',
    role: 'sink',
    stability: 'stable',
    description: 'Reports drift profile inputs that could not be read.',
    takesDeadLetters: true,
    options: Type.Object({}, { additionalProperties: false }),
    examples: [{ title: 'Private to `drift profile`', options: {} }],
    create: () => ({
      write: async () => undefined,
      writeDeadLetters: async (letters) => {
        for (const letter of letters) {
          failed += 1;
          io.err(`${letter.envelope.id}: ${letter.error.message}`);
        }
      },
      flush: async () => undefined,
      close: async () => undefined,
    }),
  });
  const input = manifest?.input;
  const decode = input === undefined ? {} : { size: [input.width, input.height], fit: input.fit, kernel: input.kernel, scale: input.scale, decoder: input.decoder ?? 'sharp' };
  // `$${` is a literal `${` in topology text: a model path is taken as written.
  const model = options.model === undefined ? undefined : path.resolve(options.model).replaceAll('${', '$${');
  const yaml = [
    'version: 1',
    'name: drift-profile',
    'deadLetter: unreadable',
    'nodes:',
    '  images: { kind: profile-images }',
    `  decode: ${JSON.stringify({ kind: 'decode-image', from: ['images'], ...decode })}`,
    ...(model === undefined || input === undefined
      ? ['  rows: { kind: profile-rows, from: [decode] }']
      : [
          `  batch: ${JSON.stringify({ kind: 'micro-batch', from: ['decode'], maxSize: 32, layout: input.layout })}`,
          // A TF.js model runs on TensorFlow.js; every other format on onnxruntime.
          `  infer: ${JSON.stringify({ kind: 'infer', from: ['batch'], model: { path: model }, includeEmbedding: true, backend: { kind: manifest?.format === 'tfjs' ? 'tfjs' : 'onnx' } })}`,
          '  rows: { kind: profile-rows, from: [infer] }',
        ]),
    '  unreadable: { kind: profile-unreadable }',
  ].join('\n');
  const topology = parseTopology(yaml, path.join(process.cwd(), 'drift-profile.yaml'), { env: {}, components: [...allComponents, images, collect, unreadable] });
  await new Runtime(topology, { logger: createLogger('silent') }).run();
  const wanted = options.columns;
  return {
    source: dir,
    kind: 'images',
    rows,
    features: specs.filter((s) => (wanted === undefined || wanted.includes(s.name)) && hasValue(rows, s.name)),
    classes,
    ...(manifest === undefined ? {} : { model: { name: manifest.name, version: manifest.version, classes } }),
    unreadable: failed,
  };
}

/** Top-level fields of Centaur's own records that are not columns to compare (ids, times, the true label). */
const RECORD_FIELDS = new Set(['id', 'key', 'eventTime', 'label', 'source', 'model', 'image', 'prediction', 'embedding', 'timingsMs', 'metadata', 'labelling']);

/**
 * Reads a JSONL file of feature records into rows. Without `columns`, every other top-level field
 * holding numbers or strings is a column too (numbers numerical, strings categorical), as Evidently
 * takes every column of a data frame. Blank lines are ignored; a bad line (not JSON, not an object,
 * a feature of the wrong type) is skipped and reported on stderr with its line number, or, with
 * `strict`, fails the read; why: profile or compare yesterday's output.
 */
export async function readJsonlFile(file: string, options: DriftInputOptions, io: DriftInputIo): Promise<DriftData> {
  const extra = [...new Set([...(options.columns ?? []), ...(options.extraColumns ?? [])])].filter((c) => !isCentaurFeature(c));
  const categorical = new Set(options.categorical ?? []);
  for (const c of categorical) if (isCentaurFeature(c)) throw new DriftInputError(`--categorical: \`${c}\` is a Centaur feature, whose kind is fixed`);
  const rows: ProfileRow[] = [];
  const classes: string[] = [];
  const models = new Map<string, { name: string; version: string }>();
  const discovered: string[] = [];
  let bad = 0;
  let line = 0;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      try {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          throw new DriftInputError(`not JSON (${(error as Error).message})`);
        }
        const record = featuresFromRecord(parsed, extra);
        if (options.columns === undefined) {
          for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
            if (RECORD_FIELDS.has(name) || isCentaurFeature(name) || name in record.values || (typeof value !== 'number' && typeof value !== 'string')) continue;
            record.values[name] = value;
            if (!discovered.includes(name)) discovered.push(name);
          }
        }
        for (const c of record.classes) if (!classes.includes(c)) classes.push(c);
        if (record.model !== undefined) models.set(`${record.model.name}\u0000${record.model.version}`, record.model);
        const label = labelOf(parsed);
        rows.push({
          values: record.values,
          ...(record.embedding === undefined ? {} : { embedding: record.embedding }),
          ...(label === undefined || typeof record.values.class !== 'string' ? {} : { label, predicted: record.values.class }),
        });
      } catch (error) {
        if (!(error instanceof DriftInputError)) throw error;
        if (options.strict === true) throw new DriftInputError(`${file}:${line}: ${error.message}`);
        bad += 1;
        if (bad <= BAD_LINES_SHOWN) io.err(`${file}:${line}: skipped: ${error.message}`);
      }
    }
  } finally {
    lines.close();
  }
  if (bad > 0) io.err(`${file}: skipped ${bad} bad line${bad === 1 ? '' : 's'} of ${line} (--strict to fail instead)`);
  const wanted = options.columns;
  const known = profileFeatureSpecs(classes).filter((s) => (wanted === undefined || wanted.includes(s.name)) && hasValue(rows, s.name));
  const others = [...extra, ...discovered.filter((c) => !extra.includes(c))].filter((c) => hasValue(rows, c)).map((name): FeatureSpec => ({
    name,
    kind: categorical.has(name) || rows.some((r) => typeof r.values[name] === 'string') ? 'categorical' : 'numerical',
    integer: false,
  }));
  const model = models.size === 1 ? [...models.values()][0]! : undefined;
  return { source: file, kind: 'jsonl', rows, features: [...known, ...others], classes, ...(model === undefined ? {} : { model: { ...model, classes } }), unreadable: bad };
}

/** Reads a folder of images or a JSONL file; why: one entry point for both drift commands. */
export async function readDriftInput(input: string, options: DriftInputOptions, io: DriftInputIo): Promise<DriftData> {
  const info = await stat(input).catch(() => undefined);
  if (info === undefined) throw new DriftInputError(`${input} does not exist`);
  if (info.isDirectory()) return readImageFolder(input, options, io);
  if (options.model !== undefined) throw new DriftInputError(`${input}: --model applies to folders of images (JSONL records hold the model outputs already)`);
  return readJsonlFile(input, options, io);
}

