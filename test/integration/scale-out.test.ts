/**
 * Scale-out: `centaur run` instances in one consumer group over a 6-partition topic, fed at a paced
 * rate with a tiny model (CPU is not the limit). Three instances split the partitions; one is
 * killed with SIGKILL and a fourth joins mid-stream. Every input is predicted; inputs are repeated
 * only on the killed member's partitions (its uncommitted window); the killed member's partitions
 * are served again within the group's session timeout plus a rebalance; the member that joins is
 * given partitions within seconds. The figures are printed for the capacity plan (docs/CAPACITY.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { generateImages } from '../../src/demo/generate-images.js';
import { lastAssignment, startCentaur } from '../helpers/centaur-process.js';
import type { CentaurProcess } from '../helpers/centaur-process.js';
import { BROKERS, createTopics, kafka, requireServices, unique } from '../helpers/kafka.js';

const PARTITIONS = 6;
const RATE = 120;
const SECONDS = 30;
const KILL_AT_S = 8;
const JOIN_AT_S = 16;
/** kafka-source's default session timeout (the topology leaves it unset). */
const SESSION_TIMEOUT_MS = 10_000;
const MODEL = path.resolve('test/fixtures/tiny-model');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function topologyYaml(input: string, output: string, group: string): string {
  return `version: 1
name: ${unique('scale')}
limits: { maxInFlight: 64, commitIntervalMs: 100 }
nodes:
  frames: { kind: kafka-source, brokers: [${BROKERS}], topics: [${input}], groupId: ${group}, value: { format: bytes } }
  decode: { kind: decode-image, from: [frames], size: [4, 4] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: false }
  out: { kind: kafka-sink, from: [infer], brokers: [${BROKERS}], topic: ${output}, value: { format: json } }
`;
}

/** The partition number at the end of `topic-3` or `3`. */
const partitionNumber = (name: string): number => Number(/(\d+)$/.exec(name)?.[1] ?? Number.NaN);

interface Output {
  id: string;
  partition: number;
  /** When the instance produced it (the record's CreateTime), ms since the epoch. */
  at: number;
}

test('three instances split 6 partitions; one killed and one added mid-stream: every input predicted, repeats only on the killed partitions, its partitions served again within the session timeout', async (t) => {
  if (!(await requireServices(t))) return;
  const input = unique('scale-in');
  const output = unique('scale-out');
  await createTopics([input], PARTITIONS);
  await createTopics([output], 1);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-scale-'));
  const file = path.join(dir, 'topology.yaml');
  await writeFile(file, topologyYaml(input, output, unique('scale-group')));
  await generateImages({ outDir: path.join(dir, 'images'), count: 64, seed: 4_400, width: 32, height: 24, quality: 80 });
  const images: Buffer[] = [];
  for (const folder of ['horses', 'humans']) for (const f of (await readdir(path.join(dir, 'images', folder))).sort()) images.push(await readFile(path.join(dir, 'images', folder, f)));

  // The reader: every prediction with the time it was produced.
  const outputs: Output[] = [];
  const reader = kafka.consumer({ groupId: unique('scale-reader'), maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topics: [output], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      const record = JSON.parse(message.value?.toString('utf8') ?? '{}') as { id: string; source: { partition: string } };
      outputs.push({ id: record.id, partition: partitionNumber(record.source.partition), at: Number(message.timestamp) });
    },
  });

  const members: CentaurProcess[] = [startCentaur(file), startCentaur(file), startCentaur(file)];
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const sets = members.map((m) => lastAssignment(m) ?? []);
      if (sets.every((s) => s.length > 0) && new Set(sets.flat()).size === PARTITIONS && sets.flat().length === PARTITIONS) break;
      if (Date.now() > deadline) throw new Error(`the three instances did not split the partitions: ${JSON.stringify(sets)}`);
      await sleep(100);
    }

    // Paced input: RATE frames/s round-robin over the partitions, for SECONDS.
    let sent = 0;
    let killedAt = 0;
    let killed: number[] = [];
    let joinedAt = 0;
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * RATE);
      const batch = [];
      for (; sent < due; sent += 1) batch.push({ partition: sent % PARTITIONS, key: `cam-${sent % 12}`, value: images[sent % images.length] ?? null, headers: { id: `frame-${sent}` } });
      if (batch.length > 0) await producer.send({ topic: input, acks: -1, messages: batch });
      const elapsed = (Date.now() - started) / 1000;
      if (killedAt === 0 && elapsed >= KILL_AT_S) {
        const victim = members[2] as CentaurProcess;
        killed = (lastAssignment(victim) ?? []).map(partitionNumber);
        victim.child.kill('SIGKILL');
        killedAt = Date.now();
      }
      if (joinedAt === 0 && elapsed >= JOIN_AT_S) {
        members.push(startCentaur(file));
        joinedAt = Date.now();
      }
      await sleep(20);
    }
    const total = sent;

    const waitUntil = Date.now() + 120_000;
    while (new Set(outputs.map((o) => o.id)).size < total && Date.now() < waitUntil) await sleep(200);
    await sleep(2000);
    const distinct = new Set(outputs.map((o) => o.id));
    const missing = Array.from({ length: total }, (_, i) => `frame-${i}`).filter((id) => !distinct.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${total} inputs never predicted`);

    const seen = new Set<string>();
    const repeats: Output[] = [];
    for (const o of outputs) {
      if (seen.has(o.id)) repeats.push(o);
      seen.add(o.id);
    }
    const repeatPartitions = [...new Set(repeats.map((r) => r.partition))].sort();
    // Per killed partition: from the kill to the next prediction of its input.
    const servedAgain = killed.map((p) => Math.min(...outputs.filter((o) => o.partition === p && o.at > killedAt).map((o) => o.at)) - killedAt);
    const joiner = members[3] as CentaurProcess;
    const joinAssigned = joiner.logs.find((l) => l.msg === 'Partitions assigned.' && Array.isArray(l.partitions) && l.partitions.length > 0);
    const joinSeconds = joinAssigned === undefined ? Number.NaN : (Number(joinAssigned.time) - joinedAt) / 1000;
    const figures = {
      inputs: total,
      predictions: outputs.length,
      repeated: repeats.length,
      repeatPartitions,
      killedPartitions: killed,
      servedAgainSeconds: servedAgain.map((ms) => Number((ms / 1000).toFixed(1))),
      joinerAssignedAfterSeconds: Number(joinSeconds.toFixed(1)),
      joinerPartitions: lastAssignment(joiner)?.map(partitionNumber),
    };
    t.diagnostic(`scale-out: ${JSON.stringify(figures)}`);
    assert.ok(killed.length > 0, 'the killed member had partitions');
    assert.ok(
      repeatPartitions.every((p) => killed.includes(p)),
      `repeats only on the killed member's partitions: ${JSON.stringify(figures)}`,
    );
    assert.ok(
      servedAgain.every((ms) => Number.isFinite(ms) && ms < SESSION_TIMEOUT_MS + 10_000),
      `the killed member's partitions are served again within the session timeout and a rebalance: ${JSON.stringify(figures)}`,
    );
    assert.ok(Number.isFinite(joinSeconds) && joinSeconds < 30, `the new member is given partitions: ${JSON.stringify(figures)}`);
  } finally {
    await producer.disconnect();
    for (const m of members) m.child.kill('SIGTERM');
    await Promise.all(members.map((m) => m.exited));
    await reader.disconnect();
  }
});
