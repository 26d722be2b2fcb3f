/** The JSON record of one prediction, shared by every sink that writes predictions as JSON. */
import type { DeadLetter } from '../core/component.js';
import type { Envelope, SourcePosition } from '../core/envelope.js';

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
    timingsMs: Object.fromEntries(Object.entries(envelope.timings).map(([k, v]) => [k, round(v)])),
    metadata: { ...envelope.metadata },
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
  const uri = env.payload.kind === 'reference' ? env.payload.uri : env.position.uri;
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
