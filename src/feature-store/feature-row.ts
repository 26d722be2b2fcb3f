/**
 * What `feature-store-sink` stores for one input: its entity value (the image id), event time,
 * model, embedding, prediction and ground truth, taken from a predicted envelope. An envelope
 * without a prediction, a model or an embedding (or without a key where the key names the
 * entity) cannot make a row; that is a data error, so the input goes to the dead letter.
 */
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { decodeFeastValue, decodeTimestamp, feastFeatureField, feastTimestampField } from './feast-redis-layout.js';
import type { FeastValue } from './feast-redis-layout.js';

/** Where an entity's value comes from: the input's id (e.g. the file's relative path) or its key (e.g. the Kafka key). */
export type KeyFrom = 'id' | 'key';

/** One input's features. */
export interface FeatureRow {
  readonly entity: string;
  /** Milliseconds since the epoch. */
  readonly eventTime: number;
  readonly modelName: string;
  readonly modelVersion: string;
  /** The model's fingerprint, when the envelope's model names one. */
  readonly modelFingerprint?: string;
  readonly embedding: Float32Array;
  readonly predictedLabel: string;
  readonly confidence: number;
  /** Every class's probability, by class index. */
  readonly probabilities: readonly number[];
  /** Ground truth, when the source knows it. */
  readonly trueLabel?: string;
}

/** The row of a predicted envelope, or a `FEATURE_ROW_INVALID` error saying what it lacks. */
export function toFeatureRow(envelope: Envelope, keyFrom: KeyFrom): FeatureRow | CentaurError {
  const entity = keyFrom === 'id' ? envelope.id : envelope.key;
  const lacks = [
    ...(entity === undefined || entity === '' ? [keyFrom === 'id' ? 'an id' : 'a key (`keyFrom: key`)'] : []),
    ...(envelope.prediction === undefined ? ['a prediction'] : []),
    ...(envelope.model === undefined ? ['a model'] : []),
    ...(envelope.embedding === undefined ? ['an embedding (set `includeEmbedding: true` on `infer`)'] : []),
  ];
  if (lacks.length > 0 || entity === undefined || envelope.prediction === undefined || envelope.model === undefined || envelope.embedding === undefined) {
    return new CentaurError('FEATURE_ROW_INVALID', `Input \`${envelope.id}\` has no ${lacks.join(', no ')}; it cannot be written to the feature store.`);
  }
  return {
    entity,
    eventTime: envelope.eventTime,
    modelName: envelope.model.name,
    modelVersion: envelope.model.version,
    ...(envelope.model.fingerprint === undefined ? {} : { modelFingerprint: envelope.model.fingerprint }),
    embedding: envelope.embedding,
    predictedLabel: envelope.prediction.label,
    confidence: envelope.prediction.confidence,
    probabilities: envelope.prediction.probabilities,
    ...(envelope.label === undefined ? {} : { trueLabel: envelope.label }),
  };
}

/** The features of the online row, by Feast feature name (the Feast definitions are in docs/FEATURE_STORE.md). */
export function onlineFeatures(row: FeatureRow): Record<string, FeastValue> {
  return {
    embedding: { type: 'float32-list', value: row.embedding },
    predicted_label: { type: 'string', value: row.predictedLabel },
    confidence: { type: 'float32', value: row.confidence },
    model_version: { type: 'string', value: row.modelVersion },
    model_name: { type: 'string', value: row.modelName },
    probabilities: { type: 'float32-list', value: Float32Array.from(row.probabilities) },
    ...(row.modelFingerprint === undefined ? {} : { model_fingerprint: { type: 'string', value: row.modelFingerprint } }),
  };
}

/** The online features read back for an entity (`model_name` and `probabilities` are absent from rows written before they existed). */
export interface StoredFeatures {
  readonly entity: string;
  readonly eventTime: number;
  readonly modelName?: string;
  readonly modelVersion: string;
  readonly modelFingerprint?: string;
  readonly embedding: Float32Array;
  readonly predictedLabel: string;
  readonly confidence: number;
  readonly probabilities?: Float32Array;
}

const STORED = ['embedding', 'predicted_label', 'confidence', 'model_version', 'model_name', 'probabilities', 'model_fingerprint'] as const;

/** The hash fields to read for `storedFeatures`, in its order: the features, then the event time. */
export function storedFeatureFields(featureView: string): (Buffer | string)[] {
  return [...STORED.map((name) => feastFeatureField(featureView, name)), feastTimestampField(featureView)];
}

/** An entity's stored features from the values of `storedFeatureFields`, or undefined when the row is missing or incomplete. */
export function storedFeatures(entity: string, values: readonly (Buffer | null)[]): StoredFeatures | undefined {
  const [embedding, label, confidence, version, name, probabilities, fingerprint, time] = values.map((v) => (v === null || v === undefined ? null : v));
  if (embedding === null || label === null || confidence === null || version === null || time === null) return undefined;
  const e = decodeFeastValue(embedding as Buffer);
  const l = decodeFeastValue(label as Buffer);
  const c = decodeFeastValue(confidence as Buffer);
  const v = decodeFeastValue(version as Buffer);
  if (!(e instanceof Float32Array) || typeof l !== 'string' || typeof c !== 'number' || typeof v !== 'string') return undefined;
  const n = name === null ? null : decodeFeastValue(name as Buffer);
  const p = probabilities === null ? null : decodeFeastValue(probabilities as Buffer);
  const f = fingerprint === null ? null : decodeFeastValue(fingerprint as Buffer);
  return {
    entity,
    eventTime: decodeTimestamp(time as Buffer),
    modelVersion: v,
    embedding: e,
    predictedLabel: l,
    confidence: c,
    ...(typeof n === 'string' ? { modelName: n } : {}),
    ...(p instanceof Float32Array ? { probabilities: p } : {}),
    ...(typeof f === 'string' ? { modelFingerprint: f } : {}),
  };
}
