/**
 * `object-source` against real stores (S3Proxy, Azurite from scripts/services/services.sh) and a
 * file:// folder: `startAfter` listings, then whole topologies in process — generated images in
 * the store → object-source → decode-image → micro-batch → infer (models/demo) → files-sink:
 * every image classified once, an oversized object dead-lettered with its URI while the rest go
 * on, the watermark stored in the store itself, a restart that reads nothing again, and `poll`
 * picking up objects written while it runs.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../../src/core/logger.js';
import { renderImage } from '../../src/demo/generate-images.js';
import type { DemoClass } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';
import { storeFor } from '../../src/storage/store-for.js';
import type { StoreSettings } from '../../src/storage/store-options.js';
import { parseTopology } from '../../src/topology/load.js';
import { AZURE_CONNECTION, createBuckets, deleteBuckets, getAzure, getS3, putAzure, putS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { readJsonLines } from '../helpers/jsonl-files.js';

/** One store under test: how to put objects, how a topology names them, where its watermark lives. */
interface Lake {
  readonly scheme: 's3' | 'azure' | 'file';
  /** Creates the bucket, container or folder; returns the base URI as a topology writes it, and a cleanup. */
  readonly open: (t: TestContext, dir: string) => Promise<{ base: string; uriOf: (key: string) => string; put: (key: string, body: Buffer) => Promise<void>; watermark: string; readWatermark: () => Promise<{ key: string }>; keyOf: (key: string) => string; close: () => Promise<void> } | undefined>;
  /** The store options a node needs, as YAML. */
  readonly yaml: string;
  readonly settings: StoreSettings;
}

function cloud(scheme: 's3' | 'azure'): Lake {
  const put = scheme === 's3' ? putS3 : putAzure;
  const get = scheme === 's3' ? getS3 : getAzure;
  return {
    scheme,
    yaml: scheme === 's3' ? `s3: { endpoint: "\${CENTAUR_S3_ENDPOINT}", forcePathStyle: true }` : `azure: { connectionString: "\${CENTAUR_AZURE_BLOB_CONNECTION_STRING}" }`,
    settings: scheme === 's3' ? { s3: { endpoint: S3_ENDPOINT, forcePathStyle: true } } : { azure: { connectionString: AZURE_CONNECTION } },
    open: async (t) => {
      if (!(await requireObjectStores(t))) return undefined;
      const bucket = uniqueBucket('objsrc');
      await createBuckets(bucket);
      const base = `${scheme}://${bucket}`;
      return {
        base: `${base}/`,
        uriOf: (key) => `${base}/${key}`,
        keyOf: (key) => key,
        put: (key, body) => put(bucket, key, body),
        watermark: `${base}/state/watermark.json`,
        readWatermark: async () => JSON.parse((await get(bucket, 'state/watermark.json')).toString()) as { key: string },
        close: () => deleteBuckets(bucket),
      };
    },
  };
}

const fileLake: Lake = {
  scheme: 'file',
  yaml: '',
  settings: {},
  open: async (_t, dir) => {
    const root = path.join(dir, 'lake');
    await mkdir(root, { recursive: true });
    return {
      base: 'lake/',
      uriOf: (key) => pathToFileURL(path.join(root, key)).href,
      keyOf: (key) => path.join(root, key),
      put: async (key, body) => {
        await mkdir(path.dirname(path.join(root, key)), { recursive: true });
        await writeFile(path.join(root, key), body);
      },
      watermark: 'state/watermark.json',
      readWatermark: async () => JSON.parse(await readFile(path.join(dir, 'state/watermark.json'), 'utf8')) as { key: string },
      close: async () => undefined,
    };
  },
};

const LAKES: readonly Lake[] = [cloud('s3'), cloud('azure'), fileLake];
const ENV = { ...process.env, CENTAUR_S3_ENDPOINT: S3_ENDPOINT, CENTAUR_AZURE_BLOB_CONNECTION_STRING: AZURE_CONNECTION };
const MAX_BYTES = 200_000;

