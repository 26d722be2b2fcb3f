/**
 * A record over the broker's message limit (1 MB by default) — a 4K camera frame relayed as is —
 * is a dead letter with its size and the limit, with either client: the run neither hangs nor
 * drops it silently, and the frames around it reach the topic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import type { DeadLetterRecord } from '../../src/formats/prediction-record.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { BROKERS, CLIENTS, consumeUntil, createTopics, requireServices, unique } from '../helpers/kafka.js';

for (const client of CLIENTS) {
  test(`${client}: a message over the limit is a dead letter naming its size and the limit; the others are delivered`, { timeout: 90_000 }, async (t) => {
    if (!(await requireServices(t))) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sink-limit-'));
    await mkdir(path.join(dir, 'frames'));
    // Five frames of 20 KB and one of 1.5 MB, in name order: the big one in the middle.
    for (let i = 0; i < 6; i += 1) await writeFile(path.join(dir, 'frames', `frame-${i}.jpg`), randomBytes(i === 3 ? 1_500_000 : 20_000));
    const topic = unique('sink-limit');
    await createTopics([topic], 1);
    const yaml = `version: 1
name: ${unique('sink-limit')}
nodes:
  frames: { kind: files-source, path: frames }
  out: { kind: kafka-sink, from: [frames], brokers: [${BROKERS}], client: ${client}, topic: ${topic}, record: input }
  failed: { kind: dead-letter, dir: failed }
`;
    const started = Date.now();
    const summary = await new Runtime(parseTopology(yaml, path.join(dir, 'limit.yaml')), { logger: createLogger('silent') }).run();
    assert.ok(Date.now() - started < 60_000, 'the run ends');
    assert.equal(summary.inputs, 6);
    assert.equal(summary.deadLetters, 1);
    const letters: DeadLetterRecord[] = [];
    for (const name of await readdir(path.join(dir, 'failed'))) {
      for (const line of (await readFile(path.join(dir, 'failed', name), 'utf8')).split('\n')) if (line !== '') letters.push(JSON.parse(line) as DeadLetterRecord);
    }
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.error.code, 'OUTPUT_TOO_LARGE');
    assert.match(letters[0]?.source.uri ?? '', /frame-3\.jpg$/);
    assert.match(letters[0]?.error.message ?? '', /a message of 15\d{5} bytes for topic .* is over the limit of 1000000/);
    const delivered = await consumeUntil(topic, (m) => m.length >= 5, { timeoutMs: 20_000, quietMs: 500 });
    assert.equal(delivered.length, 5);
    assert.ok(delivered.every((m) => m.value?.length === 20_000));
  });
}

for (const client of CLIENTS) {
  test(`${client}: messages without a key (\`key: none\`) are delivered, not held`, { timeout: 60_000 }, async (t) => {
    if (!(await requireServices(t))) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sink-keyless-'));
    await mkdir(path.join(dir, 'frames'));
    for (let i = 0; i < 3; i += 1) await writeFile(path.join(dir, 'frames', `frame-${i}.jpg`), randomBytes(1000));
    const topic = unique('sink-keyless');
    await createTopics([topic], 1);
    const yaml = `version: 1
name: ${unique('sink-keyless')}
limits: { drainTimeoutMs: 20000 }
nodes:
  frames: { kind: files-source, path: frames }
  out: { kind: kafka-sink, from: [frames], brokers: [${BROKERS}], client: ${client}, topic: ${topic}, record: input, key: none }
`;
    const summary = await new Runtime(parseTopology(yaml, path.join(dir, 'keyless.yaml')), { logger: createLogger('silent') }).run();
    assert.equal(summary.inputs, 3);
    assert.equal(summary.completed, 3, 'every message was acknowledged by the broker');
    const delivered = await consumeUntil(topic, (m) => m.length >= 3, { timeoutMs: 20_000, quietMs: 300 });
    assert.deepEqual(delivered.map((m) => m.key), [null, null, null]);
  });
}
