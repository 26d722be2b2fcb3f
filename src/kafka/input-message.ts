/**
 * Turns one Kafka message into an input: the image bytes (or the object reference) from the
 * configured field or the whole value, with id, key, event time, label and metadata. Formats:
 * `avro` (Confluent-framed, via the registry), `json` (image as base64 or a URI field) and
 * `bytes` (the value is the image; id, time and label come from headers).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { EnvelopeInit, Payload } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { labelFromRecord } from '../labelling/label-event.js';
import type { KafkaInputMessage } from './client.js';
import type { AvroRegistryCodec } from './schema-registry.js';

/** How message values are read; the field names fit the built-in `camera-frame` and `image-upload` schemas. */
export const ValueOptions = Type.Object(
  {
    format: Type.Union([Type.Literal('avro'), Type.Literal('json'), Type.Literal('bytes')], {
      default: 'avro',
      description: '`avro`: Confluent-framed Avro (needs `schemaRegistry`); `json`: a JSON object; `bytes`: the value is the encoded image.',
    }),
    content: Type.Union([Type.Literal('image'), Type.Literal('label')], {
      default: 'image',
      description:
        '`image`: each message is an input to classify (an image or an object URI). `label`: each message is a label event (the `label` schema: `inputId`, `label`, `annotator`, `origin`, `labelTime`, `selection`) for `training-set-sink`; a malformed one is a `LABEL_INVALID` dead letter.',
    }),
    imageField: Type.String({ default: 'image', description: 'Field holding the encoded image (Avro `bytes`, or base64 in JSON).' }),
    uriField: Type.String({ default: 'uri', description: 'Field holding the object URI when there is no image field (upload events).' }),
    idField: Type.Optional(Type.String({ description: 'Field (header for `bytes`) holding the input id. Default: `frameId`, `uploadId` or `id`, whichever exists, else `<topic>-<partition>-<offset>`.' })),
    timeField: Type.Optional(Type.String({ description: 'Field (header for `bytes`) holding the event time, ms since the epoch or ISO 8601. Default: `captureTime`, `uploadTime` or `time`, else the message timestamp.' })),
    labelField: Type.String({ default: 'label', description: 'Field (or header) holding a known ground-truth label, if any.' }),
  },
  { additionalProperties: false, default: {}, description: 'How to read message values.' },
);
export type ValueOptions = Static<typeof ValueOptions>;

const ID_FIELDS = ['frameId', 'uploadId', 'id'];
const TIME_FIELDS = ['captureTime', 'uploadTime', 'time'];
const BYTES_ID_HEADER = 'id';
const BYTES_TIME_HEADER = 'capture-time';

/** Where a message sits, as the source names it. */
export interface MessagePlace {
  readonly sourceId: string;
  readonly partition: string;
}

/** An input under construction: decoding fills in what the value says (built once per message, no copies). */
type DraftInit = { -readonly [K in keyof EnvelopeInit]: EnvelopeInit[K] };

/** The input as known before decoding: enough to dead-letter the message with its original bytes. */
export function rawInput(message: KafkaInputMessage, place: MessagePlace): EnvelopeInit {
  return draft(message, place, { ...message.headers });
}

function draft(message: KafkaInputMessage, place: MessagePlace, metadata: Record<string, string>): DraftInit {
  const init: DraftInit = {
    id: `${message.topic}-${message.partition}-${message.offset}`,
    eventTime: message.timestamp,
    position: { source: place.sourceId, partition: place.partition, offset: message.offset, topic: message.topic },
    payload: { kind: 'bytes', bytes: message.value ?? Buffer.alloc(0) },
    sizeBytes: (message.value?.length ?? 0) + (message.key?.length ?? 0),
    metadata,
    original: { key: message.key, value: message.value, headers: message.headers },
  };
  if (message.key !== null) init.key = message.key.toString('utf8');
  return init;
}

/** Decodes a message into an input; throws a data error (dead letter) or an infrastructure error (retry). */
export async function decodeInput(message: KafkaInputMessage, place: MessagePlace, options: ValueOptions, codec: AvroRegistryCodec | undefined): Promise<EnvelopeInit> {
  if (options.format !== 'avro') return decodePlain(message, place, options);
  if (codec === undefined) throw new CentaurError('INTERNAL', 'format avro without a schema registry');
  const value = message.value;
  if (value === null || value.length === 0) throw new CentaurError('KAFKA_VALUE_INVALID', 'the message has no value');
  return fromValue(await codec.decode(value), draft(message, place, {}), message, options);
}

