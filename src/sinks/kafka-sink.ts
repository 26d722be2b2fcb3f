/**
 * `kafka-sink`: writes predictions (or embeddings) to a topic, keyed by the input's key (camera
 * id, upload id) or id, with trace and model headers. The producer is idempotent with acks=all,
 * and an envelope is acknowledged only once the broker acknowledged its message. Concurrent
 * writes are gathered into larger produce requests (`batchSize`, `lingerMs`). With
 * `exactlyOnce: true` the messages go into the transaction of the topology's exactly-once source.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { BatchingProducer } from '../kafka/batching-producer.js';
import type { KafkaOutputMessage } from '../kafka/client.js';
import { ConnectionOptions } from '../kafka/connection.js';
import { createSinkProducer, ProducerOptions, producerNeeds, producerProblems } from '../kafka/sink-producer.js';
import { createOutputEncoder, outputValueOptions } from '../kafka/output-encoder.js';
import type { OutputEncoder, OutputValue } from '../kafka/output-encoder.js';
import { outputRecord, TRACE_HEADER } from '../kafka/output-records.js';
import type { OutputRecordKind } from '../kafka/output-records.js';
import { SchemaRegistryOptions } from '../kafka/schema-registry.js';
import { TRACE_CONTEXT_HEADERS } from '../observability/trace-context.js';

const options = Type.Object(
  {
    ...ConnectionOptions,
    topic: Type.String({ minLength: 1, description: 'Topic to write to.' }),
    record: Type.Union([Type.Literal('prediction'), Type.Literal('embedding'), Type.Literal('label-request'), Type.Literal('input')], {
      default: 'prediction',
      description: 'What each message holds: the prediction record, the embedding record, a label request (inputs a `select-for-labelling` node picked; schemas/avro/label-request.avsc), or `input` — the input’s original value and key, byte for byte (relaying; `value` is ignored).',
    }),
    value: outputValueOptions('prediction'),
    schemaRegistry: Type.Optional(SchemaRegistryOptions),
    key: Type.Union([Type.Literal('key'), Type.Literal('id'), Type.Literal('none')], {
      default: 'key',
      description: 'Message key: the input’s key (camera id), falling back to its id; or always the id; or none.',
    }),
    ...ProducerOptions,
    maxMessageBytes: Type.Integer({
      minimum: 1024,
      default: 1_000_000,
      description:
        'Largest message (value, key and headers) the sink sends; a larger one is a dead letter (`OUTPUT_TOO_LARGE`, with its size and this limit) instead of a request the broker refuses. Keep it under the broker’s and the topic’s `message.max.bytes` (1,048,588 by default).',
    }),
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Writes predictions or embeddings to a Kafka topic. */
export const kafkaSink = defineSink({
  kind: 'kafka-sink',
  role: 'sink',
  description: 'Produces predictions or embeddings to a Kafka topic (Avro with a schema registry, or JSON), acknowledged by the broker.',
  stability: 'beta',
  options,
  examples: [
    { title: 'Prediction records in Avro', options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topic: 'predictions', schemaRegistry: { url: '${CENTAUR_SCHEMA_REGISTRY_URL}' } } },
    { title: 'Embeddings as JSON', options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topic: 'embeddings', record: 'embedding', value: { format: 'json' } } },
    { title: 'Label requests in Avro (after select-for-labelling)', options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topic: 'label-requests', record: 'label-request', schemaRegistry: { url: '${CENTAUR_SCHEMA_REGISTRY_URL}' } } },
  ],
  // `record: input` relays the input's bytes: no encoding, so no registry.
  validate: (o) => producerProblems(o, o.value.format === 'avro' && o.record !== 'input'),
  needs: (o) => producerNeeds(o),
  create: async (o, ctx): Promise<Sink> => {
    const value: OutputValue = o.value;
    // The default schema follows the record: `prediction` names the built-in schema of the record asked for.
    const schema = value.schema === 'prediction' && (o.record === 'embedding' || o.record === 'label-request') ? { ...value, schema: o.record } : value;
    const encoder = o.record === 'input' ? undefined : await createOutputEncoder(schema, o.topic, o.schemaRegistry, ctx.baseDir);
    const send = await createSinkProducer(o, o.topic, ctx.topologyName, ctx.nodeId, ctx.logger, ctx.shared);
    const batching = new BatchingProducer(o.topic, send.send, o.batchSize, 0, o.maxBatchBytes);
    return new KafkaSink(o, encoder, batching, send.close, ctx.topologyName);
  },
});

