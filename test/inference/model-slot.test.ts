import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelSlot } from '../../src/inference/model-slot.js';
import type { ModelInstance } from '../../src/inference/model-slot.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';

function instance(version: string, closed: string[]): ModelInstance {
  return {
    model: { manifest: { version } } as unknown as LoadedManifest,
    backend: {
      name: 'fake',
      description: `fake ${version}`,
      run: () => Promise.reject(new Error('not used')),
      close: async () => {
        closed.push(version);
      },
    },
  };
}

test('a swap gives new leases the new version; the old one closes after its last lease', async () => {
  const closed: string[] = [];
  const slot = new ModelSlot(instance('1', closed));
  const a = slot.lease();
  const b = slot.lease();
  slot.swap(instance('2', closed));
  const c = slot.lease();
  assert.equal(a.instance.model.manifest.version, '1');
  assert.equal(c.instance.model.manifest.version, '2');
  a.release();
  await Promise.resolve();
  assert.deepEqual(closed, [], 'still leased by b');
  b.release();
  b.release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(closed, ['1']);
  c.release();
  await slot.close();
  assert.deepEqual(closed, ['1', '2']);
});

test('a version with no lease closes at once when swapped out', async () => {
  const closed: string[] = [];
  const slot = new ModelSlot(instance('1', closed));
  slot.swap(instance('2', closed));
  slot.swap(instance('3', closed));
  await slot.close();
  assert.deepEqual(closed, ['1', '2', '3']);
});
