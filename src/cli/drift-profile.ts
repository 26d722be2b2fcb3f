/**
 * `centaur drift profile <input> [--model <model-dir>] --out <file>`: reads a data set — a folder of
 * images (decoded recursively with the model's input settings, run through the model when one is
 * given) or a JSONL file of feature records (flat, or the prediction records the files and object
 * sinks write) — and writes the reference profile of its image features, model outputs and
 * embeddings (src/drift-monitor/profile.ts). Put the file beside the model and name it in the
 * manifest's `referenceProfile`. The readers are shared with `centaur drift compare`.
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
import { buildCalibratedProfile, DEFAULT_BOOTSTRAP_WINDOWS, DEFAULT_CALIBRATION_SIZES, DEFAULT_FALSE_ALARM_RATE, HELD_OUT_FACTOR } from '../drift-monitor/calibration.js';
import type { CalibrationOptions } from '../drift-monitor/calibration.js';
import { DEFAULT_PROFILE_SAMPLE, buildReferenceProfile, profileFeatureSpecs, writeReferenceProfile } from '../drift-monitor/profile.js';
import type { ProfileRow, ReferenceProfile } from '../drift-monitor/profile.js';
import { PROBABILITY_PREFIX, featureValue, featuresFromRecord, IMAGE_FEATURES } from '../drift-monitor/features.js';
import type { FeatureSpec } from '../drift-monitor/features.js';
import { loadManifest } from '../inference/manifest.js';
import { Runtime } from '../runtime/runtime.js';
import { parseTopology } from '../topology/load.js';
import { allComponents } from '../topology/registry.js';

/** The options as commander hands them over. */
export interface DriftProfileFlags {
  readonly out: string;
  readonly model?: string;
  readonly sample?: string;
  readonly seed?: string;
  readonly strict?: boolean;
  readonly columns?: string;
  readonly categorical?: string;
  /** Commander's `--no-calibrate` sets this false. */
  readonly calibrate?: boolean;
  readonly calibrateSizes?: string;
  readonly falseAlarmRate?: string;
  readonly calibrationWindows?: string;
}

