/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) against a schema
 * registry with the Confluent REST API. Schemas are fetched by id and cached; output schemas are
 * registered under a subject (TopicNameStrategy by default: `<topic>-value`). Failures become
 * typed errors: bad bytes and unknown schema ids are data errors (dead letters), an unreachable
 * registry is an infrastructure error (retried).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { CentaurError } from '../core/errors.js';
import { checkAvroBody } from './avro-bounds.js';

/** Options naming the registry, shared by every component that reads or writes Avro. */
export const SchemaRegistryOptions = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'Base URL of the Confluent-compatible REST API, e.g. `${SCHEMA_REGISTRY_URL}`.' }),
    username: Type.Optional(Type.String({ description: 'Basic-auth user.' })),
    password: Type.Optional(Type.String({ description: 'Basic-auth password; write it as `${ENV_NAME}`.' })),
  },
  { additionalProperties: false, description: 'The schema registry (needed for `format: avro`).' },
);
export type SchemaRegistryOptions = Static<typeof SchemaRegistryOptions>;

/** The Avro schemas that ship with Centaur, by name (files in `schemas/avro/`). */
export const BUILTIN_SCHEMAS = ['camera-frame', 'image-upload', 'prediction', 'embedding', 'dead-letter', 'drift-report', 'retrain-request', 'label-request', 'label', 'training-run'] as const;
export type BuiltinSchema = (typeof BUILTIN_SCHEMAS)[number];

const AVRO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'avro');

/** Reads a built-in schema, or a `.avsc` file given by path. */
export async function readAvroSchema(nameOrPath: string, baseDir: string): Promise<string> {
  const file = (BUILTIN_SCHEMAS as readonly string[]).includes(nameOrPath) ? path.join(AVRO_DIR, `${nameOrPath}.avsc`) : path.resolve(baseDir, nameOrPath);
  try {
    const text = await readFile(file, 'utf8');
    JSON.parse(text);
    return text;
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `cannot read Avro schema ${file}: ${(error as Error).message}`, { cause: error });
  }
}

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** One registry connection with its caches; encodes and decodes Confluent-framed Avro. */
export class AvroRegistryCodec {
  private constructor(private readonly registry: SchemaRegistry, private readonly url: string) {}

  /** Connects lazily: the registry library loads now, the first request goes out on first use. */
  static async create(options: SchemaRegistryOptions): Promise<AvroRegistryCodec> {
    const { SchemaRegistry: Registry } = await import('@kafkajs/confluent-schema-registry');
    const auth = options.username === undefined ? undefined : { username: options.username, password: options.password ?? '' };
    const registry = new Registry({ host: options.url.replace(/\/+$/, ''), ...(auth === undefined ? {} : { auth }), retry: { retries: 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 2 } });
    return new AvroRegistryCodec(registry, options.url);
  }

  /** Decodes one framed value; throws a data error for bad framing, unknown ids or a bad body. */
  async decode(bytes: Buffer): Promise<unknown> {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) {
      const seen = bytes.length === 0 ? 'an empty value' : `${bytes.length} bytes starting with 0x${bytes.subarray(0, 1).toString('hex')}`;
      throw new CentaurError('KAFKA_VALUE_INVALID', `not Confluent-framed Avro (magic byte 0 and a 4-byte schema id): got ${seen}`);
    }
    const id = bytes.readInt32BE(1);
    let schema: unknown;
    try {
      schema = await this.registry.getSchema(id);
    } catch (error) {
      throw this.registryError(error, `schema id ${id}`);
    }
    try {
      // avsc trusts array and map counts: a few bytes claiming 2^60 entries would block the event loop.
      checkAvroBody(schema, bytes.subarray(HEADER_BYTES));
      return await this.registry.decode(bytes);
    } catch (error) {
      throw new CentaurError('AVRO_DECODE_FAILED', `the Avro body does not match schema id ${id}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Registers a schema under a subject (idempotent) and returns its id. */
  async register(subject: string, schema: string): Promise<number> {
    try {
      const { SchemaType } = await import('@kafkajs/confluent-schema-registry');
      const { id } = await this.registry.register({ type: SchemaType.AVRO, schema }, { subject });
      return id;
    } catch (error) {
      throw this.registryError(error, `subject ${subject}`);
    }
  }

  /** Encodes a record with a registered schema id; a record that does not fit is a data error. */
  async encode(id: number, record: unknown): Promise<Buffer> {
    try {
      return await this.registry.encode(id, record);
    } catch (error) {
      throw new CentaurError('OUTPUT_ENCODE_FAILED', `the record does not fit schema id ${id}: ${(error as Error).message}`, { cause: error });
    }
  }

  private registryError(error: unknown, what: string): CentaurError {
    const status = (error as { status?: number }).status;
    const message = (error as Error).message;
    if (status === 404) return new CentaurError('SCHEMA_NOT_FOUND', `the schema registry has no ${what}`, { cause: error });
    if (status === 409 || status === 422) return new CentaurError('SCHEMA_INCOMPATIBLE', `the schema registry refused ${what}: ${message}`, { cause: error });
    return new CentaurError('SCHEMA_REGISTRY_UNAVAILABLE', `the schema registry at ${this.url} failed on ${what}: ${message}`, { cause: error });
  }
}
