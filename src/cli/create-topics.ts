/**
 * `centaur create-topics`: creates the topics a topology reads and writes (those that do not
 * exist yet), with a partition count, so that a Kafka topology can be tried on a fresh cluster.
 */
import { Kafka, logLevel } from 'kafkajs';

/** Creates the missing topics and resolves with the names it created. */
export async function createTopics(brokers: string, topics: readonly string[], partitions: number): Promise<string[]> {
  const admin = new Kafka({ clientId: 'centaur-create-topics', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length > 0) await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: partitions })) });
    return missing;
  } finally {
    await admin.disconnect();
  }
}
