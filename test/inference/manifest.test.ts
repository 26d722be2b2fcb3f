import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CentaurError } from '../../src/core/errors.js';
import { loadManifest } from '../../src/inference/manifest.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-model/', import.meta.url));

/** Copies the tiny model to a temporary folder and applies `edit` to its manifest. */
async function withManifest(
  edit: (manifest: Record<string, unknown>) => void,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'centaur-manifest-'));
  try {
    await cp(FIXTURE, dir, { recursive: true });
    const file = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(manifest);
    await writeFile(file, JSON.stringify(manifest));
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const modelLoadFailed = (pattern: RegExp) => (error: unknown) =>
  error instanceof CentaurError && error.code === 'MODEL_LOAD_FAILED' && pattern.test(error.message);

void test('loads the tiny model manifest and resolves the model path', async () => {
  const loaded = await loadManifest(FIXTURE);
  assert.equal(loaded.manifest.name, 'tiny');
  assert.deepEqual(loaded.manifest.classes, ['dark', 'bright']);
  assert.equal(loaded.manifest.input.layout, 'NHWC');
  assert.equal(loaded.modelPath, path.join(FIXTURE, 'model.onnx'));
});

void test('a missing manifest names the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'centaur-manifest-'));
  try {
    await assert.rejects(loadManifest(dir), modelLoadFailed(/manifest\.json: cannot read the manifest/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('invalid JSON is reported', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'centaur-manifest-'));
  try {
    await writeFile(path.join(dir, 'manifest.json'), '{ "name": ');
    await assert.rejects(loadManifest(dir), modelLoadFailed(/not valid JSON/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('schema problems are all listed, with their place', async () => {
  await withManifest(
    (m) => {
      m.unknownField = 1;
      (m.input as Record<string, unknown>).layout = 'HWC';
      delete m.classes;
    },
    async (dir) => {
      await assert.rejects(loadManifest(dir), (error: unknown) => {
        assert.ok(error instanceof CentaurError && error.code === 'MODEL_LOAD_FAILED');
        assert.match(error.message, /unknownField/);
        assert.match(error.message, /\/input\/layout/);
        assert.match(error.message, /classes/);
        return true;
      });
    },
  );
});

void test('a missing model file is MODEL_LOAD_FAILED naming it', async () => {
  await withManifest(
    (m) => {
      m.file = 'absent.onnx';
    },
    async (dir) => {
      await assert.rejects(loadManifest(dir), modelLoadFailed(/absent\.onnx is missing/));
    },
  );
});

void test('a wrong sha256 is MODEL_LOAD_FAILED with both hashes; no sha256 skips the check', async () => {
  await withManifest(
    (m) => {
      m.sha256 = '0'.repeat(64);
    },
    async (dir) => {
      await assert.rejects(loadManifest(dir), modelLoadFailed(/model\.onnx has sha256 [0-9a-f]{64}, the manifest says 0{64}/));
    },
  );
  await withManifest(
    (m) => {
      delete m.sha256;
    },
    async (dir) => {
      const loaded = await loadManifest(dir);
      assert.equal(loaded.manifest.sha256, undefined);
    },
  );
});

test('the fingerprint: computed from the input spec and the model file, changed by either, and the manifest\'s own wins', async () => {
  let base = '';
  await withManifest(() => undefined, async (dir) => {
    base = (await loadManifest(dir)).fingerprint;
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal((await loadManifest(dir)).fingerprint, base, 'the same model, the same fingerprint');
  });
  await withManifest((m) => ((m.input as Record<string, unknown>).kernel = (m.input as Record<string, unknown>).kernel === 'nearest' ? 'bilinear' : 'nearest'), async (dir) => {
    assert.notEqual((await loadManifest(dir)).fingerprint, base, 'another resize kernel makes other embeddings');
  });
  await withManifest((m) => ((m.version = '99'), (m.classes = ['a', 'b', 'c'])), async (dir) => {
    assert.equal((await loadManifest(dir)).fingerprint, base, 'a new version name or class list alone keeps it');
  });
  await withManifest((m) => (m.fingerprint = 'a'.repeat(64)), async (dir) => {
    assert.equal((await loadManifest(dir)).fingerprint, 'a'.repeat(64));
  });
});
