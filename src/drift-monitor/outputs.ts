/**
 * Where the drift node sends what it makes — reports, retrain requests, window partials: JSON
 * lines in a folder, records on a Kafka topic (Avro with the registry, or JSON; through the Kafka
 * sinks' producer and encoder), and for retrain requests an HTTP webhook. A failed publication is
 * logged and counted; it never fails or holds up the image stream.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { OptionProblem } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { ConnectionOptions } from '../kafka/connection.js';
import { createOutputEncoder } from '../kafka/output-encoder.js';
import { SchemaRegistryOptions } from '../kafka/schema-registry.js';
import { createSinkProducer } from '../kafka/sink-producer.js';

/** A Kafka topic to publish to. */
export const KafkaOutputOptions = Type.Object(
  {
    ...ConnectionOptions,
    topic: Type.String({ minLength: 1, description: 'Topic to write to (it must exist).' }),
    format: Type.Union([Type.Literal('avro'), Type.Literal('json')], { default: 'json', description: '`avro` (Confluent-framed, schema registered under `<topic>-value`; needs `schemaRegistry`) or `json`.' }),
    schemaRegistry: Type.Optional(SchemaRegistryOptions),
  },
  { additionalProperties: false, description: 'Publish to a Kafka topic.' },
);
export type KafkaOutputOptions = Static<typeof KafkaOutputOptions>;

/** A folder of JSON lines. */
export const FilesOutputOptions = Type.Object(
  { dir: Type.String({ minLength: 1, description: 'Folder (relative to the topology file); records are appended to `<node>-<what>.jsonl`.' }) },
  { additionalProperties: false, description: 'Append JSON lines to a file.' },
);
export type FilesOutputOptions = Static<typeof FilesOutputOptions>;

/** An HTTP endpoint that receives each retrain request as a JSON POST. */
export const WebhookOptions = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'URL to POST the request to, e.g. `${RETRAIN_WEBHOOK}`.' }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra request headers (e.g. authorization, written as `${ENV_NAME}`).' })),
    timeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Time for one attempt.' }),
    attempts: Type.Integer({ minimum: 1, default: 3, description: 'Attempts, with backoff, before the request is logged as undelivered.' }),
  },
  { additionalProperties: false, description: 'POST each request to a webhook.' },
);
export type WebhookOptions = Static<typeof WebhookOptions>;

/** Publishes keyed records; why: one interface for files, Kafka and webhooks. */
export interface RecordPublisher {
  publish(key: string, record: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** Appends JSON lines to `<dir>/<file>`. */
export function filesPublisher(dir: string, file: string): RecordPublisher {
  let ready: Promise<unknown> | undefined;
  const target = path.join(dir, file);
  return {
    publish: async (_key, record) => {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      await appendFile(target, `${JSON.stringify(record)}\n`);
    },
    close: async () => undefined,
  };
}

/** The problems of a Kafka output block at `path` (avro needs a registry), for the `validate` of the specs that have one; pure. */
export function kafkaOutputProblems(path: readonly (string | number)[], o: KafkaOutputOptions | undefined): OptionProblem[] {
  if (o === undefined || o.format !== 'avro' || o.schemaRegistry !== undefined) return [];
  return [{ path: [...path, 'format'], message: `format avro on topic ${o.topic} needs \`schemaRegistry\``, suggestion: 'add `schemaRegistry: { url: … }` beside `format`, or set `format: json`' }];
}

/** Produces records to a topic with the Kafka sinks' idempotent producer and encoder; `schema` names the built-in Avro schema. */
export async function kafkaPublisher(
  o: KafkaOutputOptions,
  schema: string,
  ctx: { readonly topologyName: string; readonly nodeId: string; readonly baseDir: string; readonly logger: Logger },
): Promise<RecordPublisher> {
  // `kafkaOutputProblems` refused avro without a registry in validation.
  const encoder = await createOutputEncoder({ format: o.format, schema }, o.topic, o.schemaRegistry, ctx.baseDir);
  const producer = await createSinkProducer({ ...o, compression: 'none', exactlyOnce: false }, o.topic, ctx.topologyName, `${ctx.nodeId}-${schema}`, ctx.logger);
  return {
    publish: async (key, record) => {
      const value = await encoder.encode(record);
      await producer.send(o.topic, [{ key, value, headers: {} }]);
    },
    close: () => producer.close(),
  };
}

/** POSTs each record as JSON, retrying failures and 5xx answers with backoff. */
export function webhookPublisher(o: WebhookOptions): RecordPublisher {
  return {
    publish: async (_key, record) => {
      await retry(
        async () => {
          let response: Response;
          try {
            response = await fetch(o.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(o.headers ?? {}) },
              body: JSON.stringify(record),
              signal: AbortSignal.timeout(o.timeoutMs),
            });
          } catch (error) {
            throw new CentaurError('SINK_WRITE_FAILED', `webhook unreachable: ${(error as Error).message}`, { cause: error, retriable: true });
          }
          if (!response.ok) throw new CentaurError('SINK_WRITE_FAILED', `webhook answered HTTP ${response.status}`, { retriable: response.status >= 500 || response.status === 429 });
        },
        { attempts: o.attempts, baseDelayMs: 200, maxDelayMs: 5000 },
      );
    },
    close: async () => undefined,
  };
}

/** Publishes to every target; a failing one is logged and does not stop the others. */
export function fanOut(targets: readonly RecordPublisher[], logger: Logger, what: string, onError: () => void): RecordPublisher {
  return {
    publish: async (key, record) => {
      await Promise.all(
        targets.map((t) =>
          t.publish(key, record).catch((error: unknown) => {
            onError();
            logger.error({ err: error, key }, `Could not publish ${what}.`);
          }),
        ),
      );
    },
    close: async () => {
      await Promise.all(targets.map((t) => t.close().catch(() => undefined)));
    },
  };
}
