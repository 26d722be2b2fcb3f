/**
 * `kinesis-source` against a real Kinesis API (kinesalite): images put on a two-shard stream go
 * through decode-image → infer (the demo model) → files-sink, every record once; a restart after
 * a clean stop reads nothing twice (the checkpoint is honoured); after a crash (SIGKILL of a
 * `centaur run` process whose checkpoint was not written yet) the records after the last written
 * checkpoint are read again. And a split shard: the parent's records first, then the children's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { generateImages } from '../../src/demo/generate-images.js';
import { createLogger } from '../../src/core/logger.js';
import type { Logger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';
import { parseTopology } from '../../src/topology/load.js';
import { startCentaur } from '../helpers/centaur-process.js';
import { createStream, deleteStream, KINESIS_ENDPOINT, listShards, putRecords, requireKinesis, splitShard, uniqueStream } from '../helpers/kinesis.js';
import type { PutResult } from '../helpers/kinesis.js';
import { readJsonLines } from '../helpers/jsonl-files.js';

const MODEL = path.resolve('models/demo');

/** JPEG bytes of `count` generated images, and their labels. */
async function images(count: number, seed: number): Promise<{ bytes: Buffer; label: string }[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kinesis-images-'));
  await generateImages({ outDir: dir, count, seed, width: 96, height: 72, quality: 80 });
  const out: { bytes: Buffer; label: string }[] = [];
  for (const folder of ['horses', 'humans']) {
    for (const name of (await readdir(path.join(dir, folder))).sort()) out.push({ bytes: await readFile(path.join(dir, folder, name)), label: folder });
  }
  await rm(dir, { recursive: true, force: true });
  return out;
}

/** Puts the images as records (the image bytes themselves), spread over the shards by partition key. */
async function put(stream: string, batch: readonly { bytes: Buffer }[], tag: string): Promise<PutResult[]> {
  return putRecords(
    stream,
    batch.map((img, i) => ({ data: img.bytes, partitionKey: `${tag}-${i}` })),
  );
}

function idOf(stream: string, r: PutResult): string {
  return `${stream}-${r.shardId}-${r.sequenceNumber}`;
}

function topology(stream: string, out: string, checkpoint: string, checkpointIntervalMs: number): string {
  return `version: 1
name: kinesis-source-test
limits: { commitIntervalMs: 50 }
nodes:
  stream:
    kind: kinesis-source
    streamName: ${stream}
    endpoint: ${KINESIS_ENDPOINT}
    value: { format: bytes }
    pollIntervalMs: 100
    shardSyncIntervalMs: 500
    checkpoint: { uri: ${JSON.stringify(checkpoint)}, intervalMs: ${checkpointIntervalMs} }
  decode: { kind: decode-image, from: [stream], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(out)} }
`;
}

interface OutRecord {
  readonly id: string;
  readonly source: { readonly partition: string; readonly offset: number };
}

/** Every record the files sink wrote under `dir`, in file order. */
async function outputs(dir: string): Promise<OutRecord[]> {
  return readJsonLines<OutRecord>(dir, '');
}

