/**
 * TransactionCoordinator, over an in-memory transactional producer: one transaction opens for
 * concurrent sends, a commit waits for sends in flight and carries the offsets, and a failed
 * commit aborts and refuses further sends with a typed error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaOutputMessage, KafkaTransactionalProducerClient, TopicPartitionOffset } from '../../src/kafka/client.js';
import { TransactionCoordinator } from '../../src/kafka/transactions.js';
import { CentaurError } from '../../src/core/errors.js';

class FakeProducer implements KafkaTransactionalProducerClient {
  readonly log: string[] = [];
  failCommit = false;
  sendDelayMs = 0;
  async connect(): Promise<void> {
    this.log.push('connect');
  }
  async begin(): Promise<void> {
    this.log.push('begin');
  }
  async send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.sendDelayMs));
    this.log.push(`send ${topic} ${messages.length}`);
  }
  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.failCommit) throw new Error('fenced');
    this.log.push(`commit ${groupId} ${offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(',')}`);
  }
  async abort(): Promise<void> {
    this.log.push('abort');
  }
  async close(): Promise<void> {
    this.log.push('close');
  }
}

const m: KafkaOutputMessage = { key: 'k', value: Buffer.from('v'), headers: {} };

test('concurrent sends share one transaction; the commit waits for them and carries the offsets', async () => {
  const producer = new FakeProducer();
  producer.sendDelayMs = 20;
  const coordinator = new TransactionCoordinator(producer, 'tx');
  const sends = [coordinator.send('out', [m]), coordinator.send('out', [m, m])];
  await coordinator.commit('g', [{ topic: 'in', partition: 0, offset: 42 }]);
  await Promise.all(sends);
  assert.deepEqual(producer.log, ['begin', 'send out 1', 'send out 2', 'commit g in-0@42']);
});

test('nothing sent and nothing consumed: no transaction at all', async () => {
  const producer = new FakeProducer();
  await new TransactionCoordinator(producer, 'tx').commit('g', []);
  assert.deepEqual(producer.log, []);
});

test('offsets alone still commit (inputs that all became dead letters elsewhere)', async () => {
  const producer = new FakeProducer();
  await new TransactionCoordinator(producer, 'tx').commit('g', [{ topic: 'in', partition: 1, offset: 7 }]);
  assert.deepEqual(producer.log, ['begin', 'commit g in-1@7']);
});

test('a failed commit aborts, throws KAFKA_TRANSACTION_FAILED, and later sends are refused', async () => {
  const producer = new FakeProducer();
  producer.failCommit = true;
  const coordinator = new TransactionCoordinator(producer, 'tx');
  await coordinator.send('out', [m]);
  await assert.rejects(coordinator.commit('g', []), (e: unknown) => e instanceof CentaurError && e.code === 'KAFKA_TRANSACTION_FAILED');
  assert.equal(producer.log.at(-1), 'abort');
  await assert.rejects(coordinator.send('out', [m]), (e: unknown) => e instanceof CentaurError && e.code === 'KAFKA_TRANSACTION_FAILED');
});
