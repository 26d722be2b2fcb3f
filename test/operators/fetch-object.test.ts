/**
 * fetch-object without services: file:// objects under `fileBase` become bytes in order; URIs
 * outside the allow-list (file:// without or outside `fileBase`, symlinks and `..` included, other
 * buckets, dot segments) are refused; missing, oversized, malformed and unsupported references are
 * dead letters with the URI; an unreachable store is retried, then dead-lettered as
 * OBJECT_STORE_UNAVAILABLE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import type { OperatorContext } from '../../src/core/component.js';
import type { Envelope, Item } from '../../src/core/envelope.js';
import { envelopesOf } from '../../src/core/envelope.js';
import type { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { fetchObject } from '../../src/operators/fetch-object.js';
import { pino } from 'pino';

const logger = createLogger('silent');

function reference(id: string, uri: string): Envelope {
  return {
    id,
    eventTime: 0,
    position: { source: 's', partition: '0', offset: 0 },
    payload: { kind: 'reference', uri },
    sizeBytes: 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

async function run(options: Record<string, unknown>, inputs: Envelope[]): Promise<{ out: Envelope[]; failed: { envelope: Envelope; error: CentaurError }[] }> {
  const defaults = { maxBytes: 20_971_520, concurrency: 4, retries: 0, timeoutMs: 2000, allow: ['s3://', 'azure://'] };
  const operator = await fetchObject.create({ ...defaults, ...options }, { nodeId: 'fetch', topologyName: 't', baseDir: '.', logger });
  const failed: { envelope: Envelope; error: CentaurError }[] = [];
  const ctx: OperatorContext = { nodeId: 'fetch', scheduler: asyncScheduler, fail: (envelope, error) => failed.push({ envelope, error: error as CentaurError }) };
  const items: Item[] = await lastValueFrom(operator.apply(from(inputs), ctx).pipe(toArray()));
  const out = items.flatMap(envelopesOf);
  await operator.close?.();
  return { out, failed };
}

test('file:// objects become bytes, in input order; bytes pass through', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-fetch-'));
  const uris: string[] = [];
  for (let i = 0; i < 6; i += 1) {
    const file = path.join(dir, `img ${i}.jpg`);
    await writeFile(file, Buffer.alloc(100 + i, i));
    uris.push(pathToFileURL(file).href);
  }
  const passing: Envelope = { ...reference('bytes', ''), payload: { kind: 'bytes', bytes: Buffer.from('x') } };
  const { out, failed } = await run({ fileBase: dir }, [...uris.map((u, i) => reference(`r${i}`, u)), passing]);
  assert.deepEqual(failed, []);
  assert.deepEqual(out.map((e) => e.id), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'bytes']);
  assert.deepEqual(out.map((e) => (e.payload.kind === 'bytes' ? e.payload.bytes.length : -1)), [100, 101, 102, 103, 104, 105, 1]);
  assert.equal(out[0]?.sizeBytes, 100);
  assert.ok((out[0]?.timings.fetch ?? -1) >= 0);
});

test('missing, oversized, malformed and unsupported references are dead letters naming the URI', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-fetch-'));
  await writeFile(path.join(dir, 'big.jpg'), Buffer.alloc(2000));
  const missing = pathToFileURL(path.join(dir, 'missing.jpg')).href;
  const big = pathToFileURL(path.join(dir, 'big.jpg')).href;
  const { out, failed } = await run({ maxBytes: 1000, fileBase: dir }, [
    reference('missing', missing),
    reference('big', big),
    reference('gs', 'gs://bucket/x.jpg'),
    reference('bucket', 's3://No_Such/x.jpg'),
  ]);
  assert.deepEqual(out, []);
  const byId = Object.fromEntries(failed.map((f) => [f.envelope.id, f.error]));
  assert.equal(byId.missing?.code, 'OBJECT_FETCH_FAILED');
  assert.match(byId.missing?.message ?? '', new RegExp(`^cannot read ${missing}: no such object`));
  assert.equal(byId.big?.code, 'OBJECT_TOO_LARGE');
  assert.equal(byId.big?.message, `${big} is 2000 bytes, over maxBytes 1000`);
  assert.equal(byId.gs?.code, 'OBJECT_FETCH_FAILED');
  assert.match(byId.gs?.message ?? '', /gs:\/\/bucket\/x\.jpg: unsupported scheme/);
  assert.match(byId.bucket?.message ?? '', /not a valid bucket name/);
  assert.ok(failed.every((f) => f.envelope.payload.kind === 'reference'), 'dead letters keep the reference');
});

test('file:// URIs from inputs are refused without fileBase, and outside it: .., symlinks, sibling folders', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-fetch-'));
  const base = path.join(root, 'uploads');
  await mkdir(base);
  await writeFile(path.join(base, 'ok.jpg'), Buffer.alloc(10, 1));
  await writeFile(path.join(root, 'secret.txt'), 'secret');
  await mkdir(path.join(root, 'uploads-private'));
  await writeFile(path.join(root, 'uploads-private', 'x.jpg'), 'private');
  await symlink(path.join(root, 'secret.txt'), path.join(base, 'link.jpg'));
  await symlink(root, path.join(base, 'up'));
  const inside = pathToFileURL(path.join(base, 'ok.jpg')).href;

  const closed = await run({}, [reference('etc', 'file:///etc/passwd'), reference('inside', inside)]);
  assert.deepEqual(closed.out, []);
  for (const f of closed.failed) {
    assert.equal(f.error.code, 'OBJECT_URI_REFUSED');
    assert.match(f.error.message, /file:\/\/ URIs from inputs are refused unless `fileBase`/);
  }

  const uris = {
    ok: inside,
    dotdot: `${pathToFileURL(base).href}/../secret.txt`,
    link: pathToFileURL(path.join(base, 'link.jpg')).href,
    dirLink: pathToFileURL(path.join(base, 'up', 'secret.txt')).href,
    sibling: pathToFileURL(path.join(root, 'uploads-private', 'x.jpg')).href,
    etc: 'file:///etc/passwd',
    missingOutside: pathToFileURL(path.join(root, 'nothing-here.jpg')).href,
  };
  const { out, failed } = await run({ fileBase: base }, Object.entries(uris).map(([id, uri]) => reference(id, uri)));
  assert.deepEqual(out.map((e) => e.id), ['ok']);
  const byId = Object.fromEntries(failed.map((f) => [f.envelope.id, f.error]));
  for (const id of ['dotdot', 'link', 'dirLink', 'sibling', 'etc', 'missingOutside']) {
    assert.equal(byId[id]?.code, 'OBJECT_URI_REFUSED', id);
    assert.equal(byId[id]?.retriable, false);
  }
  assert.doesNotMatch(JSON.stringify(failed.map((f) => f.error.message)), /no such object/, 'a refused path does not tell whether it exists');
  assert.equal(failed.length, 6, 'every input is accounted for');
});

test('cloud URIs must start with an allowed prefix; keys with dot segments are refused', async () => {
  const { out, failed } = await run({ allow: ['s3://lake/uploads/', 'azure://frames'] }, [
    reference('otherBucket', 's3://secrets/uploads/x.jpg'),
    reference('otherPrefix', 's3://lake/private/x.jpg'),
    reference('dots', 's3://lake/uploads/../private/x.jpg'),
    reference('otherContainer', 'azure://frames-private/x.jpg'),
    reference('backslash', 'azure://frames/a\\..\\..\\secrets\\x.jpg'),
  ]);
  assert.deepEqual(out, []);
  const byId = Object.fromEntries(failed.map((f) => [f.envelope.id, f.error]));
  for (const id of ['otherBucket', 'otherPrefix', 'dots', 'otherContainer', 'backslash']) assert.equal(byId[id]?.code, 'OBJECT_URI_REFUSED', id);
  assert.match(byId.backslash?.message ?? '', /Azure reads as `\/`/);
  assert.match(byId.otherBucket?.message ?? '', /outside the allowed prefixes \(s3:\/\/lake\/uploads\/, azure:\/\/frames\)/);
  assert.match(byId.dots?.message ?? '', /`\.` or `\.\.` segment/);
});

test('an unreachable S3 endpoint is retried, then the input is a dead letter with OBJECT_STORE_UNAVAILABLE', async () => {
  // A port that was free a moment ago: connections are refused.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  try {
    const started = Date.now();
    const { out, failed } = await run({ retries: 2, s3: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true } }, [reference('down', 's3://lake/x.jpg')]);
    assert.deepEqual(out, []);
    assert.equal(failed[0]?.error.code, 'OBJECT_STORE_UNAVAILABLE');
    assert.equal(failed[0]?.error.retriable, true);
    assert.match(failed[0]?.error.message ?? '', /^cannot read s3:\/\/lake\/x\.jpg: the object store is unavailable \(.*ECONNREFUSED/);
    assert.ok(Date.now() - started < 15000);
  } finally {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  }
});

test('azure:// without a connection is a dead letter saying what to set', async () => {
  const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
  delete process.env.AZURE_STORAGE_CONNECTION_STRING;
  try {
    const { failed } = await run({}, [reference('az', 'azure://uploads/x.jpg')]);
    assert.equal(failed[0]?.error.code, 'CONFIG_INVALID');
    assert.match(failed[0]?.error.message ?? '', /azure\.connectionString/);
  } finally {
    if (saved !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
  }
});

test('an allow-list that opens every bucket (the default) is warned about at start; a narrowed one is not', async () => {
  const warnings: string[] = [];
  const stream = { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) };
  const capturing = pino({ level: 'warn' }, stream);
  const base = { maxBytes: 1024, concurrency: 1, retries: 0, timeoutMs: 2000 };
  await (await fetchObject.create({ ...base, allow: ['s3://', 'azure://uploads/'] }, { nodeId: 'fetch', topologyName: 't', baseDir: '.', logger: capturing })).close?.();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /may name any bucket or container the credentials reach; narrow `allow`/);
  await (await fetchObject.create({ ...base, allow: ['s3://uploads/cameras/'] }, { nodeId: 'fetch', topologyName: 't', baseDir: '.', logger: capturing })).close?.();
  assert.equal(warnings.length, 1, 'no warning for a narrowed list');
});