/** Decodes a `json` or `bytes` message at once (no registry involved); throws a data error. */
export function decodePlain(message: KafkaInputMessage, place: MessagePlace, options: ValueOptions): EnvelopeInit {
  const value = message.value;
  if (value === null || value.length === 0) throw new CentaurError('KAFKA_VALUE_INVALID', 'the message has no value');
  if (options.format === 'bytes') {
    const raw = draft(message, place, { ...message.headers });
    const headers = message.headers;
    const id = headers[options.idField ?? BYTES_ID_HEADER];
    const time = headers[options.timeField ?? BYTES_TIME_HEADER];
    const label = headers[options.labelField];
    if (id !== undefined) raw.id = id;
    if (time !== undefined) raw.eventTime = parseTime(time, options.timeField ?? BYTES_TIME_HEADER);
    if (label !== undefined) raw.label = label;
    return raw;
  }
  const raw = draft(message, place, {});
  let record: unknown;
  try {
    record = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new CentaurError('KAFKA_VALUE_INVALID', `the value is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return fromValue(record, raw, message, options);
}

function fromValue(record: unknown, raw: DraftInit, message: KafkaInputMessage, options: ValueOptions): EnvelopeInit {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new CentaurError('KAFKA_VALUE_INVALID', `the value is a ${Array.isArray(record) ? 'list' : typeof record}, not a record`);
  }
  return fromRecord(record as Record<string, unknown>, raw, message, options);
}

function fromRecord(record: Record<string, unknown>, raw: DraftInit, message: KafkaInputMessage, options: ValueOptions): EnvelopeInit {
  if (options.content === 'label') return fromLabel(record, raw, message);
  const payload = payloadOf(record, options);
  const idField = options.idField ?? ID_FIELDS.find((f) => typeof record[f] === 'string');
  const timeField = options.timeField ?? TIME_FIELDS.find((f) => record[f] !== undefined && record[f] !== null);
  const id = idField === undefined ? undefined : record[idField];
  if (idField !== undefined && options.idField !== undefined && typeof id !== 'string' && typeof id !== 'number') {
    throw new CentaurError('KAFKA_VALUE_INVALID', `field \`${idField}\` (the id) is missing or not a string`);
  }
  const timeValue = timeField === undefined ? undefined : record[timeField];
  const eventTime = timeValue === undefined || timeValue === null ? message.timestamp : parseTime(timeValue, timeField as string);
  const label = record[options.labelField] ?? message.headers[options.labelField];
  const metadata = raw.metadata as Record<string, string>;
  for (const [name, v] of Object.entries(record)) {
    if (name === options.imageField || name === 'metadata') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') metadata[name] = String(v);
  }
  const nested = record.metadata;
  if (typeof nested === 'object' && nested !== null && !Array.isArray(nested)) {
    for (const [name, v] of Object.entries(nested as Record<string, unknown>)) if (typeof v === 'string') metadata[name] = v;
  }
  Object.assign(metadata, message.headers);
  if (payload.kind === 'bytes') raw.sizeBytes += payload.bytes.length;
  if (typeof id === 'string' || typeof id === 'number') raw.id = String(id);
  raw.eventTime = eventTime;
  raw.payload = payload;
  if (typeof label === 'string') raw.label = label;
  return raw;
}

/** A label event: the envelope names the labelled input and carries the label; the payload stays the message value. */
function fromLabel(record: Record<string, unknown>, raw: DraftInit, message: KafkaInputMessage): EnvelopeInit {
  const event = labelFromRecord(record, message.timestamp);
  raw.id = event.inputId;
  raw.eventTime = event.annotation.labelTime;
  raw.annotation = event.annotation;
  Object.assign(raw.metadata as Record<string, string>, message.headers);
  return raw;
}

function payloadOf(record: Record<string, unknown>, options: ValueOptions): Payload {
  const image = record[options.imageField];
  if (Buffer.isBuffer(image)) {
    if (image.length === 0) throw new CentaurError('KAFKA_VALUE_INVALID', `field \`${options.imageField}\` is empty`);
    return { kind: 'bytes', bytes: image };
  }
  if (typeof image === 'string' && image.length > 0) {
    const bytes = Buffer.from(image, 'base64');
    if (bytes.length === 0) throw new CentaurError('KAFKA_VALUE_INVALID', `field \`${options.imageField}\` is not base64`);
    return { kind: 'bytes', bytes };
  }
  const uri = record[options.uriField];
  if (typeof uri === 'string' && uri.length > 0) return { kind: 'reference', uri };
  throw new CentaurError('KAFKA_VALUE_INVALID', `the record has neither an image field \`${options.imageField}\` nor a URI field \`${options.uriField}\``);
}

function parseTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(n)) return n;
  }
  throw new CentaurError('KAFKA_VALUE_INVALID', `field \`${field}\` (the event time) is not ms since the epoch nor an ISO 8601 time`);
}
