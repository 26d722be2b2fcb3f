/**
 * One client's drains of the clients scenario, in a process of its own: the two librdkafka clients
 * share the library's file name (librdkafka.so.1), so in one process the first one loaded would
 * serve both. Started by clients-scenario.ts with `fork`; gets its task over IPC, answers with the
 * rates and exits.
 */
import { createLogger } from '../core/logger.js';
import { librdkafkaVersion } from '../kafka/rdkafka-client.js';
import { BenchKafka } from './bench-kafka.js';
import { centaurDrain } from './kafka-scenario.js';
import type { KafkaBenchOptions } from './kafka-scenario.js';

/** What the parent asks of the child. */
export interface ClientDrainTask {
  readonly options: Omit<KafkaBenchOptions, 'logger' | 'onProgress'>;
  readonly input: string;
  readonly count: number;
  readonly tag: string;
  readonly work: string;
}

/** What the child answers: images/s of the pipeline, frames/s of the relay, its peak RSS, the librdkafka it ran on. */
export type ClientDrainAnswer = { readonly pipeline: number; readonly relay: number; readonly peakRssBytes: number; readonly librdkafka: string | null } | { readonly error: string };

/** Runs the task: the pipeline drain, then the relay drain, on the same input topic. */
async function drain(task: ClientDrainTask): Promise<ClientDrainAnswer> {
  const client = task.options.client;
  const librdkafka = client === 'kafkajs' ? null : librdkafkaVersion(client);
  const o: KafkaBenchOptions = { ...task.options, logger: createLogger('warn') };
  const kafka = await BenchKafka.connect(o.brokers, o.format, o.registry);
  try {
    const pipeline = await centaurDrain(kafka, task.input, task.count, `${task.tag}-p`, task.work, o, 'pipeline');
    const relay = await centaurDrain(kafka, task.input, task.count, `${task.tag}-r`, task.work, o, 'relay');
    return { pipeline: pipeline.rate, relay: relay.rate, peakRssBytes: Math.max(pipeline.peakRssBytes, relay.peakRssBytes), librdkafka };
  } finally {
    await kafka.close().catch(() => undefined);
  }
}

process.once('message', (task: ClientDrainTask) => {
  drain(task).then(
    (answer) => process.send?.(answer, () => process.exit(0)),
    (error: unknown) => process.send?.({ error: (error as Error).message }, () => process.exit(1)),
  );
});
