/**
 * What `feature-store-sink` stores for one input: its entity value (the image id), event time,
 * model, embedding, prediction and ground truth, taken from a predicted envelope. An envelope
 * without a prediction, a model or an embedding (or without a key where the key names the
 * entity) cannot make a row; that is a data error, so the input goes to the dead letter.
 */
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
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
  readonly embedding: Float32Array;
  readonly predictedLabel: string;
  readonly confidence: number;
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
    embedding: envelope.embedding,
    predictedLabel: envelope.prediction.label,
    confidence: envelope.prediction.confidence,
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
  };
}
