// CLI used by build.py: generates a seeded image set and, optionally, the exact serving-side 224x224 tensor of it.
import { open, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generateImages, isDemoClass, type DemoClass } from '../../src/demo/generate-images.js';

/** Resizes an encoded image exactly as the serving side does (stretch to 224x224) and returns packed RGB bytes. */
async function toTensorBytes(path: string, kernel: 'linear' | 'lanczos3'): Promise<Buffer> {
  const { data, info } = await sharp(path)
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .resize(224, 224, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== 224 || info.height !== 224 || info.channels !== 3) throw new Error(`bad tensor for ${path}`);
  return data;
}

/** Parses the command line, writes the images and (with --tensor) `<tensor>` as uint8 NHWC plus `<tensor>.json` with labels. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string' },
      classes: { type: 'string', default: 'horse,human' },
      width: { type: 'string', default: '320' },
      height: { type: 'string', default: '240' },
      quality: { type: 'string', default: '85' },
      tensor: { type: 'string' },
    },
  });
  if (!values.out || !values.count || !values.seed) throw new Error('usage: generate.ts --out DIR --count N --seed S [--classes a,b] [--width W --height H --quality Q] [--tensor FILE]');
  const classes = values.classes.split(',').map((c) => c.trim());
  const bad = classes.filter((c) => !isDemoClass(c));
  if (bad.length > 0) throw new Error(`unknown classes: ${bad.join(', ')}`);
  const started = Date.now();
  const images = await generateImages({
    outDir: values.out,
    count: Number(values.count),
    seed: Number(values.seed),
    classes: classes as DemoClass[],
    width: Number(values.width),
    height: Number(values.height),
    quality: Number(values.quality),
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(`generated ${images.length} images in ${seconds.toFixed(1)}s (${(images.length / seconds).toFixed(0)} img/s) into ${values.out}`);
  if (!values.tensor) return;
  const file = await open(values.tensor, 'w');
  try {
    // half the images use the linear kernel the manifest names, half lanczos3 (sharp's default), for robustness
    const batch = 8;
    for (let i = 0; i < images.length; i += batch) {
      const slice = images.slice(i, i + batch);
      const tensors = await Promise.all(slice.map((img, k) => toTensorBytes(img.path, (i + k) % 2 === 0 ? 'linear' : 'lanczos3')));
      for (const t of tensors) await file.write(t);
    }
  } finally {
    await file.close();
  }
  await writeFile(`${values.tensor}.json`, JSON.stringify({ shape: [images.length, 224, 224, 3], labels: images.map((i) => i.label), paths: images.map((i) => i.path) }));
  console.log(`wrote tensor ${values.tensor}`);
}

await main();
