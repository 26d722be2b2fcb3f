// Tests for the seeded demo image generator: determinism, layout, counts and decodability.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { generateImages, renderImage } from '../../src/demo/generate-images.js';

describe('generateImages', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'centaur-gen-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the horses/ humans/ layout with an even split and zero-padded names', async () => {
    const out = join(root, 'layout');
    const images = await generateImages({ outDir: out, count: 7, seed: 1 });
    assert.equal(images.length, 7);
    assert.deepEqual((await readdir(out)).sort(), ['horses', 'humans']);
    const horses = (await readdir(join(out, 'horses'))).sort();
    const humans = (await readdir(join(out, 'humans'))).sort();
    assert.deepEqual(horses, ['horse-000000.jpg', 'horse-000001.jpg', 'horse-000002.jpg', 'horse-000003.jpg']);
    assert.deepEqual(humans, ['human-000000.jpg', 'human-000001.jpg', 'human-000002.jpg']);
    assert.equal(images.filter((i) => i.label === 'horse').length, 4);
    for (const img of images) assert.ok(img.path.includes(`${img.label}s`));
  });

  it('supports extra classes with plural folder names', async () => {
    const out = join(root, 'extra');
    const images = await generateImages({ outDir: out, count: 6, seed: 2, classes: ['dog', 'bird', 'car'] });
    assert.equal(images.length, 6);
    assert.deepEqual((await readdir(out)).sort(), ['birds', 'cars', 'dogs']);
  });

  it('is byte-identical for the same seed and options, whatever the concurrency', async () => {
    const a = await generateImages({ outDir: join(root, 'a'), count: 6, seed: 42, concurrency: 1 });
    const b = await generateImages({ outDir: join(root, 'b'), count: 6, seed: 42, concurrency: 5 });
    for (let i = 0; i < a.length; i++) {
      const pa = a[i]?.path ?? '';
      const pb = b[i]?.path ?? '';
      assert.deepEqual(await readFile(pa), await readFile(pb));
    }
  });

  it('differs for different seeds', async () => {
    const a = await generateImages({ outDir: join(root, 's1'), count: 2, seed: 1 });
    const b = await generateImages({ outDir: join(root, 's2'), count: 2, seed: 2 });
    assert.notDeepEqual(await readFile(a[0]?.path ?? ''), await readFile(b[0]?.path ?? ''));
  });

  it('decodes with sharp at the requested size', async () => {
    const images = await generateImages({ outDir: join(root, 'size'), count: 2, seed: 3, width: 200, height: 150, quality: 70 });
    for (const img of images) {
      const meta = await sharp(img.path).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 200);
      assert.equal(meta.height, 150);
      assert.equal(meta.channels, 3);
    }
  });
});

describe('renderImage', () => {
  it('renders deterministic JPEG bytes in memory', async () => {
    const a = await renderImage('horse', 123, { width: 128, height: 96 });
    const b = await renderImage('horse', 123, { width: 128, height: 96 });
    const c = await renderImage('human', 123, { width: 128, height: 96 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const meta = await sharp(a).metadata();
    assert.equal(meta.width, 128);
    assert.equal(meta.height, 96);
  });

  it('defaults to 320x240', async () => {
    const meta = await sharp(await renderImage('human', 5)).metadata();
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 240);
  });
});
