/**
 * A bounded Kafka run (`stopAtEnd`): `centaur run` reads the messages the topic held when it
 * started — over two partitions — writes each once, commits, and exits 0 by itself; what arrives
 * later is left for the next run, which reads exactly that and exits too; with nothing new, a run
 * exits after `endIdleMs`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { BROKERS, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';

async function lines(dir: string): Promise<{ id: string }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { id: string }[] = [];
  for (const name of names.filter((n) => n.endsWith('.jsonl'))) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) if (line.trim() !== '') out.push(JSON.parse(line) as { id: string });
  }
  return out;
}

test('stopAtEnd: a run reads what the topic held at its start, commits and exits; the next run reads only what came after', { timeout: 120_000 }, async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bounded-'));
  const topic = unique('bounded');
  await createTopics([topic], 2);
  const send = (from: number, count: number): Promise<void> =>
    produce(topic, Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, partition: (from + i) % 2, value: Buffer.from(JSON.stringify({ n: from + i })), headers: { id: `m-${from + i}` } })));
  await send(0, 40);
  const file = path.join(dir, 'bounded.yaml');
  await writeFile(
    file,
    `version: 1
name: bounded
nodes:
  in: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topic}], groupId: ${unique('bounded')}, value: { format: bytes }, stopAtEnd: true, endIdleMs: 1500 }
  out: { kind: files-sink, from: [in], dir: out }
`,
  );
  const run = async (): Promise<{ code: number; ids: string[]; ms: number }> => {
    await rm(path.join(dir, 'out'), { recursive: true, force: true });
    const started = Date.now();
    const code = await main(['run', file, '--log-level', 'silent', '--http', '127.0.0.1:0'], { out: () => undefined, err: () => undefined });
    return { code, ids: (await lines(path.join(dir, 'out'))).map((l) => l.id), ms: Date.now() - started };
  };

  const first = await run();
  assert.equal(first.code, 0);
  assert.deepEqual(new Set(first.ids), new Set(Array.from({ length: 40 }, (_, i) => `m-${i}`)));
  assert.equal(first.ids.length, 40, 'each once');

  await send(40, 10);
  const second = await run();
  assert.equal(second.code, 0);
  assert.deepEqual(second.ids.sort(), Array.from({ length: 10 }, (_, i) => `m-${40 + i}`).sort(), 'only what came after the first run');

  const third = await run();
  assert.equal(third.code, 0);
  assert.deepEqual(third.ids, []);
  t.diagnostic(`runs took ${first.ms}, ${second.ms}, ${third.ms} ms`);
});
