/**
 * `centaur run` processes against the real broker: two instances in one group split the
 * partitions and hand them over when one stops; `kill -9` mid-stream loses nothing
 * (at-least-once), and with `exactlyOnce` a read_committed consumer sees each prediction once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateImages } from '../../src/demo/generate-images.js';
import { lastAssignment, startCentaur } from '../helpers/centaur-process.js';
import { BROKERS, CLIENTS, consumeUntil, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import type { Consumed, OutMessage } from '../helpers/kafka.js';

const MODEL = path.resolve('models/demo');

/** `count` frames as raw JPEG values with `id` and `label` headers, spread over `partitions`. */
async function frames(count: number, partitions: number, prefix: string): Promise<OutMessage[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-frames-'));
  await generateImages({ outDir: dir, count, seed: 7_100_000 + count, width: 96, height: 72, quality: 80 });
  const files: { file: string; label: string }[] = [];
  for (const folder of ['horses', 'humans']) {
    for (const name of (await readdir(path.join(dir, folder))).sort()) files.push({ file: path.join(dir, folder, name), label: folder === 'horses' ? 'horse' : 'human' });
  }
  return Promise.all(
    files.map(async (f, i) => ({ key: `cam-${i % 8}`, partition: i % partitions, value: await readFile(f.file), headers: { id: `${prefix}-${i}`, label: f.label } })),
  );
}

function topology(t: { input: string; output: string; group: string; client: string; exactlyOnce?: boolean }): string {
  const eos = t.exactlyOnce === true;
  return `version: 1
name: ${unique('procs')}
limits: { maxInFlight: 32, commitIntervalMs: 50 }
nodes:
  frames:
    kind: kafka-source
    brokers: [${BROKERS}]
    client: ${t.client}
    topics: [${t.input}]
    groupId: ${t.group}
    sessionTimeoutMs: 6000
    value: { format: bytes }
    exactlyOnce: ${eos}
    transactionIntervalMs: 200
  decode: { kind: decode-image, from: [frames], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: false }
  out:
    kind: kafka-sink
    from: [infer]
    brokers: [${BROKERS}]
    client: ${t.client}
    topic: ${t.output}
    value: { format: json }
    exactlyOnce: ${eos}
`;
}

async function writeTopology(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-procs-'));
  const file = path.join(dir, 'topology.yaml');
  await writeFile(file, text);
  return file;
}

function ids(messages: readonly Consumed[]): string[] {
  return messages.map((m) => (JSON.parse((m.value as Buffer).toString()) as { id: string }).id);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const client of CLIENTS) test(`${client}: two instances in one group split the partitions; when one stops the other takes over; every input is predicted`, async (t) => {
  if (!(await requireServices(t))) return;
  const input = unique('scale-in');
  const output = unique('scale-out');
  await createTopics([input], 4);
  await createTopics([output], 1);
  const file = await writeTopology(topology({ input, output, group: unique('scale'), client }));

  const a = startCentaur(file);
  const b = startCentaur(file);
  try {
    await until(() => {
      const pa = lastAssignment(a) ?? [];
      const pb = lastAssignment(b) ?? [];
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && pa.every((p) => !pb.includes(p));
    }, 60000, 'both instances to share the 4 partitions');

    const first = await frames(40, 4, 'first');
    await produce(input, first);
    const seen1 = await consumeUntil(output, (m) => new Set(ids(m)).size >= 40, { timeoutMs: 60000 });
    assert.equal(new Set(ids(seen1)).size, 40);

    const assignmentsBefore = a.logs.filter((l) => l.msg === 'Partitions assigned.').length;
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, 'a stopped instance drains and exits 0');
    await until(() => a.logs.filter((l) => l.msg === 'Partitions assigned.').length > assignmentsBefore && lastAssignment(a)?.length === 4, 60000, 'the survivor to take all 4 partitions');

    const second = await frames(40, 4, 'second');
    await produce(input, second);
    const seen = await consumeUntil(output, (m) => new Set(ids(m)).size >= 80, { timeoutMs: 60000 });
    const unique80 = new Set(ids(seen));
    for (const m of [...first, ...second]) assert.ok(unique80.has(String((m.headers as Record<string, string>).id)), `prediction for ${String((m.headers as Record<string, string>).id)}`);
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }
});

for (const client of CLIENTS) for (const exactlyOnce of [false, true]) {
  test(`${client}: kill -9 mid-stream and restart: nothing lost${exactlyOnce ? ', nothing duplicated for read_committed consumers (exactly-once)' : ' (at-least-once)'}`, async (t) => {
    if (!(await requireServices(t))) return;
    const input = unique('crash-in');
    const output = unique('crash-out');
    await createTopics([input], 2);
    await createTopics([output], 1);
    const file = await writeTopology(topology({ input, output, group: unique('crash'), client, exactlyOnce }));
    const total = 160;
    const messages = await frames(total, 2, 'frame');
    await produce(input, messages);

    const first = startCentaur(file);
    await consumeUntil(output, (m) => m.length >= 40, { timeoutMs: 60000 });
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');

    const second = startCentaur(file);
    try {
      const seen = await consumeUntil(output, (m) => new Set(ids(m)).size >= total, { timeoutMs: 90000, quietMs: 1000 });
      const all = ids(seen);
      const distinct = new Set(all);
      for (const m of messages) assert.ok(distinct.has(String((m.headers as Record<string, string>).id)), 'every input has a prediction');
      if (exactlyOnce) {
        assert.equal(all.length, total, `read_committed sees each prediction once (saw ${all.length} for ${total} inputs)`);
      } else {
        t.diagnostic(`at-least-once: ${all.length - total} predictions repeated after the crash`);
        assert.ok(all.length >= total);
      }
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });
}
