/**
 * Consumer lag against the real broker, with both client libraries: a source held back by the
 * in-flight limit reports how far behind it is, and the figure keeps growing while it fetches
 * nothing (the brokers are asked for the high watermarks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { allComponents } from '../../src/topology/registry.js';
import { BROKERS, CLIENTS, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import { fakeComponents, sleep, useProbe } from '../helpers/fake-components.js';

async function lagOf(runtime: Runtime, topic: string): Promise<number | undefined> {
  const { body } = await runtime.metrics.render(false);
  const line = body.split('\n').find((l) => l.startsWith('centaur_kafka_consumer_lag{') && l.includes(`topic="${topic}"`) && l.includes('partition="0"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function waitForLag(runtime: Runtime, topic: string, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < deadline) {
    last = await lagOf(runtime, topic);
    if (last === expected) return;
    await sleep(200);
  }
  assert.fail(`lag of ${topic}/0 is ${String(last)}, expected ${expected}`);
}

for (const client of CLIENTS) {
  test(`${client}: consumer lag is reported while the source is held back, and grows with new messages`, async (t) => {
    if (!(await requireServices(t))) return;
    const topic = unique('lag');
    await createTopics([topic], 1);
    await produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k-${i}`, value: JSON.stringify({ id: `m-${i}`, uri: `file:///m/${i}.jpg` }) })));
    const probe = useProbe(topic);
    const yaml = `version: 1
name: ${unique('lag')}
deadLetter: dlq
limits: { maxInFlight: 10, commitIntervalMs: 50 }
nodes:
  in:
    kind: kafka-source
    brokers: [${BROKERS}]
    client: ${client}
    topics: [${topic}]
    groupId: ${unique('lag')}
    value: { format: json }
  out: { kind: probe-sink, from: [in], probe: ${topic}, hold: true }
  dlq: { kind: probe-sink, probe: ${topic} }
`;
    const runtime = new Runtime(parseTopology(yaml, 'lag.yaml', { components: [...allComponents, ...fakeComponents] }), { logger: pino({ level: 'silent' }) });
    const done = runtime.run();
    try {
      // Ten inputs in flight, held by the sink: the other 90 wait behind the in-flight limit.
      await waitForLag(runtime, topic, 90, 30000);
      await produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `n-${i}`, value: JSON.stringify({ id: `n-${i}`, uri: `file:///n/${i}.jpg` }) })));
      await waitForLag(runtime, topic, 140, 15000);
    } finally {
      runtime.stop();
      // Let held writes go so the drain completes.
      const release = setInterval(() => probe.held.splice(0).forEach((resolve) => resolve()), 10);
      await done.catch(() => undefined);
      clearInterval(release);
    }
  });
}
