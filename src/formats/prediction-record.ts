/** The record of one prediction, shared by every sink that writes predictions: as JSON, or as a Parquet row. */
import type { DeadLetter } from '../core/component.js';
import type { Envelope, SourcePosition } from '../core/envelope.js';
import type { ParquetColumn } from './parquet.js';

/** Where a record's input came from, as written in every JSON record. */
export type SourceRecord = { node: string; partition: string; offset: number; uri?: string };

/** One output line: what downstream systems read for each input. */
export interface PredictionRecord {
  id: string;
  key?: string;
  eventTime: string;
  source: SourceRecord;
  label?: string;
  prediction?: { label: string; classIndex: number; confidence: number; probabilities: Record<string, number>; cached?: true };
  model?: { name: string; version: string };
  image?: Envelope['image'];
  embedding?: number[];
  /** Why a `select-for-labelling` node picked the input, when one did. */
  labelling?: Envelope['labelling'];
  timingsMs: Record<string, number>;
  metadata: Record<string, string>;
}

/** Builds the record of a predicted envelope; class names label the probabilities. */
export function toPredictionRecord(envelope: Envelope, options: { includeEmbedding: boolean; classes?: readonly string[] }): PredictionRecord {
  const p = envelope.prediction;
  const classes = options.classes ?? envelope.model?.classes;
  return {
    id: envelope.id,
    ...(envelope.key === undefined ? {} : { key: envelope.key }),
    eventTime: new Date(envelope.eventTime).toISOString(),
    source: sourceOf(envelope.position),
    ...(envelope.label === undefined ? {} : { label: envelope.label }),
    ...(p === undefined
      ? {}
      : {
          prediction: {
            label: p.label,
            classIndex: p.classIndex,
            confidence: round(p.confidence),
            probabilities: Object.fromEntries(p.probabilities.map((v, i) => [classes?.[i] ?? (i === p.classIndex ? p.label : String(i)), round(v)])),
            ...(p.cached === true ? { cached: true as const } : {}),
          },
        }),
    ...(envelope.model === undefined ? {} : { model: { name: envelope.model.name, version: envelope.model.version } }),
    ...(envelope.image === undefined ? {} : { image: envelope.image }),
    ...(options.includeEmbedding && envelope.embedding !== undefined ? { embedding: Array.from(envelope.embedding, round) } : {}),
    ...(envelope.labelling === undefined ? {} : { labelling: { ...envelope.labelling, uncertainty: round(envelope.labelling.uncertainty) } }),
    timingsMs: Object.fromEntries(Object.entries(envelope.timings).map(([k, v]) => [k, round(v)])),
    metadata: { ...envelope.metadata },
  };
}

/**
 * The Parquet columns of a prediction record, in order: the JSON record flattened to fixed
 * columns, so one schema holds the records of every model. `probabilities` is a JSON object
 * (class name → probability, as in the JSON record) rather than one column per class, because
 * classes differ between models; `metadata` is a JSON object too. `embedding` is there only with
 * `includeEmbedding`. A column whose value an input lacks holds null.
 */
export function predictionParquetColumns(options: { includeEmbedding: boolean }): ParquetColumn[] {
  const nullable = (name: string, type: ParquetColumn['type']): ParquetColumn => ({ name, type, nullable: true });
  return [
    { name: 'id', type: 'string' },
    nullable('key', 'string'),
    { name: 'event_time', type: 'timestamp-ms' },
    { name: 'source_node', type: 'string' },
    { name: 'source_partition', type: 'string' },
    { name: 'source_offset', type: 'int64' },
    nullable('source_uri', 'string'),
    nullable('label', 'string'),
    nullable('predicted_label', 'string'),
    nullable('class_index', 'int32'),
    nullable('confidence', 'float64'),
    nullable('cached', 'boolean'),
    nullable('probabilities', 'string'),
    nullable('model_name', 'string'),
    nullable('model_version', 'string'),
    nullable('image_width', 'int32'),
    nullable('image_height', 'int32'),
    nullable('image_format', 'string'),
    ...(options.includeEmbedding ? [nullable('embedding', 'float32-list')] : []),
    nullable('archive_uri', 'string'),
    nullable('archive_sha256', 'string'),
    { name: 'metadata', type: 'string' },
  ];
}

