// Node check run by export-tfjs.py: the TF.js demo model against the ONNX one, both through Centaur's backends, on the quick-start images.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ImageTensor } from '../../src/core/envelope.js';
import { createBackend } from '../../src/inference/create-backend.js';
import type { InferenceOutput } from '../../src/inference/backend.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { packBatch } from '../../src/tensors/pack-batch.js';

/** Every `<dir>/<class folder>/*.jpg`, labelled by its folder (horses → horse, humans → human). */
async function labelledImages(dir: string): Promise<{ file: string; label: string }[]> {
  const out: { file: string; label: string }[] = [];
  for (const folder of (await readdir(dir)).sort()) {
    const files = await readdir(path.join(dir, folder)).catch(() => [] as string[]);
    for (const f of files.filter((x) => /\.jpe?g$/i.test(x)).sort()) out.push({ file: path.join(dir, folder, f), label: folder.replace(/s$/, '') });
  }
  return out;
}

/** Decodes, fits and packs images as decode-image and micro-batch do, runs both backends, and prints the largest differences and the accuracies. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      onnx: { type: 'string', default: 'models/demo' },
      tfjs: { type: 'string', default: 'models/demo-tfjs' },
      images: { type: 'string', default: 'data/quickstart' },
      batch: { type: 'string', default: '32' },
      tolerance: { type: 'string', default: '1e-4' },
    },
  });
  const onnxModel = await loadManifest(values.onnx);
  const tfjsModel = await loadManifest(values.tfjs);
  const { input, classes } = onnxModel.manifest;
  const onnx = await createBackend({ kind: 'onnx' }, onnxModel);
  const tfjs = await createBackend({ kind: 'tfjs' }, tfjsModel);
  const images = await labelledImages(values.images);
  const batchSize = Number(values.batch);
  const perImage = input.width * input.height * input.channels;
  const buffer = new Float32Array(batchSize * perImage);
  let maxProbability = 0;
  let maxEmbedding = 0;
  let rightOnnx = 0;
  let rightTfjs = 0;
  let agree = 0;
  const started = performance.now();
  for (let i = 0; i < images.length; i += batchSize) {
    const chunk = images.slice(i, i + batchSize);
    const decoded: ImageTensor[] = await Promise.all(
      chunk.map(async ({ file }) => {
        const data = await sharp(await readFile(file), { failOn: 'truncated', autoOrient: true })
          .toColourspace('srgb')
          .removeAlpha()
          .resize(input.width, input.height, { fit: input.fit, kernel: input.kernel })
          .raw({ depth: 'uchar' })
          .toBuffer();
        return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
      }),
    );
    const shape = packBatch(decoded, buffer, 'NHWC', 'float32');
    const tensor = { data: buffer, shape, layout: 'NHWC' as const, release: () => {} };
    const a: InferenceOutput = await onnx.run(tensor);
    const b: InferenceOutput = await tfjs.run(tensor);
    maxProbability = Math.max(maxProbability, largestDifference(a.probabilities, b.probabilities));
    if (a.embedding !== null && b.embedding !== null) maxEmbedding = Math.max(maxEmbedding, largestDifference(a.embedding, b.embedding));
    chunk.forEach(({ label }, j) => {
      const pa = classes[argmax(a.probabilities.subarray(j * classes.length, (j + 1) * classes.length))];
      const pb = classes[argmax(b.probabilities.subarray(j * classes.length, (j + 1) * classes.length))];
      if (pa === label) rightOnnx += 1;
      if (pb === label) rightTfjs += 1;
      if (pa === pb) agree += 1;
    });
  }
  await Promise.all([onnx.close(), tfjs.close()]);
  const n = images.length;
  const percent = (k: number): string => `${((100 * k) / n).toFixed(1)}% (${k}/${n})`;
  process.stdout.write(
    [
      `${n} images from ${values.images} in ${((performance.now() - started) / 1000).toFixed(1)} s; onnx: ${onnx.description}; tfjs: ${tfjs.description}`,
      `max |tfjs - onnx|: probabilities ${maxProbability.toExponential(2)}, embeddings ${maxEmbedding.toExponential(2)}`,
      `accuracy: onnx ${percent(rightOnnx)}, tfjs ${percent(rightTfjs)}; same class for ${percent(agree)}`,
      '',
    ].join('\n'),
  );
  const tolerance = Number(values.tolerance);
  if (maxProbability > tolerance || maxEmbedding > tolerance) {
    throw new Error(`the TF.js model differs from the ONNX model by more than ${tolerance}`);
  }
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`outputs of different lengths: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i += 1) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

await main();
