/**
 * An image stream for drift tests: generated demo images interleaved by class into one folder, in
 * file-name order, the last ones darkened (a brightness shift the drift statistics must see).
 */
import { copyFile, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateImages } from '../../src/demo/generate-images.js';

/** Writes `count` images (horse, human, horse, …) into `dir` as 00000.jpg…; the last `darkened` at half brightness. */
export async function writeShiftedStream(dir: string, count: number, seed: number, darkened: number): Promise<void> {
  const raw = await mkdtemp(path.join(tmpdir(), 'centaur-drift-raw-'));
  await generateImages({ outDir: raw, count, seed, width: 96, height: 72 });
  const horses = (await readdir(path.join(raw, 'horses'))).sort().map((f) => path.join(raw, 'horses', f));
  const humans = (await readdir(path.join(raw, 'humans'))).sort().map((f) => path.join(raw, 'humans', f));
  const files = horses.flatMap((h, i) => [h, humans[i] as string]);
  await mkdir(dir, { recursive: true });
  await Promise.all(
    files.map(async (file, i) => {
      const target = path.join(dir, `${String(i).padStart(5, '0')}.jpg`);
      if (i < files.length - darkened) return copyFile(file, target);
      return sharp(file).linear(0.5, 0).jpeg({ quality: 85 }).toFile(target);
    }),
  );
}