/** Where the command writes. */
export interface DriftProfileIo {
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
export async function readImageFolder(dir: string, options: DriftInputOptions, io: DriftProfileIo): Promise<DriftData> {
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
          const label = folderLabel(e.id, classes);
          rows.push({
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
          `  infer: ${JSON.stringify({ kind: 'infer', from: ['batch'], model: { path: model }, includeEmbedding: true })}`,
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

/**
 * Reads a JSONL file of feature records into rows. Blank lines are ignored; a bad line (not JSON,
 * not an object, a feature of the wrong type) is skipped and reported on stderr with its line
 * number, or, with `strict`, fails the read; why: profile or compare yesterday's output.
 */
export async function readJsonlFile(file: string, options: DriftInputOptions, io: DriftProfileIo): Promise<DriftData> {
  const extra = [...new Set([...(options.columns ?? []), ...(options.extraColumns ?? [])])].filter((c) => !isCentaurFeature(c));
  const categorical = new Set(options.categorical ?? []);
  for (const c of categorical) if (isCentaurFeature(c)) throw new DriftInputError(`--categorical: \`${c}\` is a Centaur feature, whose kind is fixed`);
  const rows: ProfileRow[] = [];
  const classes: string[] = [];
  const models = new Map<string, { name: string; version: string }>();
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
  const others = extra.filter((c) => hasValue(rows, c)).map((name): FeatureSpec => ({
    name,
    kind: categorical.has(name) || rows.some((r) => typeof r.values[name] === 'string') ? 'categorical' : 'numerical',
    integer: false,
  }));
  const model = models.size === 1 ? [...models.values()][0]! : undefined;
  return { source: file, kind: 'jsonl', rows, features: [...known, ...others], classes, ...(model === undefined ? {} : { model: { ...model, classes } }), unreadable: bad };
}

/** Reads a folder of images or a JSONL file; why: one entry point for both drift commands. */
export async function readDriftInput(input: string, options: DriftInputOptions, io: DriftProfileIo): Promise<DriftData> {
  const info = await stat(input).catch(() => undefined);
  if (info === undefined) throw new DriftInputError(`${input} does not exist`);
  if (info.isDirectory()) return readImageFolder(input, options, io);
  if (options.model !== undefined) throw new DriftInputError(`${input}: --model applies to folders of images (JSONL records hold the model outputs already)`);
  return readJsonlFile(input, options, io);
}

/** Builds and writes the profile; resolves with the exit code (0, 1 when nothing could be read, 2 for bad options or input). */
export async function driftProfileCommand(input: string, flags: DriftProfileFlags, io: DriftProfileIo): Promise<number> {
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
  let data: DriftData;
  try {
    data = await readDriftInput(input, { ...(flags.model === undefined ? {} : { model: flags.model }), strict: flags.strict === true, ...optionalList('columns', flags.columns), ...optionalList('categorical', flags.categorical) }, io);
  } catch (error) {
    if (!(error instanceof DriftInputError)) throw error;
    io.err(`centaur drift profile: ${error.message}`);
    return 2;
  }
  const what = data.kind === 'images' ? 'images' : 'records';
  if (data.rows.length === 0) {
    io.err(`centaur drift profile: no ${data.kind === 'images' ? 'image could be read' : 'record could be read'} in ${input}`);
    return 1;
  }
  const missing = (splitList(flags.columns) ?? []).filter((c) => !data.features.some((f) => f.name === c));
  if (missing.length > 0) {
    io.err(`centaur drift profile: ${input} has no values for ${missing.map((c) => `\`${c}\``).join(', ')}`);
    return 2;
  }
  const calibration = calibrationFlags(flags);
  if (typeof calibration === 'string') {
    io.err(`centaur drift profile: ${calibration}`);
    return 2;
  }
  const known = new Set(profileFeatureSpecs(data.classes).map((s) => s.name));
  // Only the columns read (--columns leaves some of Centaur's features out).
  const wanted = new Set(data.features.map((f) => f.name));
  const rows = data.rows.map((r) => ({ ...r, values: Object.fromEntries(Object.entries(r.values).filter(([name]) => wanted.has(name))) }));
  const build = {
    ...(data.model === undefined ? { classes: data.classes } : { model: data.model }),
    extraFeatures: data.features.filter((f) => !known.has(f.name)),
    sampleSize,
    seed,
  };
  let written: ReferenceProfile;
  let skippedSizes: readonly number[] = [];
  try {
    if (calibration === null) {
      written = buildReferenceProfile(rows, build);
    } else {
      const started = Date.now();
      ({ profile: written, skippedSizes } = buildCalibratedProfile(rows, build, { ...calibration, seed }));
      if (written.calibration !== undefined) io.err(`calibrated ${written.calibration.modes.streaming.sizes.map((x) => x.size).join(', ')}-input windows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } catch (error) {
    if (!(error instanceof DriftInputError)) throw error;
    io.err(`centaur drift profile: ${error.message}`);
    return 2;
  }
  if (Object.keys(written.features).length === 0) {
    io.err(`centaur drift profile: ${input} has no feature with values`);
    return 1;
  }
  await writeReferenceProfile(flags.out, written);
  const calibrated = written.calibration === undefined
    ? calibration === null ? ', not calibrated (--no-calibrate)' : ', not calibrated (too few rows)'
    : `, calibrated at a false-alarm rate of ${written.calibration.falseAlarmRate} on ${written.calibration.heldOut} held-out ${what} for windows of ${written.calibration.modes.streaming.sizes.map((x) => x.size).join(', ')}`;
  io.out(`wrote ${flags.out}: ${data.rows.length} ${what} (${data.unreadable} ${data.kind === 'images' ? 'unreadable' : 'bad lines skipped'}), ${Object.keys(written.features).length} features${written.embedding === null ? '' : `, embedding of ${written.embedding.dimension}`}${calibrated}`);
  if (skippedSizes.length > 0) io.err(`windows of ${skippedSizes.join(', ')} not calibrated: they need ${HELD_OUT_FACTOR * 2} × their size in rows (half held out); windows of other sizes take thresholds interpolated from the calibrated ones`);
  if (flags.model !== undefined) io.out(`add "referenceProfile": "${path.relative(path.resolve(flags.model), path.resolve(flags.out))}" to ${path.join(flags.model, 'manifest.json')} when the file lives beside the model`);
  return 0;
}

function optionalList<K extends string>(key: K, text: string | undefined): Partial<Record<K, string[]>> {
  const list = splitList(text);
  return list === undefined ? {} : ({ [key]: list } as Partial<Record<K, string[]>>);
}

/** The calibration asked for by the flags, null for --no-calibrate, or a problem; why: bad numbers fail before the work. */
function calibrationFlags(flags: DriftProfileFlags): CalibrationOptions | null | string {
  if (flags.calibrate === false) return null;
  const sizes = splitList(flags.calibrateSizes)?.map(Number) ?? [...DEFAULT_CALIBRATION_SIZES];
  if (sizes.length === 0 || !sizes.every((n) => Number.isSafeInteger(n) && n >= 2)) return `--calibrate-sizes must list whole numbers of at least 2, got ${JSON.stringify(flags.calibrateSizes)}`;
  const rate = flags.falseAlarmRate === undefined ? DEFAULT_FALSE_ALARM_RATE : Number(flags.falseAlarmRate);
  if (!(rate > 0 && rate < 0.5)) return `--false-alarm-rate must be in (0, 0.5), got ${JSON.stringify(flags.falseAlarmRate)}`;
  const windows = flags.calibrationWindows === undefined ? DEFAULT_BOOTSTRAP_WINDOWS : Number(flags.calibrationWindows);
  if (!Number.isSafeInteger(windows) || windows < Math.ceil(2 / rate)) return `--calibration-windows must be a whole number of at least ${Math.ceil(2 / rate)} (2 / the false-alarm rate), got ${JSON.stringify(flags.calibrationWindows)}`;
  return { sizes, falseAlarmRate: rate, windows };
}
