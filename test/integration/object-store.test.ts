/**
 * The object stores against real servers (S3Proxy and Azurite from scripts/services/services.sh):
 * put/get/head/list with pages, multipart uploads over 5 MiB, every failure as its code; then a
 * whole topology in process — images uploaded to S3 and Azure, referenced by URI, fetched,
 * decoded, batched, classified and written to a lake in each store: predictions as JSONL by date,
 * images archived once however often they repeat, missing objects dead-lettered with their URI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Ajv } from 'ajv';
import { createLogger } from '../../src/core/logger.js';
import { CentaurError } from '../../src/core/errors.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { objectSink } from '../../src/sinks/object-sink.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { storeFor } from '../../src/storage/store-for.js';
import type { StoreSettings } from '../../src/storage/store-options.js';
import { parseTopology } from '../../src/topology/load.js';
import { allComponents } from '../../src/topology/registry.js';
import {
  AZURE_CONNECTION,
  azure,
  createBuckets,
  deleteBuckets,
  getAzure,
  getS3,
  listAzure,
  listS3,
  putAzure,
  putS3,
  requireObjectStores,
  s3,
  S3_ENDPOINT,
  uniqueBucket,
  uriListSource,
  useUriList,
} from '../helpers/object-stores.js';

interface Kind {
  readonly scheme: 's3' | 'azure';
  readonly settings: StoreSettings;
  readonly put: (bucket: string, key: string, body: Buffer) => Promise<void>;
  readonly get: (bucket: string, key: string) => Promise<Buffer>;
  readonly list: (bucket: string, prefix: string) => Promise<string[]>;
}

const KINDS: readonly Kind[] = [
  { scheme: 's3', settings: { s3: { endpoint: S3_ENDPOINT, forcePathStyle: true } }, put: putS3, get: getS3, list: listS3 },
  { scheme: 'azure', settings: { azure: { connectionString: AZURE_CONNECTION } }, put: putAzure, get: getAzure, list: listAzure },
];

const ajv = new Ajv({ useDefaults: true, strict: false });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function isCode(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error: unknown) => error instanceof CentaurError && error.code === code && (message === undefined || message.test(error.message));
}

for (const kind of KINDS) {
  test(`${kind.scheme}: put, get, head, exists; list under a prefix a page at a time`, async (t) => {
    if (!(await requireObjectStores(t))) return;
    const bucket = uniqueBucket('basic');
    await createBuckets(bucket);
    const store = await storeFor(`${kind.scheme}://${bucket}`, kind.settings);
    try {
      const base = `${kind.scheme}://${bucket}`;
      await store.put(`${base}/docs/hello.txt`, 'hello, lake', { contentType: 'text/plain' });
      assert.equal((await kind.get(bucket, 'docs/hello.txt')).toString(), 'hello, lake', 'the independent client reads what the store wrote');
      await kind.put(bucket, 'docs/from-sdk.bin', Buffer.from([1, 2, 3]));
      assert.deepEqual([...(await store.get(`${base}/docs/from-sdk.bin`))], [1, 2, 3], 'the store reads what the independent client wrote');
      const head = await store.head(`${base}/docs/hello.txt`);
      assert.equal(head?.size, 11);
      assert.equal(head?.uri, `${base}/docs/hello.txt`);
      assert.ok(head?.lastModified instanceof Date);
      assert.equal(await store.head(`${base}/docs/none.txt`), null);
      assert.equal(await store.exists(`${base}/docs/hello.txt`), true);
      assert.equal(await store.exists(`${base}/docs/none.txt`), false);

      for (let i = 0; i < 7; i += 1) await store.put(`${base}/page/k${i}`, String(i));
      await store.put(`${base}/pages-not-this/x`, 'x');
      const seen: string[] = [];
      let continuation: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(`${base}/page/`, { limit: 3, ...(continuation === undefined ? {} : { continuation }) });
        assert.ok(page.objects.length <= 3);
        seen.push(...page.objects.map((o) => o.key));
        assert.ok(page.objects.every((o) => o.uri === `${base}/${o.key}` && o.size === 1));
        continuation = page.continuation;
        pages += 1;
      } while (continuation !== undefined);
      assert.deepEqual(seen, ['page/k0', 'page/k1', 'page/k2', 'page/k3', 'page/k4', 'page/k5', 'page/k6']);
      assert.equal(pages, 3);
      assert.deepEqual((await store.list(`${base}/nothing/`)).objects, []);
    } finally {
      await store.close();
      await deleteBuckets(bucket);
    }
  });

  test(`${kind.scheme}: an object over 5 MiB goes up in parts and comes back byte for byte; maxBytes refuses it`, async (t) => {
    if (!(await requireObjectStores(t))) return;
    const bucket = uniqueBucket('multipart');
    await createBuckets(bucket);
    const store = await storeFor(`${kind.scheme}://${bucket}`, kind.settings);
    try {
      const big = Buffer.alloc(12 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      const uri = `${kind.scheme}://${bucket}/big/blob.bin`;
      await store.put(uri, big);
      if (kind.scheme === 's3') {
        // A multipart upload's ETag is the MD5 of the part MD5s with the part count: 12 MiB in 8 MiB parts is 2.
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/blob.bin' }));
        assert.match(head.ETag ?? '', /-2"?$/, `multipart ETag, got ${head.ETag}`);
      } else {
        const blocks = await azure.getContainerClient(bucket).getBlockBlobClient('big/blob.bin').getBlockList('committed');
        assert.equal(blocks.committedBlocks?.length, 2, 'two committed blocks');
      }
      const back = await store.get(uri);
      assert.equal(back.length, big.length);
      assert.ok(back.equals(big));
      assert.ok((await kind.get(bucket, 'big/blob.bin')).equals(big));
      await assert.rejects(store.get(uri, { maxBytes: 5 * 1024 * 1024 }), isCode('OBJECT_TOO_LARGE', new RegExp(`^${uri} is ${big.length} bytes, over maxBytes 5242880$`)));
    } finally {
      await store.close();
      await deleteBuckets(bucket);
    }
  });

  test(`${kind.scheme}: missing key or bucket, wrong credentials, unreachable server — each its code, naming the URI`, async (t) => {
    if (!(await requireObjectStores(t))) return;
    const bucket = uniqueBucket('errors');
    await createBuckets(bucket);
    const store = await storeFor(`${kind.scheme}://${bucket}`, kind.settings);
    try {
      const missing = `${kind.scheme}://${bucket}/uploads/missing.jpg`;
      await assert.rejects(store.get(missing), isCode('OBJECT_FETCH_FAILED', new RegExp(`^cannot read ${missing}: no such object`)));
      const noBucket = `${kind.scheme}://no-such-${bucket}/x.jpg`;
      await assert.rejects(store.get(noBucket), isCode('OBJECT_FETCH_FAILED', /no such bucket or container/));
      await assert.rejects(store.put(noBucket, 'x'), isCode('OBJECT_WRITE_FAILED', /no such bucket or container/));
      // object-sink checks its location at start: a missing bucket is a config error, not a dead letter per input.
      const sinkOptions = { uri: `${kind.scheme}://no-such-${bucket}/lake`, ...kind.settings };
      assert.ok(ajv.validate(objectSink.options, sinkOptions), JSON.stringify(ajv.errors));
      await assert.rejects(
        async () => objectSink.create(sinkOptions, { nodeId: 'lake', topologyName: 't', baseDir: '.', logger: createLogger('silent') }),
        isCode('CONFIG_INVALID', /node `lake`: `uri` .* cannot be used: cannot list .*: no such bucket or container/),
      );

      let denied: ObjectStore;
      if (kind.scheme === 's3') {
        // The AWS chain reads the environment on the first request.
        const saved = process.env.AWS_SECRET_ACCESS_KEY;
        process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
        try {
          denied = await storeFor(missing, kind.settings);
          await assert.rejects(denied.get(`${kind.scheme}://${bucket}/uploads/x.jpg`), isCode('OBJECT_ACCESS_DENIED', /access denied \(SignatureDoesNotMatch, HTTP 403/));
        } finally {
          process.env.AWS_SECRET_ACCESS_KEY = saved;
        }
      } else {
        const wrongKey = AZURE_CONNECTION.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 7).toString('base64')}`);
        denied = await storeFor(missing, { azure: { connectionString: wrongKey } });
        await assert.rejects(denied.get(`${kind.scheme}://${bucket}/uploads/x.jpg`), isCode('OBJECT_ACCESS_DENIED', /access denied \(AuthorizationFailure, HTTP 403/));
      }
      await denied.close();

      const port = await closedPort();
      const down =
        kind.scheme === 's3'
          ? await storeFor(missing, { s3: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true }, sdkAttempts: 1 })
          : await storeFor(missing, { azure: { connectionString: AZURE_CONNECTION.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`) }, sdkAttempts: 1 });
      await assert.rejects(down.get(missing), (e: unknown) => isCode('OBJECT_STORE_UNAVAILABLE', /the object store is unavailable \(.*ECONNREFUSED/)(e) && (e as CentaurError).retriable);
      await down.close();
    } finally {
      await store.close();
      await deleteBuckets(bucket);
    }
  });
}

interface LakeRecord {
  id: string;
  eventTime: string;
  label?: string;
  prediction: { label: string; confidence: number };
  model: { name: string };
  metadata: { uri: string };
  archive: { uri: string; sha256: string };
}

test('topology: uploads in S3 and Azure → fetch-object → decode → micro-batch → infer → object-sink lakes in S3 and Azure', async (t) => {
  if (!(await requireObjectStores(t))) return;
  const bucket = uniqueBucket('lake');
  await createBuckets(bucket);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-lake-'));
  try {
    // 10 generated images: 6 uploaded to S3, 4 to Azure, and 2 of the S3 ones to Azure again under other names.
    const images = await generateImages({ outDir: path.join(dir, 'images'), count: 10, seed: 4242, width: 160, height: 120 });
    const bytes = await Promise.all(images.map((i) => readFile(i.path)));
    const inputs: { uri: string; label?: string; eventTime: number }[] = [];
    const day = (n: number): number => Date.UTC(2026, 5, n, 12);
    for (const [i, image] of images.entries()) {
      const body = bytes[i] as Buffer;
      const name = `uploads/${path.basename(image.path)}`;
      if (i < 6) await putS3(bucket, name, body);
      else await putAzure(bucket, name, body);
      inputs.push({ uri: `${i < 6 ? 's3' : 'azure'}://${bucket}/${name}`, label: image.label, eventTime: day(1 + (i % 2)) });
    }
    await putAzure(bucket, 'uploads/copy-a.jpg', bytes[0] as Buffer);
    await putAzure(bucket, 'uploads/copy-b.jpg', bytes[1] as Buffer);
    inputs.push({ uri: `azure://${bucket}/uploads/copy-a.jpg`, eventTime: day(1) }, { uri: `azure://${bucket}/uploads/copy-b.jpg`, eventTime: day(1) });
    // The same S3 objects again, as a retried upload event would name them.
    inputs.push(...inputs.slice(0, 3).map((i) => ({ ...i })));
    const missing = [`s3://${bucket}/uploads/missing.jpg`, `azure://${bucket}/uploads/missing.jpg`];
    inputs.splice(4, 0, { uri: missing[0] as string, eventTime: day(1) });
    inputs.push({ uri: missing[1] as string, eventTime: day(2) });
    const list = uniqueBucket('inputs');
    useUriList(list, inputs);

    const yaml = `version: 1
name: ${uniqueBucket('lake')}
limits: { maxInFlight: 64, commitIntervalMs: 50 }
nodes:
  uploads: { kind: uri-list-source, list: ${list} }
  fetch:
    kind: fetch-object
    from: [uploads]
    concurrency: 4
    retries: 1
    s3:
      endpoint: \${CENTAUR_S3_ENDPOINT}
      forcePathStyle: true
    azure:
      connectionString: \${CENTAUR_AZURE_BLOB_CONNECTION_STRING}
  decode: { kind: decode-image, from: [fetch], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${path.resolve('models/demo')} } }
  s3-lake:
    kind: object-sink
    from: [infer]
    uri: s3://${bucket}/lake
    maxIdleMs: 100
    s3:
      endpoint: \${CENTAUR_S3_ENDPOINT}
      forcePathStyle: true
  azure-lake:
    kind: object-sink
    from: [infer]
    uri: azure://${bucket}/lake
    maxFileRecords: 5
    maxIdleMs: 100
    azure:
      connectionString: \${CENTAUR_AZURE_BLOB_CONNECTION_STRING}
  dead-letters: { kind: dead-letter, dir: ${path.join(dir, 'dlq')} }
`;
    const env = { ...process.env, CENTAUR_S3_ENDPOINT: S3_ENDPOINT, CENTAUR_AZURE_BLOB_CONNECTION_STRING: AZURE_CONNECTION };
    const topology = parseTopology(yaml, path.join(dir, 'lake.yaml'), { env, components: [...allComponents, uriListSource] });
    const summary = await new Runtime(topology, { logger: createLogger('silent') }).run();

    const predicted = inputs.length - missing.length;
    assert.equal(summary.inputs, inputs.length);
    assert.equal(summary.predictions, predicted);
    assert.equal(summary.deadLetters, missing.length);
    assert.equal(summary.completed + summary.deadLetters, summary.inputs, 'every input accounted for');
    assert.equal(summary.unfinished, 0);

    const dlqFiles = await readdir(path.join(dir, 'dlq'));
    const letters = (await Promise.all(dlqFiles.map((f) => readFile(path.join(dir, 'dlq', f), 'utf8'))))
      .flatMap((text) => text.trimEnd().split('\n'))
      .map((line) => JSON.parse(line) as { node: string; error: { code: string; message: string }; payload: { uri: string } });
    assert.deepEqual(letters.map((l) => l.payload.uri).sort(), [...missing].sort());
    for (const letter of letters) {
      assert.equal(letter.node, 'fetch');
      assert.equal(letter.error.code, 'OBJECT_FETCH_FAILED');
      assert.ok(letter.error.message.startsWith(`cannot read ${letter.payload.uri}: no such object`), letter.error.message);
    }

    const distinct = new Set(bytes.map(sha256));
    const lakes = [
      { scheme: 's3', list: listS3, get: getS3 },
      { scheme: 'azure', list: listAzure, get: getAzure },
    ] as const;
    for (const lake of lakes) {
      const archived = await lake.list(bucket, 'lake/images/');
      assert.equal(archived.length, distinct.size, `${lake.scheme}: each distinct image archived once`);
      for (const key of archived) {
        const hash = /^lake\/images\/([0-9a-f]{2})\/([0-9a-f]{64})\.jpg$/.exec(key);
        assert.ok(hash !== null && hash[2]?.startsWith(hash[1] as string), key);
        assert.equal(sha256(await lake.get(bucket, key)), hash[2], `${key} holds the image it is named after`);
      }
      const files = await lake.list(bucket, 'lake/predictions/');
      assert.ok(files.every((f) => /^lake\/predictions\/dt=2026-06-0[12]\/part-\d{8}T\d{6}Z-[0-9a-f]{6}-\d{6}\.jsonl$/.test(f)), files.join('\n'));
      assert.deepEqual([...new Set(files.map((f) => path.posix.dirname(f)))].sort(), ['lake/predictions/dt=2026-06-01', 'lake/predictions/dt=2026-06-02']);
      const records: LakeRecord[] = [];
      for (const file of files) {
        const lines = (await lake.get(bucket, file)).toString().trimEnd().split('\n');
        for (const line of lines) {
          const record = JSON.parse(line) as LakeRecord;
          assert.equal(`lake/predictions/dt=${record.eventTime.slice(0, 10)}`, path.posix.dirname(file), 'partitioned by event date');
          records.push(record);
        }
      }
      if (lake.scheme === 'azure') {
        assert.ok(files.length >= Math.ceil(predicted / 5), `maxFileRecords 5 rolled ${files.length} files`);
        for (const file of files) assert.ok((await lake.get(bucket, file)).toString().trimEnd().split('\n').length <= 5, `${file} holds at most 5 records`);
      }
      assert.equal(records.length, predicted, `${lake.scheme}: one record per prediction`);
      assert.equal(new Set(records.map((r) => r.id)).size, predicted);
      for (const record of records) {
        assert.equal(record.model.name, 'horse-or-human');
        assert.ok(['horse', 'human'].includes(record.prediction.label));
        assert.ok(archived.includes(record.archive.uri.replace(`${lake.scheme}://${bucket}/`, '')), `${record.archive.uri} is archived`);
        const input = inputs[Number(record.id.slice('in-'.length))];
        assert.equal(record.metadata.uri, input?.uri);
      }
      assert.ok(!records.some((r) => missing.includes(r.metadata.uri)));
    }
  } finally {
    await deleteBuckets(bucket);
  }
});
