/**
 * Exactly-once Kafka → Kafka: one transactional producer per run, made by the exactly-once
 * `kafka-source` and shared with the sinks that join it through the run's shared resources. Outputs are sent inside the open
 * transaction; the source periodically drains its inputs and commits the transaction together
 * with the consumed offsets, so a `read_committed` consumer sees each input's outputs once.
 */
import type { ResourceKey, SharedResources } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import type { KafkaOutputMessage, KafkaTransactionalProducerClient, TopicPartitionOffset } from './client.js';

export class TransactionCoordinator {
  private opening: Promise<void> | undefined;
  private readonly sending = new Set<Promise<void>>();
  private failed: Error | undefined;

  constructor(
    private readonly producer: KafkaTransactionalProducerClient,
    readonly transactionalId: string,
  ) {}

  /** Connects the producer (fencing any earlier producer with the same transactional id). */
  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Sends inside the open transaction (opening one if needed); resolves when the broker has them. */
  async send(topic: string, messages: readonly KafkaOutputMessage[]): Promise<void> {
    if (this.failed !== undefined) throw new CentaurError('KAFKA_TRANSACTION_FAILED', `the transaction failed earlier: ${this.failed.message}`, { cause: this.failed });
    const sent = this.ensureOpen().then(() => this.producer.send(topic, messages));
    this.sending.add(sent);
    try {
      await sent;
    } finally {
      this.sending.delete(sent);
    }
  }

  /** Commits what was sent together with the group's positions; aborts and throws on failure. */
  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await Promise.allSettled([...this.sending]);
    if (this.opening === undefined && offsets.length === 0) return;
    try {
      await this.ensureOpen();
      await this.producer.commit(groupId, offsets);
      this.opening = undefined;
    } catch (error) {
      this.failed = error as Error;
      this.opening = undefined;
      await this.producer.abort().catch(() => undefined);
      throw new CentaurError('KAFKA_TRANSACTION_FAILED', `cannot commit the transaction of ${this.transactionalId}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Aborts the open transaction (its outputs are never seen by read_committed consumers). */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.sending]);
    this.opening = undefined;
    await this.producer.abort();
  }

  close(): Promise<void> {
    return this.producer.close();
  }

  private ensureOpen(): Promise<void> {
    this.opening ??= this.producer.begin();
    return this.opening;
  }
}

/** The run's transaction, provided by its exactly-once `kafka-source` and joined by exactly-once Kafka sinks. */
export const KAFKA_TRANSACTION: ResourceKey<TransactionCoordinator> = { name: 'kafka-transaction' };

/** The transaction an exactly-once sink joins; a config error if the run has none. */
export function transactionOf(shared: SharedResources | undefined, nodeId: string): TransactionCoordinator {
  const coordinator = shared?.take(KAFKA_TRANSACTION);
  if (coordinator === undefined) throw new CentaurError('CONFIG_INVALID', exactlyOnceSinkProblem(nodeId));
  return coordinator;
}

/** Why an exactly-once sink cannot run: no exactly-once source in its topology. */
export function exactlyOnceSinkProblem(nodeId: string): string {
  return `node \`${nodeId}\`: \`exactlyOnce: true\` needs a \`kafka-source\` with \`exactlyOnce: true\` in the same topology`;
}
