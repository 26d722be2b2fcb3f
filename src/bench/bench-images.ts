/** Generates (once) and caches the benchmark's 640×480 JPEGs, so repeated runs share them. */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateImages } from '../demo/generate-images.js';

/** The folder holding `count` generated 640×480 images (horses/ and humans/), generating it if needed. */
export async function benchImages(count: number, root = '.cache/bench'): Promise<string> {
  const dir = path.resolve(root, `images-640x480-q80-${count}`);
  const marker = path.join(dir, '.complete');
  try {
    await readdir(dir);
    const done = await readdir(dir).then((names) => names.includes('.complete'));
    if (done) return dir;
    await rm(dir, { recursive: true, force: true });
  } catch {
    // Not generated yet.
  }
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  await generateImages({ outDir: dir, count, seed: 20261124, width: 640, height: 480, quality: 80, concurrency: 4 });
  await writeFile(marker, `${count}\n`);
  process.stderr.write(`generated ${count} images in ${((performance.now() - started) / 1000).toFixed(1)} s into ${dir}\n`);
  return dir;
}
