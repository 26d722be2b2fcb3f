/**
 * The model registry in real object stores (S3 through S3Proxy, Azure through Azurite): register,
 * alias, load (downloaded and checksum-verified), the CLI against s3://, and an infer node
 * following an alias in S3 and swapping versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { main } from '../../src/cli/main.js';
import { rollback } from '../../src/registry/promotion.js';
import { RemoteModelRegistry } from '../../src/registry/remote-model-registry.js';
import { openRegistry } from '../../src/registry/open-registry.js';
import { storeFor } from '../../src/storage/store-for.js';
import { createInfer } from '../../src/operators/infer.js';
import { AZURE_CONNECTION, createBuckets, deleteBuckets, putS3, requireObjectStores, S3_ENDPOINT, uniqueBucket } from '../helpers/object-stores.js';
import { sleep } from '../helpers/fake-components.js';
import { TINY_MODEL, tinyModelVersion } from '../helpers/model-copy.js';


const settings = { s3: { endpoint: S3_ENDPOINT, forcePathStyle: true }, azure: { connectionString: AZURE_CONNECTION } };

for (const scheme of ['s3', 'azure'] as const) {
  test(`${scheme}: register, alias, list and load (downloaded, checksum verified); corruption is refused`, async (t) => {
    if (!(await requireObjectStores(t))) return;
    const bucket = uniqueBucket('registry');
    await createBuckets(bucket);
    try {
      const root = `${scheme}://${bucket}/models`;
      const registry = await openRegistry(root, process.cwd(), settings);
      assert.ok(registry instanceof RemoteModelRegistry);
      const v1 = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
      await registry.register(await tinyModelVersion('2'), { aliases: ['candidate'] });
      assert.deepEqual(await registry.models(), [v1.model]);
      assert.deepEqual((await registry.versions(v1.model)).map((v) => [v.version, v.aliases]), [['1', ['production']], ['2', ['candidate']]]);
      await assert.rejects(registry.register(await tinyModelVersion('2')), /already registered/);
      const cache = await mkdtemp(path.join(tmpdir(), 'centaur-registry-cache-'));
      const fresh = new RemoteModelRegistry(root, await storeFor(root, settings), cache);
      const loaded = await fresh.load(v1.model, 'candidate');
      assert.equal(loaded.manifest.version, '2');
      assert.ok(loaded.dir.startsWith(cache));
      // Promotion and rollback through the alias history kept in the store.
      await registry.setAlias(v1.model, 'production', '2');
      assert.deepEqual(await rollback(fresh, v1.model), { alias: 'production', from: '2', to: '1' });
      assert.deepEqual((await fresh.aliasHistory(v1.model)).map((m) => [m.alias, m.from, m.version, m.reason ?? '']), [
        ['production', null, '1', ''],
        ['candidate', null, '2', ''],
        ['production', '1', '2', ''],
        ['production', '2', '1', 'rollback'],
      ]);
      if (scheme === 's3') {
        // A model file replaced in the store behind the registry's back is refused at load.
        const manifest = JSON.parse(await readFile(path.join(TINY_MODEL, 'manifest.json'), 'utf8')) as { file: string };
        await putS3(bucket, `models/${v1.model}/versions/1/${manifest.file}`, Buffer.from('not a model'));
        const other = new RemoteModelRegistry(root, await storeFor(root, settings), await mkdtemp(path.join(tmpdir(), 'centaur-registry-cache-')));
        await assert.rejects(other.load(v1.model, 'production'), /sha256/);
      }
    } finally {
      await deleteBuckets(bucket).catch(() => undefined);
    }
  });
}

test('s3: the models CLI and an infer node following an alias in S3', async (t) => {
  if (!(await requireObjectStores(t))) return;
  const bucket = uniqueBucket('registry');
  await createBuckets(bucket);
  try {
    const root = `s3://${bucket}/models`;
    const io = { out: (): void => undefined, err: (): void => undefined };
    assert.equal(await main(['models', 'register', await tinyModelVersion('1'), '--registry', root, '--alias', 'production'], io), 0);
    assert.equal(await main(['models', 'register', await tinyModelVersion('2'), '--registry', root], io), 0);
    const registry = await openRegistry(root, process.cwd(), settings);
    const model = (await registry.models())[0] as string;
    const op = await createInfer(
      { model: { registry: root, name: model, pollIntervalMs: 100, s3: settings.s3 }, backend: { kind: 'onnx' }, maxBatchesInFlight: 1, maxBatchSize: 8, retryWindowMs: 0, includeEmbedding: false },
      { baseDir: process.cwd(), nodeId: 'infer', logger: pino({ level: 'silent' }) },
    );
    const serving = (): string => op.manifest.version;
    try {
      assert.equal(serving(), '1');
      assert.equal(await main(['models', 'alias', model, 'production', '2', '--registry', root], io), 0);
      for (let i = 0; i < 100 && serving() !== '2'; i += 1) await sleep(50);
      assert.equal(serving(), '2', 'the node swapped to the version the alias names');
    } finally {
      await op.close();
    }
  } finally {
    await deleteBuckets(bucket).catch(() => undefined);
  }
});
