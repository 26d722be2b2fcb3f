/** kafkajs log lines on Centaur's levels: a consumer group's rebalance is news, not an error; real errors stay errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkajsLevel } from '../../src/kafka/kafkajs-client.js';

const line = (level: number, message: string, extra: Record<string, unknown> = {}) => ({ level, log: { message, timestamp: '2026-12-07T00:00:00.000Z', logger: 'kafkajs', ...extra } });

test('rebalance and coordinator-loading lines that kafkajs logs as errors (and retries) are info; other errors and warnings keep their level', () => {
  // As kafkajs 2.2.4 writes them when a member joins or leaves the group.
  assert.equal(kafkajsLevel(line(1, '[Runner] The group is rebalancing, re-joining', { groupId: 'g', memberId: 'm', error: 'The group is rebalancing, so a rejoin is needed', retryCount: 0 })), 'info');
  assert.equal(kafkajsLevel(line(1, '[Connection] Response Heartbeat(key: 12, version: 3)', { broker: '127.0.0.1:9092', clientId: 'c', error: 'The group is rebalancing, so a rejoin is needed', correlationId: 7, size: 10 })), 'info');
  assert.equal(kafkajsLevel(line(1, 'Response InitProducerId(key: 22, version: 1)', { broker: '127.0.0.1:9092', error: "The coordinator is loading and hence can't process requests for this group", correlationId: 2 })), 'info');
  assert.equal(kafkajsLevel(line(1, '[Connection] Response Metadata(key: 3, version: 6)', { error: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION' })), 'error');
  assert.equal(kafkajsLevel(line(1, '[BrokerPool] Failed to connect to seed broker, trying another broker from the list', { retryCount: 0 })), 'error');
  assert.equal(kafkajsLevel(line(2, 'KafkaJS v2.0.0 switched default partitioner')), 'warn');
  assert.equal(kafkajsLevel(line(4, '[Consumer] Starting', { groupId: 'g' })), 'debug');
});
