// Measures the demo model's accuracy in Node: fresh seeded holdout -> sharp preprocessing -> onnxruntime-node.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { generateImages, type DemoClass, type GeneratedImage } from '../../src/demo/generate-images.js';

const SIZE = 224;

/** The fields of models/demo/manifest.json this script relies on. */
interface Manifest {
  file: string;
  classes: string[];
  input: { name: string; kernel: 'linear' | 'lanczos3' | 'nearest' | 'cubic' | 'mitchell' | 'lanczos2' };
  outputs: { probabilities: string; embedding: string };
}

/** Serving-side preprocessing: decode, stretch to 224x224 and scale to [0, 1] floats in NHWC order. */
async function preprocess(path: string, kernel: Manifest['input']['kernel']): Promise<Float32Array> {
  const raw = await sharp(path)
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .resize(SIZE, SIZE, { fit: 'fill', kernel })
    .raw()
    .toBuffer();
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) / 255;
  return out;
}

/** Runs the model over the images in batches and returns the fraction whose argmax matches the label. */
async function accuracy(session: ort.InferenceSession, manifest: Manifest, images: GeneratedImage[], kernel: Manifest['input']['kernel'], batch: number): Promise<{ acc: number; perClass: Record<string, string> }> {
  let correct = 0;
  const seen: Record<string, [number, number]> = {};
  for (let i = 0; i < images.length; i += batch) {
    const slice = images.slice(i, i + batch);
    const tensors = await Promise.all(slice.map((img) => preprocess(img.path, kernel)));
    const data = new Float32Array(slice.length * SIZE * SIZE * 3);
    tensors.forEach((t, k) => data.set(t, k * SIZE * SIZE * 3));
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, [slice.length, SIZE, SIZE, 3]) };
    const result = await session.run(feeds);
    const probs = result[manifest.outputs.probabilities];
    const emb = result[manifest.outputs.embedding];
    if (!probs || !emb) throw new Error('model is missing an output named in the manifest');
    if (emb.dims[1] !== 1280) throw new Error(`embedding has dims ${emb.dims.join('x')}`);
    const p = probs.data as Float32Array;
    const k = manifest.classes.length;
    slice.forEach((img, n) => {
      let best = 0;
      for (let c = 1; c < k; c++) if ((p[n * k + c] as number) > (p[n * k + best] as number)) best = c;
      const entry = (seen[img.label] ??= [0, 0]);
      entry[1]++;
      if (manifest.classes[best] === img.label) {
        correct++;
        entry[0]++;
      }
    });
  }
  const perClass = Object.fromEntries(Object.entries(seen).map(([label, [ok, n]]) => [label, `${ok}/${n}`]));
  return { acc: correct / images.length, perClass };
}

/** Parses flags, generates the holdout, evaluates with the manifest's kernel and with sharp's default, prints JSON. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/demo' },
      count: { type: 'string', default: '600' },
      seed: { type: 'string', default: '31337' },
      width: { type: 'string', default: '320' },
      height: { type: 'string', default: '240' },
      out: { type: 'string', default: '.cache/evaluate-holdout' },
      batch: { type: 'string', default: '32' },
      keep: { type: 'boolean', default: false },
    },
  });
  const manifest = JSON.parse(await readFile(join(values.model, 'manifest.json'), 'utf8')) as Manifest;
  await rm(values.out, { recursive: true, force: true });
  const images = await generateImages({
    outDir: values.out,
    count: Number(values.count),
    seed: Number(values.seed),
    classes: manifest.classes as DemoClass[],
    width: Number(values.width),
    height: Number(values.height),
  });
  const session = await ort.InferenceSession.create(join(values.model, manifest.file));
  const started = Date.now();
  const main = await accuracy(session, manifest, images, manifest.input.kernel, Number(values.batch));
  const seconds = (Date.now() - started) / 1000;
  const lanczos = await accuracy(session, manifest, images, 'lanczos3', Number(values.batch));
  console.log(JSON.stringify({
    holdoutSeed: Number(values.seed),
    holdoutSize: images.length,
    size: `${values.width}x${values.height}`,
    kernel: manifest.input.kernel,
    accuracy: main.acc,
    perClass: main.perClass,
    accuracyLanczos3: lanczos.acc,
    imagesPerSecond: Math.round(images.length / seconds),
  }, null, 2));
  if (!values.keep) await rm(values.out, { recursive: true, force: true });
}

await main();