/** `count` small generated images, alternating classes, keyed `<folder>/<class>s/<class>-<n>.jpg`. */
async function images(folder: string, count: number, first = 0): Promise<{ key: string; label: DemoClass; body: Buffer }[]> {
  const out: { key: string; label: DemoClass; body: Buffer }[] = [];
  for (let i = first; i < first + count; i += 1) {
    const label: DemoClass = i % 2 === 0 ? 'horse' : 'human';
    out.push({ key: `${folder}/${label}s/${label}-${String(i).padStart(3, '0')}.jpg`, label, body: await renderImage(label, 9000 + i, { width: 96, height: 72 }) });
  }
  return out;
}

function topologyYaml(lake: Lake, base: string, folder: string, watermark: string, extra: string): string {
  return `version: 1
name: ${uniqueBucket('object-source')}
limits: { commitIntervalMs: 50, drainTimeoutMs: 60000 }
nodes:
  lake:
    kind: object-source
    uri: ${base}${folder}/
    labels: parent-folder
    labelMap: { horses: horse, humans: human }
    maxBytes: ${MAX_BYTES}
    concurrency: 4
    pageSize: 3
    watermark: { uri: ${watermark}, intervalMs: 0 }
    ${extra}
    ${lake.yaml}
  decode: { kind: decode-image, from: [lake], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${path.resolve('models/demo')} } }
  out: { kind: files-sink, from: [infer], dir: out }
  dead-letters: { kind: dead-letter, dir: dlq }
`;
}

function runtimeFor(yaml: string, dir: string): Runtime {
  return new Runtime(parseTopology(yaml, path.join(dir, 'topology.yaml'), { env: ENV }), { logger: createLogger('silent') });
}

interface OutputRecord {
  id: string;
  label?: string;
  prediction?: { label: string };
  source: { partition: string; offset: number; uri?: string };
}

async function jsonLines<T>(folder: string): Promise<T[]> {
  return readJsonLines<T>(folder, '');
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const lake of LAKES.filter((l) => l.scheme !== 'file')) {
  test(`${lake.scheme}: list with startAfter returns only later keys, a page at a time`, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-source-'));
    const opened = await lake.open(t, dir);
    if (opened === undefined) return;
    const store = await storeFor(opened.base, lake.settings);
    try {
      for (const key of ['p/a/1', 'p/a/2', 'p/b/1', 'p/b/2', 'p/c', 'q/1']) await opened.put(key, Buffer.from(key));
      const seen: string[] = [];
      let continuation: string | undefined;
      do {
        const page = await store.list(`${opened.base}p/`, { limit: 2, startAfter: 'p/a/2', ...(continuation === undefined ? {} : { continuation }) });
        seen.push(...page.objects.map((o) => o.key));
        continuation = page.continuation;
      } while (continuation !== undefined);
      assert.deepEqual(seen, ['p/b/1', 'p/b/2', 'p/c']);
      assert.deepEqual((await store.list(`${opened.base}p/`, { startAfter: 'p/c' })).objects, []);
    } finally {
      await store.close();
      await opened.close();
    }
  });
}

