/**
 * `kafka-dead-letter`: the dead-letter sink on a Kafka topic (`<topology>.dlq` by default). Each
 * failed input becomes a `dead-letter` record — original key and bytes (or its reference), the
 * source topic/partition/offset, the node, error code, class and message — keyed by the original
 * key, with the original headers plus `centaur-error-code` and `centaur-node`.
 */
import { Type } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { DeadLetter, Sink } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import { BatchingProducer } from '../kafka/batching-producer.js';
import type { KafkaOutputMessage } from '../kafka/client.js';
import { ConnectionOptions } from '../kafka/connection.js';
import { createOutputEncoder, outputValueOptions } from '../kafka/output-encoder.js';
import type { OutputEncoder, OutputValue } from '../kafka/output-encoder.js';
import { deadLetterRecord } from '../kafka/output-records.js';
import { SchemaRegistryOptions } from '../kafka/schema-registry.js';
import { createSinkProducer, ProducerOptions, producerNeeds, producerProblems } from '../kafka/sink-producer.js';

const options = Type.Object(
  {
    ...ConnectionOptions,
    topic: Type.Optional(Type.String({ minLength: 1, description: 'Topic for dead letters. Default: `<topology>.dlq`.' })),
    value: outputValueOptions('dead-letter'),
    schemaRegistry: Type.Optional(SchemaRegistryOptions),
    ...ProducerOptions,
  },
  { additionalProperties: false },
);

/** Writes failed inputs, with the reason and the original bytes, to a Kafka topic. */
export const kafkaDeadLetter = defineSink({
  kind: 'kafka-dead-letter',
  role: 'sink',
  takesDeadLetters: true,
  description: 'Writes failed inputs to a Kafka topic with the original bytes, headers, source position, node and error.',
  stability: 'beta',
  options,
  examples: [
    { title: 'Failed inputs in Avro, with the original message', options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topic: 'dead-letters', schemaRegistry: { url: '${CENTAUR_SCHEMA_REGISTRY_URL}' } } },
  ],
  claims: (o) => (o.topic === undefined ? [] : [`dead-letter topic ${o.topic}`]),
  validate: (o) => producerProblems(o, o.value.format === 'avro'),
  needs: (o) => producerNeeds(o),
  create: async (o, ctx): Promise<Sink> => {
    const value: OutputValue = o.value;
    const topic = o.topic ?? `${ctx.topologyName}.dlq`;
    const encoder = await createOutputEncoder(value, topic, o.schemaRegistry, ctx.baseDir);
    const send = await createSinkProducer(o, topic, ctx.topologyName, ctx.nodeId, ctx.logger, ctx.shared);
    const producer = new BatchingProducer(topic, send.send, o.batchSize, o.lingerMs, o.maxBatchBytes);
    return new KafkaDeadLetterSink(ctx.topologyName, encoder, producer, send.close);
  },
});

class KafkaDeadLetterSink implements Sink {
  constructor(
    private readonly topology: string,
    private readonly encoder: OutputEncoder,
    private readonly producer: BatchingProducer,
    private readonly closeProducer: () => Promise<void>,
  ) {}

  async write(): Promise<void> {
    throw new CentaurError('INTERNAL', 'the dead-letter sink only takes failed inputs; do not name it in `from`');
  }

  async writeDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    const messages: KafkaOutputMessage[] = [];
    for (const letter of letters) {
      const env = letter.envelope;
      const value = await this.encoder.encode(deadLetterRecord(letter, this.topology));
      const key = env.original?.key ?? env.key ?? null;
      messages.push({ key, value, headers: { ...(env.original?.headers ?? env.metadata), 'centaur-error-code': letter.error.code, 'centaur-node': letter.node } });
    }
    await this.producer.produce(messages);
  }

  async flush(): Promise<void> {
    await this.producer.flush();
  }

  async close(): Promise<void> {
    await this.producer.flush();
    await this.closeProducer();
  }
}
