/**
 * The records Centaur writes to Kafka, shaped by the Avro schemas in `schemas/avro/`
 * (`prediction`, `embedding`, `label-request`, `dead-letter`). JSON outputs use the same shapes.
 */
import { performance } from 'node:perf_hooks';
import type { DeadLetter } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';

/** The record kinds a Kafka sink can write. */
export type OutputRecordKind = 'prediction' | 'embedding' | 'label-request';

/** The Kafka header carrying a trace id from input to output. */
export const TRACE_HEADER = 'trace-id';

/** Builds the `prediction` record of an envelope; an envelope without a prediction is a data error. */
export function predictionRecord(envelope: Envelope): Record<string, unknown> {
  const p = envelope.prediction;
  const model = envelope.model;
  if (p === undefined || model === undefined) {
    throw new CentaurError('OUTPUT_ENCODE_FAILED', 'the input has no prediction to write; put an `infer` node before this sink');
  }
  const classes = model.classes;
  const now = Date.now();
  return {
    id: envelope.id,
    key: envelope.key ?? null,
    source: sourceRecord(envelope),
    model: { name: model.name, version: model.version },
    label: p.label,
    classIndex: p.classIndex,
    score: p.confidence,
    probabilities: p.probabilities.map((probability, i) => ({ label: classes?.[i] ?? String(i), probability })),
    eventTime: Math.round(envelope.eventTime),
    predictionTime: now,
    latencyMs: performance.now() - envelope.receivedAt,
    groundTruth: envelope.label ?? null,
    traceId: envelope.metadata[TRACE_HEADER] ?? null,
    metadata: { ...envelope.metadata },
    cached: p.cached === true,
  };
}

/** Builds the `embedding` record of an envelope; an envelope without an embedding is a data error. */
export function embeddingRecord(envelope: Envelope): Record<string, unknown> {
  const model = envelope.model;
  if (envelope.embedding === undefined || model === undefined) {
    throw new CentaurError('OUTPUT_ENCODE_FAILED', 'the input has no embedding to write; run `infer` with `includeEmbedding: true` before this sink');
  }
  return {
    id: envelope.id,
    key: envelope.key ?? null,
    model: { name: model.name, version: model.version },
    eventTime: Math.round(envelope.eventTime),
    vector: Array.from(envelope.embedding),
    label: envelope.prediction?.label ?? null,
    groundTruth: envelope.label ?? null,
  };
}

/**
 * Builds the `label-request` record of an input a `select-for-labelling` node picked; an input
 * without the mark or a prediction is a data error. Why: the request a labelling team consumes.
 */
export function labelRequestRecord(envelope: Envelope, topology: string): Record<string, unknown> {
  const p = envelope.prediction;
  const model = envelope.model;
  const mark = envelope.labelling;
  if (p === undefined || model === undefined || mark === undefined) {
    throw new CentaurError('OUTPUT_ENCODE_FAILED', 'the input was not picked for labelling; put a `select-for-labelling` node before this sink');
  }
  // The archived copy when the selection archived one (it outlives the input's own source).
  const uri = mark.imageUri ?? (envelope.payload.kind === 'reference' ? envelope.payload.uri : (envelope.position.uri ?? null));
  return {
    id: `${topology}/${mark.node}/${envelope.id}`,
    topology,
    node: mark.node,
    inputId: envelope.id,
    key: envelope.key ?? null,
    imageUri: uri,
    model: { name: model.name, version: model.version },
    predicted: p.label,
    probabilities: p.probabilities.map((probability, i) => ({ label: model.classes?.[i] ?? String(i), probability })),
    uncertainty: mark.uncertainty,
    method: mark.method,
    strategy: mark.strategy,
    window: mark.window,
    eventTime: Math.round(envelope.eventTime),
    requestedAt: Date.now(),
  };
}

/** Builds the record of a kind. */
export function outputRecord(kind: OutputRecordKind, envelope: Envelope, topology = ''): Record<string, unknown> {
  if (kind === 'label-request') return labelRequestRecord(envelope, topology);
  return kind === 'prediction' ? predictionRecord(envelope) : embeddingRecord(envelope);
}

/** Builds the `dead-letter` record: why and where it failed, with the original bytes or reference. */
export function deadLetterRecord(letter: DeadLetter, topology: string): Record<string, unknown> {
  const env = letter.envelope;
  const original = env.original;
  const uri = env.payload.kind === 'reference' ? env.payload.uri : (env.position.uri ?? null);
  const payload = original?.value ?? (env.payload.kind === 'bytes' ? env.payload.bytes : null);
  const cause = letter.error.cause instanceof Error ? letter.error.cause.message : null;
  return {
    id: env.id,
    time: letter.time,
    topology,
    node: letter.node,
    error: {
      code: letter.error.code,
      name: letter.error.name,
      message: letter.error.message,
      retriable: letter.error.retriable,
      cause: cause === letter.error.message ? null : cause,
    },
    source: sourceRecord(env),
    key: original?.key ?? (env.key === undefined ? null : Buffer.from(env.key)),
    payload: uri !== null && original === undefined ? null : payload,
    uri,
    headers: { ...(original?.headers ?? env.metadata) },
  };
}

function sourceRecord(envelope: Envelope): Record<string, unknown> {
  const p = envelope.position;
  return { node: p.source, topic: p.topic ?? null, partition: p.partition, offset: p.offset, uri: p.uri ?? null };
}

/** Makes a record JSON-friendly: bytes become base64 strings. */
export function toJsonValue(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return Buffer.from((value as { data: number[] }).data).toString('base64');
    }
    return value;
  });
}