/** An archived copy of the input's image, as a lake record names it. */
export interface ArchiveRef {
  readonly uri: string;
  readonly sha256: string;
}

/** The Parquet row of a prediction record (see `predictionParquetColumns`); the embedding is the envelope's own, unrounded. */
export function toPredictionRow(record: PredictionRecord, envelope: Envelope, archive: ArchiveRef | undefined): Record<string, unknown> {
  const p = record.prediction;
  return {
    id: record.id,
    key: record.key ?? null,
    event_time: Date.parse(record.eventTime),
    source_node: record.source.node,
    source_partition: record.source.partition,
    source_offset: record.source.offset,
    source_uri: record.source.uri ?? null,
    label: record.label ?? null,
    predicted_label: p?.label ?? null,
    class_index: p?.classIndex ?? null,
    confidence: p?.confidence ?? null,
    cached: p === undefined ? null : p.cached === true,
    probabilities: p === undefined ? null : JSON.stringify(p.probabilities),
    model_name: record.model?.name ?? null,
    model_version: record.model?.version ?? null,
    image_width: record.image?.width ?? null,
    image_height: record.image?.height ?? null,
    image_format: record.image?.format ?? null,
    embedding: record.embedding === undefined ? null : (envelope.embedding ?? null),
    archive_uri: archive?.uri ?? null,
    archive_sha256: archive?.sha256 ?? null,
    metadata: JSON.stringify(record.metadata),
  };
}

/** One dead-letter line: the original reference or bytes, the node, the error class and message. */
export interface DeadLetterRecord {
  time: string;
  id: string;
  key?: string;
  node: string;
  error: { code: string; name: string; message: string; retriable: boolean; cause?: string };
  source: SourceRecord;
  label?: string;
  payload: { uri: string } | { base64: string } | null;
  metadata: Record<string, string>;
}

/** Builds a dead-letter record; payload bytes are included when there is no reference (or `always`). */
export function toDeadLetterRecord(letter: DeadLetter, includePayload: 'auto' | 'always' | 'never'): DeadLetterRecord {
  const env = letter.envelope;
  // A fetched object is named, not copied: the event that named it is the input (and may be hostile).
  const uri = env.payload.kind === 'reference' ? env.payload.uri : (env.fetchedFrom ?? env.position.uri);
  const bytes = env.payload.kind === 'bytes' ? env.payload.bytes : undefined;
  let payload: DeadLetterRecord['payload'] = null;
  if (includePayload === 'always' && bytes !== undefined) payload = { base64: bytes.toString('base64') };
  else if (includePayload !== 'never' && uri !== undefined) payload = { uri };
  else if (includePayload === 'auto' && bytes !== undefined) payload = { base64: bytes.toString('base64') };
  const cause = letter.error.cause instanceof Error ? letter.error.cause.message : undefined;
  return {
    time: new Date(letter.time).toISOString(),
    id: env.id,
    ...(env.key === undefined ? {} : { key: env.key }),
    node: letter.node,
    error: { code: letter.error.code, name: letter.error.name, message: letter.error.message, retriable: letter.error.retriable, ...(cause === undefined || cause === letter.error.message ? {} : { cause }) },
    source: sourceOf(env.position),
    ...(env.label === undefined ? {} : { label: env.label }),
    payload,
    metadata: { ...env.metadata },
  };
}

function sourceOf(position: SourcePosition): SourceRecord {
  return {
    node: position.source,
    partition: position.partition,
    offset: position.offset,
    ...(position.uri === undefined ? {} : { uri: position.uri }),
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
