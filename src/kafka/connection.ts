/**
 * How Kafka components reach a cluster: brokers, client library, TLS and SASL. One options schema
 * shared by `kafka-source`, `kafka-sink` and `kafka-dead-letter`, and one place that picks the
 * client library.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { CentaurError } from '../core/errors.js';
import { KAFKA_CLIENTS } from './client.js';

/** The connection options every Kafka component has (spread into its own options schema). */
export const ConnectionOptions = {
  brokers: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'Bootstrap brokers as `host:port`, e.g. `["${KAFKA_BROKERS}"]`; a comma-separated entry is split.',
  }),
  client: Type.Union(KAFKA_CLIENTS.map((c) => Type.Literal(c)), {
    default: 'confluent',
    description:
      'Client library: `confluent` (@confluentinc/kafka-javascript, Confluent’s supported client on librdkafka 2.x, every codec; `npm ci` builds it from source), `node-rdkafka` (librdkafka, community-kept) or `kafkajs` (pure JavaScript, unmaintained; reads uncompressed and gzip topics only). `centaur bench clients` compares them.',
  }),
  clientId: Type.Optional(Type.String({ minLength: 1, description: 'Client id sent to the brokers (default `centaur-<topology>-<node>`).' })),
  ssl: Type.Boolean({ default: false, description: 'Connect with TLS (the brokers’ certificates are checked, host name included).' }),
  caFile: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'With `ssl`: a PEM file of the certificate authority that signed the brokers’ certificates (a private CA); default: the system’s trusted CAs.',
    }),
  ),
  sasl: Type.Optional(
    Type.Object(
      {
        mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')], { description: 'SASL mechanism.' }),
        username: Type.String({ description: 'User name.' }),
        password: Type.String({ description: 'Password; write it as `${ENV_NAME}` so it stays out of the file.' }),
      },
      { additionalProperties: false, description: 'SASL authentication.' },
    ),
  ),
  connectionTimeoutMs: Type.Integer({ minimum: 100, default: 3000, description: 'Time to establish a broker connection.' }),
  requestTimeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Time for a broker to answer a request.' }),
};

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const ConnectionObject = Type.Object(ConnectionOptions);

/** The connection options as a component's options hold them (defaults filled in). */
export type ConnectionOptionValues = Static<typeof ConnectionObject>;

/** Connection options after defaults, as every Kafka component holds them. */
export type ConnectionSettings = Omit<ConnectionOptionValues, 'clientId'> & { readonly clientId: string };

/** Normalises the options of a component into connection settings (splitting comma lists). */
export function connectionSettings(options: ConnectionOptionValues, topologyName: string, nodeId: string): ConnectionSettings {
  return {
    ...options,
    brokers: options.brokers.flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b.length > 0),
    clientId: options.clientId ?? `centaur-${topologyName}-${nodeId}`,
  };
}

/**
 * The error of a failed first connection of node `nodeId`: a refusal that retrying cannot mend
 * (wrong credentials or mechanism, an untrusted certificate) is a configuration error; anything
 * else is KAFKA_UNAVAILABLE. Why: the first is fixed in the topology, the second waits for the brokers.
 */
export function connectError(nodeId: string, error: unknown): CentaurError {
  const message = (error as Error).message;
  const refused =
    (error instanceof CentaurError && error.code === 'CONFIG_INVALID') ||
    (error as { name?: string }).name === 'KafkaJSSASLAuthenticationError' ||
    /certificate|SASL authentication/i.test(message);
  return refused
    ? new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: ${message}; check the credentials, \`sasl.mechanism\`, \`ssl\` and \`caFile\``, { cause: error })
    : new CentaurError('KAFKA_UNAVAILABLE', `node \`${nodeId}\`: cannot connect to Kafka: ${message}`, { cause: error });
}
