/**
 * The tfjs backend against onnx, both in process, on the demo model (models/demo-tfjs and
 * models/demo: the same weights) at batch 1/8/32. Each configuration calls `backend.run` back to
 * back (one batch in flight) for a few seconds after a warm-up, and reports images/s and p50/p95
 * per call, and the tfjs figures as a ratio to onnx at the same batch size. Prints a markdown table.
 * Usage: npx tsx bench/tfjs.bench.ts [--batches 1,8,32,64] [--seconds 3] [--engine auto|wasm|cpu|node|node-gpu]
 * [--threads N] (onnx intra-op threads; 0 lets onnxruntime choose).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/inference/create-backend.js';
import type { InferenceBackend, TfjsBackendOptions } from '../src/inference/backend.js';
import { loadManifest } from '../src/inference/manifest.js';
import { demoBatches, timeBackend, WARM_UP } from './backend-timing.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8,32,64' },
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
const largest = Math.max(...batches);

const tensorOf = await demoBatches(input, largest);

const onnx = await createBackend({ kind: 'onnx', ...(threads > 0 ? { intraOpNumThreads: threads } : {}), allowSpinning: true }, onnxModel);
const tfjs = await createBackend({ kind: 'tfjs', engine: values.engine as TfjsBackendOptions['engine'] }, tfjsModel);

/** Times `backend` at `batch`. */
async function measure(name: string, backend: InferenceBackend, batch: number): Promise<Figures> {
  return { backend: name, batch, ...(await timeBackend(backend, tensorOf(batch), seconds)) };
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
