import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { rollback } from '../../src/registry/promotion.js';
import { main } from '../../src/cli/main.js';
import { TINY_MODEL, tinyModelVersion } from '../helpers/model-copy.js';


async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

test('register copies a version in with its checksum; aliases resolve; versions are immutable', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-registry-'));
  const registry = new ModelRegistry(root);
  const name = (JSON.parse(await readFile(path.join(TINY_MODEL, 'manifest.json'), 'utf8')) as { name: string }).name;
  const v1 = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  assert.equal(v1.version, '1');
  assert.match(v1.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(v1.aliases, ['production']);
  await registry.register(await tinyModelVersion('2'), { aliases: ['candidate'] });
  assert.equal(await registry.resolveVersion(name, 'production'), '1');
  assert.equal((await registry.load(name, 'candidate')).manifest.version, '2');
  await registry.setAlias(name, 'production', '2');
  assert.equal((await registry.load(name, 'production')).manifest.version, '2');
  assert.deepEqual((await registry.versions(name)).map((v) => [v.version, v.aliases]), [['1', []], ['2', ['candidate', 'production']]]);
  await assert.rejects(registry.register(await tinyModelVersion('2')), /already registered/);
  await assert.rejects(registry.setAlias(name, 'production', '9'), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
  await assert.rejects(registry.load(name, 'staging'), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
  await assert.rejects(registry.load(name, '../1'), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
});

test('a corrupted model file is refused at load, naming both checksums', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-registry-'));
  const registry = new ModelRegistry(root);
  const info = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  const manifest = JSON.parse(await readFile(path.join(root, info.model, 'versions', '1', 'manifest.json'), 'utf8')) as { file: string };
  await writeFile(path.join(root, info.model, 'versions', '1', manifest.file), 'not a model');
  await assert.rejects(registry.load(info.model, 'production'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'MODEL_LOAD_FAILED');
    assert.match(e.message, new RegExp(`sha256 [0-9a-f]{64}, the manifest says ${info.sha256 ?? ''}`));
    return true;
  });
});

test('centaur models register, alias, list and show', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-registry-'));
  const r1 = await cli('models', 'register', await tinyModelVersion('1'), '--registry', root, '--alias', 'production');
  assert.equal(r1.code, 0, r1.err);
  assert.match(r1.out, /registered .* version 1 \(sha256 [0-9a-f]{64}\), aliases production/);
  assert.equal((await cli('models', 'register', await tinyModelVersion('2'), '--registry', root)).code, 0);
  const model = (await new ModelRegistry(root).models())[0] as string;
  assert.equal((await cli('models', 'alias', model, 'production', '2', '--registry', root)).code, 0);
  const list = await cli('models', 'list', '--registry', root, '--json');
  const parsed = JSON.parse(list.out) as { model: string; versions: { version: string; aliases: string[] }[] }[];
  assert.deepEqual(parsed[0]?.versions.map((v) => [v.version, v.aliases]), [['1', []], ['2', ['production']]]);
  const show = await cli('models', 'show', model, '--registry', root);
  assert.equal((JSON.parse(show.out) as { version: string }).version, '2');
  const missing = await cli('models', 'show', model, 'nope', '--registry', root);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /MODEL_NOT_FOUND/);
  const noRegistry = await cli('models', 'list', '--registry', '');
  assert.equal(noRegistry.code, 2);
});

test('rollback steps back through real moves: an alias set again to the version it named is not a step', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'centaur-registry-'));
  const registry = new ModelRegistry(root);
  const v1 = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  await registry.register(await tinyModelVersion('2'));
  await registry.setAlias(v1.model, 'production', '2');
  await registry.setAlias(v1.model, 'production', '2');
  assert.deepEqual(await rollback(registry, v1.model), { alias: 'production', from: '2', to: '1' });
});