for (const lake of LAKES) {
  test(`${lake.scheme}: once — every image classified once, an oversized object dead-lettered, a restart reads nothing again`, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-source-'));
    const opened = await lake.open(t, dir);
    if (opened === undefined) return;
    try {
      const inputs = await images('uploads', 6);
      for (const image of inputs) await opened.put(image.key, image.body);
      await opened.put('uploads/big.jpg', Buffer.alloc(MAX_BYTES + 1, 0xff));
      await opened.put('uploads/readme.txt', Buffer.from('not an image'));
      await opened.put('elsewhere/horse.jpg', inputs[0]?.body as Buffer);
      const yaml = topologyYaml(lake, opened.base, 'uploads', opened.watermark, '');

      const summary: RunSummary = await runtimeFor(yaml, dir).run();
      assert.equal(summary.inputs, inputs.length + 1);
      assert.equal(summary.predictions, inputs.length);
      assert.equal(summary.deadLetters, 1);
      assert.equal(summary.unfinished, 0);

      const records = await jsonLines<OutputRecord>(path.join(dir, 'out'));
      assert.deepEqual(records.map((r) => r.id).sort(), inputs.map((i) => opened.uriOf(i.key)).sort(), 'each image classified once, named by its URI');
      for (const record of records) {
        assert.equal(record.source.uri, record.id);
        assert.ok(['horse', 'human'].includes(record.prediction?.label ?? ''));
        assert.equal(record.label, inputs.find((i) => opened.uriOf(i.key) === record.id)?.label);
      }
      const letters = await jsonLines<{ node: string; error: { code: string; message: string }; payload: { uri: string } }>(path.join(dir, 'dlq'));
      assert.equal(letters.length, 1);
      assert.equal(letters[0]?.node, 'lake');
      assert.equal(letters[0]?.error.code, 'OBJECT_TOO_LARGE');
      assert.equal(letters[0]?.payload.uri, opened.uriOf('uploads/big.jpg'));
      assert.equal(letters[0]?.error.message, `${opened.uriOf('uploads/big.jpg')} is ${MAX_BYTES + 1} bytes, over maxBytes ${MAX_BYTES}`);

      const last = inputs.map((i) => i.key).sort().at(-1) as string;
      assert.equal((await opened.readWatermark()).key, opened.keyOf(last), 'the watermark is the last key done');

      const again = await runtimeFor(yaml, dir).run();
      assert.equal(again.inputs, 0, 'a restart lists from after the watermark: nothing is read again');
      assert.equal((await jsonLines<OutputRecord>(path.join(dir, 'out'))).length, inputs.length);
    } finally {
      await opened.close();
    }
  });

  test(`${lake.scheme}: poll — objects written while it runs are picked up, each once; a restart reads nothing again`, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-object-source-'));
    const opened = await lake.open(t, dir);
    if (opened === undefined) return;
    try {
      const before = await images('incoming', 3);
      const later = await images('incoming', 3, 3);
      for (const image of before) await opened.put(image.key, image.body);
      const yaml = topologyYaml(lake, opened.base, 'incoming', opened.watermark, 'mode: poll\n    pollIntervalMs: 200');
      const runtime = runtimeFor(yaml, dir);
      const running = runtime.run();
      const count = async (): Promise<number> => (await jsonLines<OutputRecord>(path.join(dir, 'out'))).length;
      try {
        await waitFor('the first 3 images classified', async () => (await count()) >= before.length);
        // Written under `z-…`, the later keys sort after every key listed so far, so the next poll finds them.
        for (const image of later) await opened.put(image.key.replace('incoming/', 'incoming/z-'), image.body);
        await waitFor('the 3 later images classified', async () => (await count()) >= before.length + later.length);
      } finally {
        runtime.stop();
      }
      const summary = await running;
      assert.equal(summary.inputs, before.length + later.length);
      const records = await jsonLines<OutputRecord>(path.join(dir, 'out'));
      const expected = [...before.map((i) => i.key), ...later.map((i) => i.key.replace('incoming/', 'incoming/z-'))];
      assert.deepEqual(records.map((r) => r.id).sort(), expected.map(opened.uriOf).sort(), 'each object classified once');
      assert.deepEqual(records.map((r) => r.source.offset).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
      assert.equal((await opened.readWatermark()).key, opened.keyOf(expected.sort().at(-1) as string));

      const again = await runtimeFor(yaml.replace('mode: poll', 'mode: once'), dir).run();
      assert.equal(again.inputs, 0, 'nothing read again after the watermark');
    } finally {
      await opened.close();
    }
  });
}