/** A message's bytes as they count against the broker's limit: value, key, header names and values. */
function messageBytes(m: KafkaOutputMessage): number {
  let bytes = m.value.length + (m.key?.length ?? 0);
  for (const [name, value] of Object.entries(m.headers ?? {})) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

class KafkaSink implements Sink {
  /** Writes in flight: encoding the next while the broker acknowledges the last. */
  readonly concurrency = 4;
  readonly batching: { maxSize: number; maxDelayMs: number };

  constructor(
    private readonly options: Options,
    private readonly encoder: OutputEncoder | undefined,
    private readonly producer: BatchingProducer,
    private readonly closeProducer: () => Promise<void>,
    private readonly topology: string,
  ) {
    this.batching = { maxSize: options.batchSize, maxDelayMs: options.lingerMs };
  }

  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    const messages: KafkaOutputMessage[] = [];
    for (const envelope of envelopes) {
      try {
        const built = this.message(envelope);
        const message = built instanceof Promise ? await built : built;
        const size = messageBytes(message);
        if (size > this.options.maxMessageBytes) {
          throw new CentaurError(
            'OUTPUT_TOO_LARGE',
            `a message of ${size} bytes for topic ${this.options.topic} is over the limit of ${this.options.maxMessageBytes} (maxMessageBytes; the broker's message.max.bytes is 1,048,588 by default): send large images as ImageUpload references to the lake, or raise both limits`,
          );
        }
        messages.push(message);
      } catch (error) {
        const err = toCentaurError(error, 'OUTPUT_ENCODE_FAILED');
        if (err.category !== 'data') throw err;
        rejections.push({ envelope, error: err });
      }
    }
    await this.producer.produce(messages);
    return rejections;
  }

  async flush(): Promise<void> {
    await this.producer.flush();
  }

  async close(): Promise<void> {
    await this.producer.flush();
    await this.closeProducer();
  }

  private message(envelope: Envelope): KafkaOutputMessage | Promise<KafkaOutputMessage> {
    const kind = this.options.record;
    if (this.encoder === undefined || kind === 'input') return this.relayed(envelope);
    return this.encoded(envelope, this.encoder, kind);
  }

  /** The input's original value, key and headers (`record: input`). */
  private relayed(envelope: Envelope): KafkaOutputMessage {
    const value = envelope.original?.value ?? (envelope.payload.kind === 'bytes' ? envelope.payload.bytes : null);
    if (value === null) throw new CentaurError('OUTPUT_ENCODE_FAILED', 'the input has no bytes to relay');
    const key = this.options.key === 'none' ? null : this.options.key === 'id' ? envelope.id : (envelope.original?.key ?? envelope.key ?? null);
    const headers = envelope.original?.headers ?? envelope.metadata;
    return { key, value, headers: envelope.traceContext === undefined ? headers : { ...withoutTraceContext(headers), ...envelope.traceContext } };
  }

  /** The prediction or embedding record, encoded, with trace and model headers. */
  private async encoded(envelope: Envelope, encoder: OutputEncoder, kind: OutputRecordKind): Promise<KafkaOutputMessage> {
    const value = await encoder.encode(outputRecord(kind, envelope, this.topology));
    const key = this.options.key === 'none' ? null : this.options.key === 'id' ? envelope.id : (envelope.key ?? envelope.id);
    const headers: Record<string, string> = {};
    // The input's trace id travels on; an input without one is traced by its own id.
    headers[TRACE_HEADER] = envelope.metadata[TRACE_HEADER] ?? envelope.id;
    if (envelope.model !== undefined) {
      headers['model-name'] = envelope.model.name;
      headers['model-version'] = envelope.model.version;
    }
    // W3C trace context: the sink span's when tracing is on, else the input's passed through.
    const context = envelope.traceContext ?? pick(envelope.original?.headers ?? envelope.metadata, TRACE_CONTEXT_HEADERS);
    return { key, value, headers: { ...headers, ...context } };
  }

}

/** The headers without W3C trace context (replaced by the sink span's). */
function withoutTraceContext(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out = { ...headers };
  for (const name of TRACE_CONTEXT_HEADERS) delete out[name];
  return out;
}

/** The named headers that are present. */
function pick(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
