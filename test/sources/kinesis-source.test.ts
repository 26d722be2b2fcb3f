/**
 * `kinesis-source` against an in-memory Kinesis (a fake of the three calls it makes): records
 * become inputs with one partition per shard and dense offsets; commits turn into checkpointed
 * sequence numbers; a closed parent's children start only after every parent record completed;
 * pause holds emission; an expired iterator resumes after the last record read; a bad record is
 * a dead letter that still takes its offset; a missing stream stops the start.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import type { Source } from '../../src/core/component.js';
import type { EnvelopeInit } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { CheckpointStore } from '../../src/kinesis/checkpoint.js';
import type { KinesisApi, KinesisRecord, ReadResult } from '../../src/kinesis/kinesis-client.js';
import type { ShardInfo, StartPosition } from '../../src/kinesis/shard-plan.js';
import { createKinesisSource, kinesisSource } from '../../src/sources/kinesis-source.js';
import type { KinesisSourceOptions } from '../../src/sources/kinesis-source.js';
import { FileStore } from '../../src/storage/file-store.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const validate = ajv.compile(kinesisSource.options);

function options(extra: Record<string, unknown> = {}): KinesisSourceOptions {
  const o = { streamName: 'images', pollIntervalMs: 5, minRequestIntervalMs: 0, shardSyncIntervalMs: 60000, ...extra };
  assert.ok(validate(o), JSON.stringify(validate.errors));
  return o as unknown as KinesisSourceOptions;
}

interface FakeShard {
  readonly info: ShardInfo;
  readonly records: KinesisRecord[];
}

/** An in-memory stream: iterators are `<shard>:<index>`; a closed shard ends after its last record. */
class FakeKinesis implements KinesisApi {
  readonly shards = new Map<string, FakeShard>();
  readonly iteratorRequests: { shardId: string; position: StartPosition }[] = [];
  /** Iterators that answer "expired" once. */
  readonly expireOnce = new Set<string>();
  missing = false;
  private seq = 1000;

  addShard(shardId: string, parents: string[] = [], closed = false): void {
    this.shards.set(shardId, { info: { shardId, parents, closed }, records: [] });
  }

  put(shardId: string, data: string | Buffer, partitionKey = 'k'): string {
    this.seq += 7;
    const sequenceNumber = `49${String(this.seq).padStart(40, '0')}`;
    (this.shards.get(shardId) as FakeShard).records.push({ sequenceNumber, partitionKey, data: Buffer.from(data), arrivalMs: 1_700_000_000_000 + this.seq });
    return sequenceNumber;
  }

  async listShards(): Promise<ShardInfo[]> {
    if (this.missing) throw new CentaurError('KINESIS_UNAVAILABLE', 'stream images not found', { retriable: false });
    return [...this.shards.values()].map((s) => s.info);
  }

  async shardIterator(shardId: string, position: StartPosition): Promise<string> {
    this.iteratorRequests.push({ shardId, position });
    const records = (this.shards.get(shardId) as FakeShard).records;
    let index = 0;
    if (position.kind === 'latest') index = records.length;
    if (position.kind === 'after') index = records.findIndex((r) => r.sequenceNumber === position.sequenceNumber) + 1;
    return `${shardId}:${index}`;
  }

  async getRecords(iterator: string, limit: number): Promise<ReadResult> {
    if (this.expireOnce.delete(iterator)) return { kind: 'expired' };
    const [shardId, at] = iterator.split(':') as [string, string];
    const shard = this.shards.get(shardId) as FakeShard;
    const start = Number(at);
    const records = shard.records.slice(start, start + limit);
    const next = start + records.length;
    const ended = shard.info.closed && next >= shard.records.length;
    return { kind: 'records', records, ...(ended ? {} : { nextIterator: `${shardId}:${next}` }), millisBehindLatest: next >= shard.records.length ? 0 : 1000 };
  }

  close(): void {}
}

interface Harness {
  readonly source: Source;
  readonly emitted: EnvelopeInit[];
  readonly failed: { init: EnvelopeInit; error: unknown }[];
  readonly running: Promise<void>;
}

