/**
 * The features drift is measured on, read from an envelope: image statistics from `decode-image`
 * (brightness, contrast, sharpness, saturation, width, height, format) and model outputs from
 * `infer` (top class, confidence, each class's probability as `probability.<class>`). The embedding
 * is read separately (a vector, not a column). The same features are read from JSON records (the
 * lines of a JSONL file given to `centaur drift profile` / `compare`), flat or as the prediction
 * records the files and object sinks write.
 */
import type { Envelope } from '../core/envelope.js';
import { DriftInputError } from '../drift/errors.js';
import type { CategoryValue, ColumnKind, NumericValue } from '../drift/types.js';

/** One feature: its name, its kind, and whether its values are integers (numpy's integer dtype). */
export interface FeatureSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly integer: boolean;
}

/** The image features every profile holds, in report order. */
export const IMAGE_FEATURES: readonly FeatureSpec[] = [
  { name: 'brightness', kind: 'numerical', integer: false },
  { name: 'contrast', kind: 'numerical', integer: false },
  { name: 'sharpness', kind: 'numerical', integer: false },
  { name: 'saturation', kind: 'numerical', integer: false },
  { name: 'width', kind: 'numerical', integer: true },
  { name: 'height', kind: 'numerical', integer: true },
  { name: 'format', kind: 'categorical', integer: false },
];

/** The prefix of per-class probability features. */
export const PROBABILITY_PREFIX = 'probability.';

/** The model-output features for these class names; why: a profile names its classes once. */
export function outputFeatures(classes: readonly string[]): FeatureSpec[] {
  return [
    { name: 'class', kind: 'categorical', integer: false },
    { name: 'confidence', kind: 'numerical', integer: false },
    ...classes.map((c): FeatureSpec => ({ name: `${PROBABILITY_PREFIX}${c}`, kind: 'numerical', integer: false })),
  ];
}

/** Whether a feature is a model output (class, confidence, a probability) rather than an image statistic; why: the `outputs` drift signal. */
export function isOutputFeature(name: string): boolean {
  return name === 'class' || name === 'confidence' || name.startsWith(PROBABILITY_PREFIX);
}

/** A feature's value in an envelope (undefined when the stage that makes it did not run); why: one reader for profiles and windows. */
export function featureValue(envelope: Envelope, feature: FeatureSpec, classes: readonly string[]): NumericValue | CategoryValue {
  const image = envelope.image;
  const prediction = envelope.prediction;
  switch (feature.name) {
    case 'brightness':
      return image?.brightness;
    case 'contrast':
      return image?.contrast;
    case 'sharpness':
      return image?.sharpness;
    case 'saturation':
      return image?.saturation;
    case 'width':
      return image?.width;
    case 'height':
      return image?.height;
    case 'format':
      return image?.format;
    case 'class':
      return prediction?.label;
    case 'confidence':
      return prediction?.confidence;
    default: {
      if (prediction === undefined || !feature.name.startsWith(PROBABILITY_PREFIX)) return undefined;
      const index = classes.indexOf(feature.name.slice(PROBABILITY_PREFIX.length));
      return index < 0 ? undefined : prediction.probabilities[index];
    }
  }
}

/** The envelope's embedding, or undefined; why: embedding drift reads vectors, not columns. */
export function embeddingOf(envelope: Envelope): Float32Array | undefined {
  return envelope.embedding;
}

/** Feature values read from one JSON record. */
export interface RecordFeatures {
  /** Values by feature name (or column name, for the extra columns asked for); undefined when absent. */
  readonly values: Record<string, NumericValue | CategoryValue>;
  /** Class names of the `probability.<class>` values found, in record order. */
  readonly classes: readonly string[];
  readonly embedding?: readonly number[];
  /** The record's `model` ({ name, version }), when it has one. */
  readonly model?: { readonly name: string; readonly version: string };
}

/** The numerical image features read from a record's top level or its `image` object. */
const RECORD_IMAGE_NUMBERS = ['brightness', 'contrast', 'sharpness', 'saturation', 'width', 'height'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOrMissing(value: unknown, field: string): NumericValue {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new DriftInputError(`\`${field}\` must be a number or null, got ${JSON.stringify(value)}`);
  return value;
}

function categoryOrMissing(value: unknown, field: string): CategoryValue {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new DriftInputError(`\`${field}\` must be a string, a number or null, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Reads the features of one JSON record: each feature by its own name at the top level
 * (`brightness`, …, `format`, `class`, `confidence`, `probability.<class>`, `embedding`), else where
 * a prediction record holds it (`image.<feature>`, `prediction.label`, `prediction.confidence`,
 * `prediction.probabilities.<class>`); `extraColumns` are read as top-level fields. Throws a
 * DriftInputError naming the field whose value has the wrong type; why: profile yesterday's output.
 */
export function featuresFromRecord(record: unknown, extraColumns: readonly string[] = []): RecordFeatures {
  if (!isObject(record)) throw new DriftInputError('not a JSON object');
  const image = record.image;
  const prediction = record.prediction;
  if (image !== undefined && image !== null && !isObject(image)) throw new DriftInputError('`image` must be an object');
  if (prediction !== undefined && prediction !== null && !isObject(prediction)) throw new DriftInputError('`prediction` must be an object');
  const values: Record<string, NumericValue | CategoryValue> = {};
  const pick = (flat: string, nested: Record<string, unknown> | null | undefined, key: string, parent: string): [unknown, string] =>
    record[flat] !== undefined || !isObject(nested) ? [record[flat], flat] : [nested[key], `${parent}.${key}`];
  for (const name of RECORD_IMAGE_NUMBERS) values[name] = numberOrMissing(...pick(name, image, name, 'image'));
  values.format = categoryOrMissing(...pick('format', image, 'format', 'image'));
  values.class = categoryOrMissing(...pick('class', prediction, 'label', 'prediction'));
  values.confidence = numberOrMissing(...pick('confidence', prediction, 'confidence', 'prediction'));
  const classes: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (!key.startsWith(PROBABILITY_PREFIX)) continue;
    values[key] = numberOrMissing(value, key);
    classes.push(key.slice(PROBABILITY_PREFIX.length));
  }
  const probabilities = isObject(prediction) ? prediction.probabilities : undefined;
  if (probabilities !== undefined && probabilities !== null) {
    if (!isObject(probabilities)) throw new DriftInputError('`prediction.probabilities` must be an object of class → probability');
    for (const [c, value] of Object.entries(probabilities)) {
      const name = `${PROBABILITY_PREFIX}${c}`;
      if (values[name] !== undefined) continue;
      values[name] = numberOrMissing(value, `prediction.probabilities.${c}`);
      if (!classes.includes(c)) classes.push(c);
    }
  }
  for (const column of extraColumns) {
    if (column in values) continue;
    values[column] = categoryOrMissing(record[column], column);
  }
  let embedding: number[] | undefined;
  if (record.embedding !== undefined && record.embedding !== null) {
    if (!Array.isArray(record.embedding) || !record.embedding.every((v) => typeof v === 'number')) throw new DriftInputError('`embedding` must be an array of numbers');
    embedding = record.embedding;
  }
  let model: RecordFeatures['model'];
  if (isObject(record.model) && typeof record.model.name === 'string' && typeof record.model.version === 'string') {
    model = { name: record.model.name, version: record.model.version };
  }
  return { values, classes, ...(embedding === undefined || embedding.length === 0 ? {} : { embedding }), ...(model === undefined ? {} : { model }) };
}
