/**
 * What MLflow answers is not trusted: a tracking URL with credentials is refused before any request
 * (messages would show them), and a version whose `centaur.version` tag is not a usable name — a
 * path, or a name two versions share — is left out of the registry Centaur sees, so it can neither
 * name a folder of the model cache nor stand for another version. Logic over a fake client; the
 * real server is in test/integration/mlflow-training.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CentaurError } from '../../src/core/errors.js';
import { MlflowClient } from '../../src/registry/mlflow-client.js';
import type { MlflowModelVersion } from '../../src/registry/mlflow-client.js';
import { MlflowModelRegistry } from '../../src/registry/mlflow-model-registry.js';
import { parseRetrainRequest } from '../../src/training/retrain-request-record.js';

test('a tracking URL with credentials, or not http(s), is refused without showing the password', () => {
  assert.throws(
    () => new MlflowClient({ url: 'http://bob:s3cret@mlflow:5000', timeoutMs: 1000 }),
    (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && /MLFLOW_TRACKING_USERNAME/.test(e.message) && !e.message.includes('s3cret'),
  );
  assert.throws(() => new MlflowClient({ url: 'file:./mlruns', timeoutMs: 1000 }), /must be http\(s\)/);
});

test('versions named like paths or sharing a name are left out', async () => {
  const version = (number: string, name: string | undefined): MlflowModelVersion => ({ name: 'm', version: number, source: 'mlflow-artifacts:/1/r/artifacts/model', runId: 'r', tags: name === undefined ? {} : { 'centaur.version': name }, aliases: [] });
  const fake = {
    where: 'http://mlflow:5000',
    registeredModel: async () => ({ aliases: { production: '2', candidate: '3' }, tags: {} }),
    modelVersions: async () => [version('1', '1'), version('2', '../../../../home'), version('3', '7'), version('4', '7'), version('5', undefined)],
  } as unknown as MlflowClient;
  const registry = new MlflowModelRegistry('mlflow+http://mlflow:5000', fake, await mkdtemp(path.join(tmpdir(), 'centaur-mlflow-cache-')));
  assert.deepEqual((await registry.versions('m')).map((v) => v.version), ['1', '5']);
  assert.deepEqual(await registry.aliases('m'), {}, 'aliases naming left-out versions are not aliases');
  await assert.rejects(registry.load('m', 'production'), (e: unknown) => e instanceof CentaurError && e.code === 'MODEL_NOT_FOUND');
  await assert.rejects(registry.load('m', '7'), (e: unknown) => e instanceof CentaurError && e.code === 'MODEL_NOT_FOUND');
});

test('a retrain request time must be whole milliseconds', () => {
  assert.throws(() => parseRetrainRequest({ id: 'a', requestedAt: 1.5 }), (e: unknown) => e instanceof CentaurError && e.code === 'RETRAIN_REQUEST_INVALID');
  assert.throws(() => parseRetrainRequest({ id: 'a', requestedAt: 2 ** 60 }), (e: unknown) => e instanceof CentaurError && e.code === 'RETRAIN_REQUEST_INVALID');
  assert.equal(parseRetrainRequest({ id: 'a', requestedAt: 5 }).episode, 'a', 'a v1 request\'s id stands for its episode');
});
