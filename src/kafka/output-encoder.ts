/**
 * Encodes output records for a topic: JSON, or Avro in the Confluent wire format with the schema
 * registered (at start) under the topic's subject — `<topic>-value` by default (TopicNameStrategy).
 */
import { Type } from '@sinclair/typebox';
import { retry } from '../core/retry.js';
import { AvroRegistryCodec, readAvroSchema } from './schema-registry.js';
import type { SchemaRegistryOptions } from './schema-registry.js';
import { toJsonValue } from './output-records.js';

/** Output value options shared by the Kafka sinks. */
export function outputValueOptions(defaultSchema: string) {
  return Type.Object(
    {
      format: Type.Union([Type.Literal('avro'), Type.Literal('json')], {
        default: 'avro',
        description: '`avro`: Confluent-framed Avro with the schema registered in `schemaRegistry`; `json`: a JSON object.',
      }),
      schema: Type.String({
        minLength: 1,
        default: defaultSchema,
        description: 'A built-in Avro schema (`prediction`, `embedding`, `label-request`, `dead-letter`) or the path of an `.avsc` file that reads the same record.',
      }),
      subject: Type.Optional(Type.String({ minLength: 1, description: 'Registry subject. Default: `<topic>-value` (TopicNameStrategy).' })),
    },
    { additionalProperties: false, default: {}, description: 'How values are encoded.' },
  );
}

/** The encoding settings after defaults. */
export interface OutputValue {
  readonly format: 'avro' | 'json';
  readonly schema: string;
  readonly subject?: string;
}

export interface OutputEncoder {
  encode(record: Record<string, unknown>): Promise<Buffer>;
}

/** Prepares the encoder of a topic; for Avro, registers the schema now so that problems show at start. */
export async function createOutputEncoder(value: OutputValue, topic: string, registry: SchemaRegistryOptions | undefined, baseDir: string): Promise<OutputEncoder> {
  if (value.format === 'json') return { encode: async (record) => Buffer.from(toJsonValue(record)) };
  if (registry === undefined) throw new Error('format avro needs schemaRegistry');
  const codec = await AvroRegistryCodec.create(registry);
  const schema = await readAvroSchema(value.schema, baseDir);
  const subject = value.subject ?? `${topic}-value`;
  const id = await retry(() => codec.register(subject, schema), { attempts: 5, baseDelayMs: 200, maxDelayMs: 3000 });
  return { encode: (record) => codec.encode(id, record) };
}