async function waitForOutputs(dir: string, count: number, timeoutMs = 120000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await outputs(dir)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} outputs in ${dir} after ${timeoutMs} ms: ${(await outputs(dir)).length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs the topology in process until `count` outputs are written, then stops it cleanly. */
async function runUntil(yaml: string, dir: string, out: string, count: number, logger?: Logger): Promise<{ records: OutRecord[]; summary: RunSummary }> {
  const file = path.join(dir, 'topology.yaml');
  await writeFile(file, yaml);
  const runtime = new Runtime(parseTopology(yaml, file), { logger: logger ?? createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
  const running = runtime.run();
  try {
    await Promise.race([waitForOutputs(out, count), running.then(() => assert.fail('the run ended on its own'))]);
  } finally {
    runtime.stop();
  }
  const summary = await running;
  return { records: await outputs(out), summary };
}

function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

async function readCheckpoint(file: string): Promise<{ stream: string; shards: Record<string, { sequenceNumber?: string; finished?: boolean }> }> {
  return JSON.parse(await readFile(file, 'utf8')) as { stream: string; shards: Record<string, { sequenceNumber?: string; finished?: boolean }> };
}

/** The last sequence number put on each shard. */
function lastPerShard(results: readonly PutResult[]): Record<string, string> {
  const last: Record<string, string> = {};
  for (const r of results) {
    const seen = last[r.shardId];
    if (seen === undefined || BigInt(r.sequenceNumber) > BigInt(seen)) last[r.shardId] = r.sequenceNumber;
  }
  return last;
}

test('two shards: every record once; a clean restart reads nothing twice; a crash re-reads what was not checkpointed', async (t) => {
  if (!(await requireKinesis(t))) return;
  const stream = uniqueStream('centaur-images');
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kinesis-'));
  const checkpoint = path.join(dir, 'checkpoint.json');
  await createStream(stream, 2);
  t.after(async () => {
    await deleteStream(stream);
    await rm(dir, { recursive: true, force: true });
  });
  const all = await images(16, 8_100_001);

  // 1. Ten records over both shards: each comes out once; the checkpoint names each shard's last record.
  const first = await put(stream, all.slice(0, 10), 'a');
  assert.equal(new Set(first.map((r) => r.shardId)).size, 2, 'the records are spread over both shards');
  const run1 = await runUntil(topology(stream, path.join(dir, 'out-1'), checkpoint, 100), dir, path.join(dir, 'out-1'), first.length);
  assert.deepEqual(sorted(run1.records.map((r) => r.id)), sorted(first.map((r) => idOf(stream, r))), 'every record once');
  assert.equal(run1.summary.inputs, first.length);
  assert.equal(run1.summary.predictions, first.length);
  for (const r of run1.records) assert.match(r.source.partition, /^shardId-\d+$/, 'one partition per shard');
  const saved1 = await readCheckpoint(checkpoint);
  assert.equal(saved1.stream, stream);
  assert.deepEqual(
    Object.fromEntries(Object.entries(saved1.shards).map(([id, e]) => [id, e.sequenceNumber])),
    lastPerShard(first),
    'the checkpoint holds each shard’s last completed sequence number',
  );

  // 2. A clean restart: only the new records come out.
  const second = await put(stream, all.slice(10, 13), 'b');
  const run2 = await runUntil(topology(stream, path.join(dir, 'out-2'), checkpoint, 100), dir, path.join(dir, 'out-2'), second.length);
  assert.deepEqual(sorted(run2.records.map((r) => r.id)), sorted(second.map((r) => idOf(stream, r))), 'nothing read twice after a clean stop');
  assert.equal(run2.summary.inputs, second.length);
  const saved2 = await readCheckpoint(checkpoint);

  // 3. A crash: `centaur run` reads the next records but dies before its checkpoint interval.
  const third = await put(stream, all.slice(13), 'c');
  const crashYaml = topology(stream, path.join(dir, 'out-3'), checkpoint, 600000);
  await writeFile(path.join(dir, 'crash.yaml'), crashYaml);
  const crashing = startCentaur(path.join(dir, 'crash.yaml'));
  try {
    await waitForOutputs(path.join(dir, 'out-3'), third.length);
    // Long enough for the runtime to commit the records (every 50 ms); the checkpoint interval is far away.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    crashing.child.kill('SIGKILL');
    await crashing.exited;
  }
  assert.deepEqual(sorted((await outputs(path.join(dir, 'out-3'))).map((r) => r.id)), sorted(third.map((r) => idOf(stream, r))));
  assert.deepEqual((await readCheckpoint(checkpoint)).shards, saved2.shards, 'the crashed run wrote no checkpoint');

  // 4. The restart after the crash reads those records again (at least once), and nothing older.
  const run4 = await runUntil(topology(stream, path.join(dir, 'out-4'), checkpoint, 100), dir, path.join(dir, 'out-4'), third.length);
  assert.deepEqual(sorted(run4.records.map((r) => r.id)), sorted(third.map((r) => idOf(stream, r))), 'the records after the last checkpoint, again');
  assert.deepEqual(
    Object.fromEntries(Object.entries((await readCheckpoint(checkpoint)).shards).map(([id, e]) => [id, e.sequenceNumber])),
    lastPerShard([...first, ...second, ...third]),
  );
});

test('a split shard: its records first, then its children’s; the parent is checkpointed as finished', async (t) => {
  if (!(await requireKinesis(t))) return;
  const stream = uniqueStream('centaur-split');
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kinesis-split-'));
  const checkpoint = path.join(dir, 'checkpoint.json');
  await createStream(stream, 1);
  t.after(async () => {
    await deleteStream(stream);
    await rm(dir, { recursive: true, force: true });
  });
  const all = await images(8, 8_200_003);
  const before = await put(stream, all.slice(0, 4), 'p');
  const parent = before[0]?.shardId as string;
  await splitShard(stream, parent);
  const after = await put(stream, all.slice(4), 'q');
  const children = (await listShards(stream)).filter((s) => s.ParentShardId === parent).map((s) => s.ShardId);
  assert.equal(children.length, 2);
  for (const r of after) assert.ok(children.includes(r.shardId), 'records after the split land in the children');

  const out = path.join(dir, 'out');
  const logs: { msg?: string; shard?: string }[] = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => logs.push(JSON.parse(line) as { msg?: string; shard?: string }) });
  const run = await runUntil(topology(stream, out, checkpoint, 100), dir, out, before.length + after.length, logger);
  const finishedAt = logs.findIndex((l) => l.msg === 'The Kinesis shard is finished; its children may start.' && l.shard === parent);
  assert.ok(finishedAt >= 0, 'the parent was finished');
  for (const child of children) {
    const startedAt = logs.findIndex((l) => l.msg === 'Reading a Kinesis shard.' && l.shard === child);
    assert.ok(startedAt > finishedAt, `${String(child)} starts after its parent is finished`);
  }
  const ids = run.records.map((r) => r.id);
  assert.deepEqual(sorted(ids), sorted([...before, ...after].map((r) => idOf(stream, r))), 'every record once');
  const lastParent = Math.max(...before.map((r) => ids.indexOf(idOf(stream, r))));
  const firstChild = Math.min(...after.map((r) => ids.indexOf(idOf(stream, r))));
  assert.ok(lastParent < firstChild, 'the children are read only after the parent is finished');
  const saved = await readCheckpoint(checkpoint);
  assert.equal(saved.shards[parent]?.finished, true, 'the parent is finished');
  assert.equal(saved.shards[parent]?.sequenceNumber, lastPerShard(before)[parent]);
});
