/**
 * How the Kafka sinks produce: the options they share, and the send function behind them — the
 * sink's own idempotent producer (acks=all), or the open transaction of the topology's
 * exactly-once source.
 */
import { Type } from '@sinclair/typebox';
import { CentaurError } from '../core/errors.js';
import type { ResourceNeed, SharedResources } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { OptionProblem } from '../core/component.js';
import { COMPRESSIONS, compressionProblem } from './client.js';
import type { Compression, KafkaClientName, KafkaOutputMessage } from './client.js';
import { connectError, connectionSettings } from './connection.js';
import { createClientFactory } from './client-factory.js';
import type { ConnectionOptionValues } from './connection.js';
import { KAFKA_TRANSACTION, transactionOf } from './transactions.js';

/** Producer options shared by the Kafka sinks. */
export const ProducerOptions = {
  compression: Type.Union(COMPRESSIONS.map((c) => Type.Literal(c)), { default: 'none', description: 'Compression of produced batches: `none` or `gzip` with either client; `snappy`, `lz4`, `zstd` with node-rdkafka.' }),
  batchSize: Type.Integer({ minimum: 1, default: 500, description: 'Messages gathered into one produce request at most.' }),
  lingerMs: Type.Integer({ minimum: 0, default: 5, description: 'How long a message may wait for others to share its produce request.' }),
  maxBatchBytes: Type.Integer({
    minimum: 1024,
    default: 524288,
    description: 'Bytes gathered into one produce request at most; keep it under the broker’s `message.max.bytes` (1 MiB by default).',
  }),
  exactlyOnce: Type.Boolean({ default: false, description: 'Write inside the transaction of the topology’s `kafka-source` with `exactlyOnce: true`.' }),
};

/**
 * The rules between a Kafka sink's options the schema cannot say, for its spec's `validate`: Avro
 * values (`avro`: the sink encodes with Avro) need `schemaRegistry`, and its own producer (not the
 * transaction's, with `exactlyOnce`) a codec its client has.
 */
export function producerProblems(
  o: { readonly client: KafkaClientName; readonly compression: Compression; readonly exactlyOnce: boolean; readonly schemaRegistry?: unknown },
  avro: boolean,
): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (avro && o.schemaRegistry === undefined) {
    problems.push({ path: ['value', 'format'], message: '`value.format: avro` needs `schemaRegistry`', suggestion: 'add `schemaRegistry: { url: … }`, or set `value.format: json`' });
  }
  const compression = o.exactlyOnce ? undefined : compressionProblem(o.client, o.compression);
  if (compression !== undefined) problems.push({ path: ['compression'], ...compression });
  return problems;
}

/** Sends a topic's messages and resolves when the broker has them; `close` releases the producer. */
export interface SinkProducer {
  readonly send: (topic: string, messages: readonly KafkaOutputMessage[]) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** The send function of a Kafka sink: its own idempotent producer, or the topology's transaction. */
export async function createSinkProducer(
  o: ConnectionOptionValues & { compression: Compression; exactlyOnce: boolean },
  topic: string,
  topologyName: string,
  nodeId: string,
  logger: Logger,
  shared?: SharedResources,
): Promise<SinkProducer> {
  if (o.exactlyOnce) {
    const coordinator = transactionOf(shared, nodeId);
    return { send: (topic, messages) => coordinator.send(topic, messages), close: async () => undefined };
  }
  const factory = await createClientFactory(connectionSettings(o, topologyName, nodeId), logger);
  const producer = factory.producer({ compression: o.compression, idempotent: true });
  let missing: string[];
  try {
    await producer.connect();
    missing = await factory.missingTopics([topic]);
  } catch (error) {
    throw connectError(nodeId, error);
  }
  if (missing.length > 0) {
    await producer.close().catch(() => undefined);
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: topic ${topic} not found on the brokers; create it, or fix \`topic\``);
  }
  return { send: (topic, messages) => producer.send(topic, messages), close: () => producer.close() };
}

/** What an exactly-once Kafka sink needs of its topology: an exactly-once source that provides the transaction. */
export function producerNeeds(o: { exactlyOnce: boolean }): ResourceNeed[] {
  if (!o.exactlyOnce) return [];
  return [
    {
      resource: KAFKA_TRANSACTION.name,
      problem: {
        path: ['exactlyOnce'],
        message: '`exactlyOnce: true` needs a `kafka-source` with `exactlyOnce: true` in the same topology',
        suggestion: 'set `exactlyOnce: true` on the kafka-source whose inputs this node writes, or remove it here',
      },
    },
  ];
}
