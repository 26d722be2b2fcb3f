/** Creates the Kafka client factory of the library a component chose, loading that library only then. */
import type { Logger } from '../core/logger.js';
import type { KafkaClientFactory } from './client.js';
import type { ConnectionSettings } from './connection.js';

/** Creates the client factory of the chosen library, loading it only now. */
export async function createClientFactory(settings: ConnectionSettings, logger: Logger): Promise<KafkaClientFactory> {
  if (settings.client === 'kafkajs') {
    const { createKafkajsFactory } = await import('./kafkajs-client.js');
    return createKafkajsFactory(settings, logger);
  }
  const { createRdkafkaFactory } = await import('./rdkafka-client.js');
  return createRdkafkaFactory(settings, logger, settings.client);
}
