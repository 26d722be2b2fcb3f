/**
 * The `files` scenario of `centaur bench`: a folder of 640×480 JPEGs through files-source →
 * decode-image → micro-batch → infer (onnx) → files-sink, judged in the same run against the
 * ceiling the two cores allow: decode per core (the best of our decoder and Pillow's draft mode)
 * and onnxruntime inference alone (the same batch size and threads) give
 * ceiling = 1 / (1 / (cores × decode) + 1 / inference). Each run measures the stages and the
 * topology once; medians of the runs with their spread are reported.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { Logger } from '../core/logger.js';
import { Runtime } from '../runtime/runtime.js';
import { loadTopologyFile } from '../topology/load.js';
import { benchImages } from './bench-images.js';
import { decodeRate, pillowRates } from './decode-scenario.js';
import { inferenceRate } from './inference-rate.js';
import { combinations, runSweep } from './sweep.js';
import type { SweepAxis, SweepResult } from './sweep.js';
import { summarize } from './figures.js';
import type { Figures } from './figures.js';

/** What to measure. */
export interface FilesBenchOptions {
  readonly images: number;
  readonly runs: number;
  readonly decoder: 'sharp' | 'jpeg-turbo';
  readonly batch: number;
  readonly inferThreads: number;
  readonly decodeConcurrency: number;
  readonly maxDelayMs: number;
  readonly modelDir: string;
  readonly python?: string;
  readonly cacheDir: string;
  readonly logger: Logger;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The scenario's result, as `--json` writes it. */
export interface FilesBenchResult {
  readonly scenario: 'files';
  readonly images: number;
  readonly runs: number;
  readonly cores: number;
  readonly settings: { readonly decoder: string; readonly batch: number; readonly inferThreads: number; readonly decodeConcurrency: number; readonly maxDelayMs: number };
  /** Images/s per core of our decode path, and of Pillow draft + BILINEAR (null: not run). */
  readonly decodePerCore: Figures;
  readonly referenceDecodePerCore: Figures | null;
  /** Images/s of onnxruntime alone on packed batches. */
  readonly inference: Figures;
  /** 1 / (1 / (cores × best decode) + 1 / inference), per run. */
  readonly ceiling: Figures;
  /** Images/s of the topology end to end, and its share of the ceiling, per run. */
  readonly endToEnd: Figures;
  readonly ofCeiling: Figures;
  /** Of the last run: end-to-end latency percentiles (ms), peak RSS (MiB), accuracy against the labels. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly peakRssMiB: number;
  readonly accuracy: number | null;
}

/** Runs the files scenario. */
export async function runFilesBench(o: FilesBenchOptions): Promise<FilesBenchResult> {
  const dir = await benchImages(o.images, o.cacheDir);
  const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort();
  const blobs = await Promise.all(files.map((f) => readFile(f)));
  const reference = o.python === undefined ? null : await pillowRates(o.python, 224, o.runs, files).catch(() => null);
  const cores = availableParallelism();
  const decode: number[] = [];
  const inference: number[] = [];
  const ceiling: number[] = [];
  const endToEnd: number[] = [];
  let last: Awaited<ReturnType<Runtime['run']>> | undefined;
  const steps = o.runs * 3;
  for (let run = 0; run < o.runs; run += 1) {
    const summary = await runTopology(dir, o);
    last = summary;
    endToEnd.push(summary.imagesPerSecond);
    o.onProgress?.(run * 3 + 1, steps);
    decode.push(await decodeRate(blobs, { decoder: o.decoder, size: [224, 224] }, o.logger));
    o.onProgress?.(run * 3 + 2, steps);
    inference.push(await inferenceRate(blobs, o, o.logger));
    o.onProgress?.(run * 3 + 3, steps);
    const bestDecode = Math.max(decode[run] as number, reference?.[run] ?? 0);
    ceiling.push(1 / (1 / (cores * bestDecode) + 1 / (inference[run] as number)));
  }
  const summary = last as Awaited<ReturnType<Runtime['run']>>;
  return {
    scenario: 'files',
    images: blobs.length,
    runs: o.runs,
    cores,
    settings: { decoder: o.decoder, batch: o.batch, inferThreads: o.inferThreads, decodeConcurrency: o.decodeConcurrency, maxDelayMs: o.maxDelayMs },
    decodePerCore: summarize(decode),
    referenceDecodePerCore: reference === null ? null : summarize(reference),
    inference: summarize(inference),
    ceiling: summarize(ceiling),
    endToEnd: summarize(endToEnd),
    ofCeiling: summarize(endToEnd.map((c, i) => c / (ceiling[i] as number))),
    latencyMs: summary.latencyMs,
    peakRssMiB: summary.peakRssBytes / 2 ** 20,
    accuracy: summary.accuracy?.ratio ?? null,
  };
}

/** The topology end to end on the folder (labels from the folder names). */
async function runTopology(dir: string, o: FilesBenchOptions): Promise<Awaited<ReturnType<Runtime['run']>>> {
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
  try {
    const file = path.join(work, 'bench.yaml');
    await writeFile(
      file,
      `version: 1
name: bench
limits: { maxInFlight: 512 }
nodes:
  images: { kind: files-source, path: ${JSON.stringify(dir)}, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224], decoder: ${o.decoder}, concurrency: ${o.decodeConcurrency} }
  batch: { kind: micro-batch, from: [decode], maxSize: ${o.batch}, maxDelayMs: ${o.maxDelayMs} }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(o.modelDir)} }, backend: { kind: onnx, intraOpNumThreads: ${o.inferThreads} }, maxBatchSize: ${Math.max(64, o.batch)} }
  out: { kind: files-sink, from: [infer], dir: out }
  dlq: { kind: dead-letter, dir: out }
`,
    );
    return await new Runtime(await loadTopologyFile(file), { logger: o.logger }).run();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `--sweep`: the topology end to end at every combination of the axes, ranked. */
export async function runFilesSweep(o: FilesBenchOptions, axes: Partial<Record<SweepAxis, readonly number[]>>): Promise<SweepResult> {
  const dir = await benchImages(o.images, o.cacheDir);
  const combos = combinations(o, axes);
  const rows = await runSweep(combos, o.runs, async (settings) => (await runTopology(dir, { ...o, ...settings })).imagesPerSecond, o.onProgress);
  return { scenario: 'sweep', of: 'files', images: o.images, runs: o.runs, axes, rows };
}