/** Starts a source; it is stopped when the test ends, passed or failed. */
function run(t: TestContext, api: KinesisApi, o: KinesisSourceOptions, checkpoint?: CheckpointStore, onEmit?: (init: EnvelopeInit, source: Source) => void): Harness {
  const source = createKinesisSource(api, checkpoint, undefined, o, { nodeId: 'stream', topologyName: 't', baseDir: '.', logger: createLogger('silent') });
  const emitted: EnvelopeInit[] = [];
  const failed: { init: EnvelopeInit; error: unknown }[] = [];
  const running = source.start({
    emit: (init) => {
      emitted.push(init);
      onEmit?.(init, source);
    },
    fail: (init, error) => failed.push({ init, error }),
  });
  const h = { source, emitted, failed, running };
  t.after(() => stop(h).catch(() => undefined));
  return h;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function stop(h: Harness): Promise<void> {
  await h.source.stop();
  await h.running.catch(() => undefined);
  await h.source.close?.();
}

test('records become inputs: one partition per shard, dense offsets, ids from shard and sequence number; commits are checkpointed', async (t) => {
  const api = new FakeKinesis();
  api.addShard('shardId-000000000000');
  api.addShard('shardId-000000000001');
  const s0 = [api.put('shardId-000000000000', JSON.stringify({ uri: 's3://b/a.jpg', label: 'horses', uploadTime: 5 })), api.put('shardId-000000000000', JSON.stringify({ uri: 's3://b/b.jpg', uploadId: 'u-2' }))];
  const s1 = api.put('shardId-000000000001', JSON.stringify({ image: Buffer.from('jpeg bytes').toString('base64') }), 'cam-1');
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kinesis-source-'));
  const uri = pathToFileURL(path.join(dir, 'cp.json')).href;
  try {
    const h = run(t, api, options(), new CheckpointStore(new FileStore(), uri, 'images', 60000, createLogger('silent')));
    await until(() => h.emitted.length === 3, 'three inputs');
    const byShard = (id: string): EnvelopeInit[] => h.emitted.filter((e) => e.position.partition === id);
    assert.deepEqual(byShard('shardId-000000000000').map((e) => e.position.offset), [0, 1]);
    assert.deepEqual(byShard('shardId-000000000001').map((e) => e.position.offset), [0]);
    const [a, b] = byShard('shardId-000000000000') as [EnvelopeInit, EnvelopeInit];
    assert.equal(a.id, `images-shardId-000000000000-${s0[0]}`, 'default id: stream, shard, sequence number');
    assert.deepEqual(a.payload, { kind: 'reference', uri: 's3://b/a.jpg' });
    assert.equal(a.label, 'horses');
    assert.equal(a.eventTime, 5);
    assert.equal(a.position.topic, 'images');
    assert.equal(b.id, 'u-2', 'an id field wins');
    const c = byShard('shardId-000000000001')[0] as EnvelopeInit;
    assert.deepEqual(c.payload, { kind: 'bytes', bytes: Buffer.from('jpeg bytes') });
    assert.equal(c.key, 'cam-1', 'the partition key is the key');

    await h.source.commit('shardId-000000000000', 0);
    await h.source.commit('shardId-000000000001', 0);
    await stop(h);
    const saved = JSON.parse(await readFile(path.join(dir, 'cp.json'), 'utf8')) as { shards: Record<string, unknown> };
    assert.deepEqual(saved.shards, { 'shardId-000000000000': { sequenceNumber: s0[0] }, 'shardId-000000000001': { sequenceNumber: s1 } }, 'only what was committed, written at close');

    // A restart resumes after the checkpoint: only the uncommitted record comes again.
    const again = run(t, api, options(), new CheckpointStore(new FileStore(), uri, 'images', 60000, createLogger('silent')));
    await until(() => again.emitted.length === 1, 'the uncommitted record');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stop(again);
    assert.deepEqual(again.emitted.map((e) => e.id), ['u-2']);
    assert.deepEqual(api.iteratorRequests.slice(-2).map((r) => r.position).sort((x, y) => x.kind.localeCompare(y.kind)), [
      { kind: 'after', sequenceNumber: s0[0] },
      { kind: 'after', sequenceNumber: s1 },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resharding: the children start only after every record of the parent completed', async (t) => {
  const api = new FakeKinesis();
  api.addShard('shardId-000000000000', [], true);
  api.addShard('shardId-000000000001', ['shardId-000000000000']);
  api.addShard('shardId-000000000002', ['shardId-000000000000']);
  api.put('shardId-000000000000', 'p1');
  api.put('shardId-000000000000', 'p2');
  api.put('shardId-000000000001', 'c1');
  api.put('shardId-000000000002', 'c2');
  const h = run(t, api, options({ value: { format: 'bytes' } }));
  await until(() => h.emitted.length === 2, 'the parent’s records');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(h.emitted.length, 2, 'the children wait while the parent’s records are in flight');
  await h.source.commit('shardId-000000000000', 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(h.emitted.length, 2, 'one parent record still in flight');
  await h.source.commit('shardId-000000000000', 1);
  await until(() => h.emitted.length === 4, 'the children’s records');
  await stop(h);
  assert.deepEqual(h.emitted.map((e) => (e.payload.kind === 'bytes' ? e.payload.bytes.toString() : '')).slice(0, 2), ['p1', 'p2']);
  assert.deepEqual(h.emitted.slice(2).map((e) => e.position.partition).sort(), ['shardId-000000000001', 'shardId-000000000002']);
  assert.deepEqual(api.iteratorRequests.filter((r) => r.shardId !== 'shardId-000000000000').map((r) => r.position.kind), ['trim-horizon', 'trim-horizon'], 'children from their beginning');
});

test('pause holds emission mid-batch; resume goes on in order', async (t) => {
  const api = new FakeKinesis();
  api.addShard('shardId-000000000000');
  for (let i = 0; i < 6; i += 1) api.put('shardId-000000000000', `r${i}`);
  const h = run(t, api, options({ value: { format: 'bytes' } }), undefined, (init, source) => {
    if (init.position.offset === 1) source.pause();
  });
  await until(() => h.emitted.length === 2, 'two inputs');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(h.emitted.length, 2, 'paused: nothing more');
  h.source.resume();
  await until(() => h.emitted.length === 6, 'the rest');
  await stop(h);
  assert.deepEqual(h.emitted.map((e) => e.position.offset), [0, 1, 2, 3, 4, 5]);
});

test('an expired iterator resumes after the last record read, without repeats', async (t) => {
  const api = new FakeKinesis();
  api.addShard('shardId-000000000000');
  const first = api.put('shardId-000000000000', 'r0');
  const h = run(t, api, options({ value: { format: 'bytes' } }));
  await until(() => h.emitted.length === 1, 'the first input');
  api.expireOnce.add('shardId-000000000000:1');
  api.put('shardId-000000000000', 'r1');
  await until(() => h.emitted.length === 2, 'the second input');
  await new Promise((resolve) => setTimeout(resolve, 30));
  await stop(h);
  assert.equal(h.emitted.length, 2);
  assert.deepEqual(api.iteratorRequests.map((r) => r.position), [{ kind: 'trim-horizon' }, { kind: 'after', sequenceNumber: first }]);
});

test('a record that is not JSON is a dead letter with its own offset; the next one follows', async (t) => {
  const api = new FakeKinesis();
  api.addShard('shardId-000000000000');
  api.put('shardId-000000000000', 'not json');
  api.put('shardId-000000000000', JSON.stringify({ uri: 'file:///x.jpg' }));
  const h = run(t, api, options());
  await until(() => h.emitted.length === 1 && h.failed.length === 1, 'one input and one dead letter');
  await stop(h);
  const dead = h.failed[0] as { init: EnvelopeInit; error: unknown };
  assert.ok(dead.error instanceof CentaurError && dead.error.code === 'KINESIS_RECORD_INVALID', String(dead.error));
  assert.equal(dead.init.position.offset, 0);
  assert.deepEqual(dead.init.original?.value, Buffer.from('not json'), 'the original bytes go to the dead letter');
  assert.equal(h.emitted[0]?.position.offset, 1);
});

test('a stream that does not exist stops the start', async (t) => {
  const api = new FakeKinesis();
  api.missing = true;
  const h = run(t, api, options());
  await assert.rejects(h.running, (e: unknown) => e instanceof CentaurError && e.code === 'KINESIS_UNAVAILABLE' && !e.retriable);
  await h.source.close?.();
});

test('options: AT_TIMESTAMP needs a timestamp, avro a registry, the checkpoint a store URI — validation problems at the option', () => {
  const problems = (extra: Record<string, unknown>): string[] =>
    (kinesisSource.validate?.(options(extra), { nodeId: 'n', baseDir: '/t' }) ?? []).map((p) => `${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(problems({ startFrom: 'AT_TIMESTAMP' }), ['startFrom: `startFrom: AT_TIMESTAMP` needs `startTimestampMs`']);
  assert.deepEqual(problems({ startFrom: 'AT_TIMESTAMP', startTimestampMs: 0 }), []);
  assert.deepEqual(problems({ value: { format: 'avro' } }), ['value.format: `value.format: avro` needs `schemaRegistry`']);
  assert.deepEqual(problems({ value: { format: 'avro' }, schemaRegistry: { url: 'http://registry' } }), []);
  assert.deepEqual(problems({ checkpoint: { uri: 'ftp://host/c/' } }), ['checkpoint.uri: cannot use ftp://host/c/images.checkpoint.json: unsupported scheme `ftp://`; the object stores are file://, s3:// and azure://']);
  assert.deepEqual(problems({ checkpoint: { uri: 'state/' } }), []);
  assert.equal(validate({ streamName: 'images', unknown: 1 }), false, 'unknown fields are refused');
});
