/**
 * The tfjs backend against onnx, both in process, on the demo model (models/demo-tfjs and
 * models/demo: the same weights) at batch 1/8/32. Each configuration calls `backend.run` back to
 * back (one batch in flight) for a few seconds after a warm-up, and reports images/s and p50/p95
 * per call, and the tfjs figures as a ratio to onnx at the same batch size. Prints a markdown table.
 * Usage: npx tsx bench/tfjs.bench.ts [--batches 1,8,32] [--seconds 3] [--engine auto|wasm|cpu|node|node-gpu]
 * [--threads N] (onnx intra-op threads; 0 lets onnxruntime choose).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { BatchTensor, ImageTensor } from '../src/core/envelope.js';
import { renderImage } from '../src/demo/generate-images.js';
import type { DemoClass } from '../src/demo/generate-images.js';
import { createBackend } from '../src/inference/backend.js';
import type { InferenceBackend, TfjsBackendOptions } from '../src/inference/backend.js';
import { loadManifest } from '../src/inference/manifest.js';
import { packBatch } from '../src/operators/pack-batch.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8,32' },
    seconds: { type: 'string', default: '3' },
    onnx: { type: 'string', default: 'models/demo' },
    tfjs: { type: 'string', default: 'models/demo-tfjs' },
    engine: { type: 'string', default: 'auto' },
    threads: { type: 'string', default: '0' },
  },
});
const batches = values.batches.split(',').map(Number);
const seconds = Number(values.seconds);
const threads = Number(values.threads);
const MIN_CALLS = 5;
const WARM_UP = 2;

/** One configuration's figures. */
interface Figures {
  readonly backend: string;
  readonly batch: number;
  readonly calls: number;
  readonly imagesPerSecond: number;
  readonly p50: number;
  readonly p95: number;
}

const onnxModel = await loadManifest(path.resolve(values.onnx));
const tfjsModel = await loadManifest(path.resolve(values.tfjs));
const { input } = onnxModel.manifest;
const perImage = input.width * input.height * input.channels;
const largest = Math.max(...batches);

const images: ImageTensor[] = await Promise.all(
  Array.from({ length: largest }, async (_, i) => {
    const label: DemoClass = i % 2 === 0 ? 'horse' : 'human';
    const jpeg = await renderImage(label, 7_000_000 + i, { width: 320, height: 240 });
    const data = await sharp(jpeg).removeAlpha().resize(input.width, input.height, { fit: input.fit, kernel: input.kernel }).raw().toBuffer();
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: input.width, height: input.height, channels: 3, scale: input.scale };
  }),
);
const pooled = new Float32Array(largest * perImage);
packBatch(images, pooled, input.layout, input.dtype);
const tensorOf = (n: number): BatchTensor => ({ data: pooled, shape: [n, input.height, input.width, input.channels], layout: 'NHWC', release: () => {} });

const onnx = await createBackend({ kind: 'onnx', ...(threads > 0 ? { intraOpNumThreads: threads } : {}), allowSpinning: true }, onnxModel);
const tfjs = await createBackend({ kind: 'tfjs', engine: values.engine as TfjsBackendOptions['engine'] }, tfjsModel);

/** Calls `backend.run` back to back for `seconds` (at least MIN_CALLS times) after a warm-up. */
async function measure(name: string, backend: InferenceBackend, batch: number): Promise<Figures> {
  const tensor = tensorOf(batch);
  for (let i = 0; i < WARM_UP; i += 1) await backend.run(tensor);
  const times: number[] = [];
  const started = performance.now();
  while (times.length < MIN_CALLS || performance.now() - started < seconds * 1000) {
    const t0 = performance.now();
    await backend.run(tensor);
    times.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  return { backend: name, batch, calls: times.length, imagesPerSecond: (times.length * batch) / elapsed, p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const rows: Figures[] = [];
for (const batch of batches) {
  const local = await measure('onnx', onnx, batch);
  const viaTfjs = await measure(`tfjs (${tfjs.description.split(' ')[2] ?? 'tfjs'})`, tfjs, batch);
  rows.push(local, viaTfjs);
  process.stderr.write(`batch ${batch}: onnx ${local.imagesPerSecond.toFixed(1)}/s, tfjs ${viaTfjs.imagesPerSecond.toFixed(1)}/s\n`);
}
await Promise.all([onnx.close(), tfjs.close()]);

const fixed = (v: number, digits = 1): string => v.toFixed(digits);
const lines = [
  `In-process backends on ${onnxModel.manifest.name} ${onnxModel.manifest.version} (${input.width}×${input.height}), one batch in flight, ~${seconds} s per row after ${WARM_UP} warm-up calls; onnx: ${onnx.description}; tfjs: ${tfjs.description}.`,
  '',
  '| batch | backend | calls | images/s | × onnx | p50 ms | p95 ms |',
  '|---:|---|---:|---:|---:|---:|---:|',
];
for (const batch of batches) {
  const group = rows.filter((r) => r.batch === batch);
  const base = group[0] as Figures;
  for (const r of group) {
    lines.push(`| ${batch} | ${r.backend} | ${r.calls} | ${fixed(r.imagesPerSecond)} | ${fixed(r.imagesPerSecond / base.imagesPerSecond, 2)} | ${fixed(r.p50)} | ${fixed(r.p95)} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
