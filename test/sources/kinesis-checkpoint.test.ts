/**
 * The Kinesis checkpoint logic without a server: the per-shard counter ↔ sequence number mapping
 * (what a commit checkpoints), the shard plan (which shards start, from where, across resharding
 * and restarts), and the checkpoint object (format, validation, debounced writes, close).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { CheckpointStore, formatCheckpoint, parseCheckpoint } from '../../src/kinesis/checkpoint.js';
import type { ShardCheckpoint } from '../../src/kinesis/checkpoint.js';
import { planShards } from '../../src/kinesis/shard-plan.js';
import type { ShardInfo, ShardState } from '../../src/kinesis/shard-plan.js';
import { ShardProgress } from '../../src/kinesis/shard-progress.js';
import { FileStore } from '../../src/storage/file-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { checkpointUri } from '../../src/sources/kinesis-source.js';

const SEQ = (n: number): string => `4968057491952185653208138248004${String(n).padStart(25, '0')}`;

test('shard progress: dense counters map back to sequence numbers; a commit names the highest completed one', () => {
  const p = new ShardProgress('shardId-000000000000');
  assert.deepEqual([SEQ(10), SEQ(17), SEQ(30), SEQ(31)].map((s) => p.read(s)), [0, 1, 2, 3], 'dense offsets from 0');
  assert.equal(p.inFlight, 4);
  assert.equal(p.completed(1), SEQ(17));
  assert.equal(p.completed(1), undefined, 'the same counter again: nothing new');
  assert.equal(p.completed(0), undefined, 'below the committed point: stale');
  assert.equal(p.completed(7), undefined, 'never read: unknown');
  assert.equal(p.lastCompletedSequence, SEQ(17));
  assert.equal(p.completed(3), SEQ(31), 'a jump covers every counter up to it');
  assert.equal(p.inFlight, 0);
  assert.equal(p.read(SEQ(40)), 4, 'counters keep increasing');
  assert.equal(p.lastReadSequence, SEQ(40));
  assert.equal(p.finished, false);
});

test('shard progress: finished only once read to the end and every record completed', () => {
  const p = new ShardProgress('shardId-000000000001', SEQ(5));
  assert.equal(p.lastReadSequence, SEQ(5), 'resumes after the checkpoint');
  assert.equal(p.lastCompletedSequence, SEQ(5));
  p.read(SEQ(6));
  p.read(SEQ(7));
  p.endReached();
  assert.equal(p.atEnd, true);
  assert.equal(p.finished, false, 'records still in flight');
  p.completed(0);
  assert.equal(p.finished, false);
  p.completed(1);
  assert.equal(p.finished, true);
  const empty = new ShardProgress('shardId-000000000002');
  empty.endReached();
  assert.equal(empty.finished, true, 'a closed shard with no records is finished at its end');
});

const open = (id: string, ...parents: string[]): ShardInfo => ({ shardId: id, parents, closed: false });
const closed = (id: string, ...parents: string[]): ShardInfo => ({ shardId: id, parents, closed: true });
const none = new Map<string, ShardCheckpoint>();
const noState = new Map<string, ShardState>();

test('shard plan, first start: TRIM_HORIZON reads the roots first; children wait for their parents', () => {
  // shard 0 was split into 2 and 3; 3 and 1 were merged into 4.
  const shards = [closed('s0'), closed('s1'), open('s2', 's0'), closed('s3', 's0'), open('s4', 's3', 's1')];
  const plan = planShards(shards, none, noState, { kind: 'TRIM_HORIZON' });
  assert.deepEqual(plan.start, [
    { shardId: 's0', position: { kind: 'trim-horizon' } },
    { shardId: 's1', position: { kind: 'trim-horizon' } },
  ]);
  assert.deepEqual(plan.skip, []);
  // s0 finished: both its children start at their beginning; s4 still waits for s1.
  const next = planShards(shards, none, new Map<string, ShardState>([['s0', 'finished'], ['s1', 'reading']]), { kind: 'TRIM_HORIZON' });
  assert.deepEqual(next.start.map((s) => [s.shardId, s.position.kind]), [['s2', 'trim-horizon'], ['s3', 'trim-horizon']]);
  const last = planShards(shards, none, new Map<string, ShardState>([['s0', 'finished'], ['s1', 'finished'], ['s2', 'reading'], ['s3', 'finished']]), { kind: 'TRIM_HORIZON' });
  assert.deepEqual(last.start.map((s) => s.shardId), ['s4'], 'a merged shard starts once both parents are finished');
});

test('shard plan, first start: LATEST skips closed shards and starts the open ones at the tip', () => {
  const shards = [closed('s0'), open('s1', 's0'), open('s2', 's0'), open('s3')];
  const plan = planShards(shards, none, noState, { kind: 'LATEST' });
  assert.deepEqual(plan.skip, ['s0']);
  assert.deepEqual(plan.start.map((s) => [s.shardId, s.position.kind]), [['s1', 'latest'], ['s2', 'latest'], ['s3', 'latest']], 'children of a skipped parent start at LATEST too');
  const at = planShards(shards, none, noState, { kind: 'AT_TIMESTAMP', timestampMs: 1_700_000_000_000 });
  assert.deepEqual(at.start, [{ shardId: 's0', position: { kind: 'at-timestamp', timestampMs: 1_700_000_000_000 } }, { shardId: 's3', position: { kind: 'at-timestamp', timestampMs: 1_700_000_000_000 } }]);
});

test('shard plan, restart: after the checkpoint; finished shards never again; children of a read parent from their beginning', () => {
  const shards = [closed('s0'), open('s1', 's0'), open('s2', 's0'), open('s3')];
  const checkpoint = new Map<string, ShardCheckpoint>([
    ['s0', { sequenceNumber: SEQ(9), finished: true }],
    ['s1', { sequenceNumber: SEQ(20) }],
  ]);
  const plan = planShards(shards, checkpoint, noState, { kind: 'LATEST' });
  assert.deepEqual(plan.start, [
    { shardId: 's1', position: { kind: 'after', sequenceNumber: SEQ(20) } },
    { shardId: 's2', position: { kind: 'trim-horizon' } },
    { shardId: 's3', position: { kind: 'latest' } },
  ]);
  // A parent not finished in the checkpoint is read on from it; its children wait.
  const unfinished = planShards(shards, new Map([['s0', { sequenceNumber: SEQ(5) }]]), noState, { kind: 'TRIM_HORIZON' });
  assert.deepEqual(unfinished.start.map((s) => s.shardId), ['s0', 's3']);
  // A parent past the retention period (no longer listed) counts as finished.
  const trimmed = planShards([open('s1', 's0'), open('s2', 's0')], new Map([['s0', { sequenceNumber: SEQ(5) }]]), noState, { kind: 'LATEST' });
  assert.deepEqual(trimmed.start.map((s) => [s.shardId, s.position.kind]), [['s1', 'trim-horizon'], ['s2', 'trim-horizon']]);
  // Shards already reading or finished in this process are not started again.
  assert.deepEqual(planShards(shards, checkpoint, new Map<string, ShardState>([['s1', 'reading'], ['s2', 'reading'], ['s3', 'reading']]), { kind: 'LATEST' }).start, []);
});

test('checkpoint object: written in shard order, read back, refused when malformed or for another stream', () => {
  const shards = new Map<string, ShardCheckpoint>([
    ['shardId-000000000002', { sequenceNumber: SEQ(3) }],
    ['shardId-000000000000', { sequenceNumber: SEQ(1), finished: true }],
  ]);
  const text = formatCheckpoint('images', shards, new Date(0));
  const doc = JSON.parse(text) as { version: number; stream: string; updatedAt: string; shards: Record<string, unknown> };
  assert.equal(doc.version, 1);
  assert.equal(doc.updatedAt, '1970-01-01T00:00:00.000Z');
  assert.deepEqual(Object.keys(doc.shards), ['shardId-000000000000', 'shardId-000000000002']);
  assert.deepEqual(parseCheckpoint(text, 'file:///c.json', 'images'), new Map([...shards].sort()));
  const refused = (body: string, pattern: RegExp): void =>
    assert.throws(() => parseCheckpoint(body, 'file:///c.json', 'images'), (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && pattern.test(e.message));
  refused('{', /not JSON/);
  refused('{"shards":{}}', /not a Kinesis checkpoint/);
  refused(formatCheckpoint('other', shards), /belongs to stream `other`/);
  refused('{"version":1,"stream":"images","shards":{"s":{"sequenceNumber":12}}}', /not a decimal string/);
});

test('checkpoint location: object URIs as written, paths against the topology folder, a trailing / is a folder', () => {
  assert.equal(checkpointUri('s3://bucket/cp/images.json', 'images', '/topologies'), 's3://bucket/cp/images.json');
  assert.equal(checkpointUri('s3://bucket/cp/', 'images', '/topologies'), 's3://bucket/cp/images.checkpoint.json');
  assert.equal(checkpointUri('state/cp.json', 'images', '/topologies'), pathToFileURL('/topologies/state/cp.json').href);
  assert.equal(checkpointUri('state/', 'images', '/topologies'), pathToFileURL('/topologies/state/images.checkpoint.json').href);
});

test('checkpoint store: none yet is empty; updates are written once per interval and at close', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kinesis-cp-'));
  try {
    const file = path.join(dir, 'nested', 'cp.json');
    const uri = pathToFileURL(file).href;
    const files = new FileStore();
    let puts = 0;
    const counting: ObjectStore = Object.assign(Object.create(files) as ObjectStore, {
      put: (uri: string, body: Buffer | string) => {
        puts += 1;
        return files.put(uri, body);
      },
    });
    const store = new CheckpointStore(counting, uri, 'images', 60000, createLogger('silent'));
    assert.equal((await store.load()).size, 0, 'no object yet');
    store.update('shardId-000000000000', { sequenceNumber: SEQ(1) });
    store.update('shardId-000000000000', { sequenceNumber: SEQ(2) });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(puts, 0, 'nothing written before the interval');
    await store.close();
    assert.equal(puts, 1, 'one write at close');
    const again = new CheckpointStore(new FileStore(), uri, 'images', 0, createLogger('silent'));
    assert.deepEqual(await again.load(), new Map([['shardId-000000000000', { sequenceNumber: SEQ(2) }]]), 'the last update, written at close');
    // Interval 0: every update is written at once.
    again.update('shardId-000000000001', { finished: true });
    await again.flush();
    assert.deepEqual(Object.keys((JSON.parse(await readFile(file, 'utf8')) as { shards: object }).shards), ['shardId-000000000000', 'shardId-000000000001']);
    await again.close();
    // A checkpoint of another stream stops the start.
    await writeFile(file, formatCheckpoint('other', new Map()));
    await assert.rejects(new CheckpointStore(new FileStore(), uri, 'images', 0, createLogger('silent')).load(), /belongs to stream `other`/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
