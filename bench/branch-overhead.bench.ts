/**
 * What a side branch costs the image topology: the demo pipeline (files → decode → micro-batch →
 * infer → files sink) on 640×480 JPEGs, alone and with one more part beside it — a `tfrecord-sink`
 * (encoded images, local folder), an `object-sink` writing Parquet records with embeddings (local
 * lake), or the `drift` operator (count windows, against a profile built from the same images).
 * Variants run in turns, `--rounds` times, in one process; the best images/s of each is compared
 * with the plain pipeline's (ratio ≥ 0.90 for the sinks and ≥ 0.95 for drift is the target). For
 * drift it also prints the drift node's own time per window in the topology, and, measured
 * directly on the run's predictions, each mode's time per window (adding its inputs and making its
 * report) and the size of a window's state as JSON (what memory and a partial hold).
 * Usage: npm run bench:overhead -- [--images 600] [--rounds 3] [--only tfrecord,parquet,drift]
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { Envelope } from '../src/core/envelope.js';
import { createLogger } from '../src/core/logger.js';
import { windowReport } from '../src/drift-monitor/report.js';
import { loadProfileFor, resolveSetup } from '../src/drift-monitor/setup.js';
import { WindowState } from '../src/drift-monitor/window-state.js';
import { Runtime } from '../src/runtime/runtime.js';
import type { PredictionRecord } from '../src/formats/prediction-record.js';
import { loadTopologyFile } from '../src/topology/load.js';
import { benchImages } from '../src/bench/bench-images.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'tfrecord,parquet,drift' },
    window: { type: 'string', default: '100' },
  },
});
const count = Number(values.images);
const rounds = Number(values.rounds);
const windowSize = Number(values.window);
const chosen = values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-overhead-'));
const images = await benchImages(count);
const model = path.resolve('models/demo');

/** The profile the drift variant compares against: the same images, through the CLI. */
async function buildProfile(): Promise<string> {
  const out = path.join(work, 'profile.json');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/centaur.ts', 'drift', 'profile', images, '--model', model, '--out', out], { maxBuffer: 16 * 1024 * 1024 });
  return out;
}

const profile = chosen.includes('drift') ? await buildProfile() : '';

/** The extra node each variant adds, and which node the files sink reads from. */
const variants: Record<string, { extra: (run: string) => string; sinkFrom: string; includeEmbedding?: boolean }> = {
  plain: { extra: () => '', sinkFrom: 'infer' },
  tfrecord: { extra: (run) => `  training: { kind: tfrecord-sink, from: [infer], uri: ${path.join(run, 'tfrecords')}, shards: 2, maxFileRecords: 100, maxIdleMs: 200 }\n`, sinkFrom: 'infer' },
  parquet: {
    extra: (run) => `  lake: { kind: object-sink, from: [infer], uri: ${path.join(run, 'lake')}, images: false, records: parquet, includeEmbedding: true, maxFileRecords: 200, maxIdleMs: 200 }\n`,
    sinkFrom: 'infer',
  },
  drift: { extra: () => `  drift: { kind: drift, from: [infer], profile: ${profile}, mode: streaming, window: { by: count, size: ${windowSize} } }\n`, sinkFrom: 'drift' },
  // Predictions with embeddings, for the direct measurement of window costs (not timed).
  records: { extra: () => '', sinkFrom: 'infer', includeEmbedding: true },
};

interface Result {
  imagesPerSecond: number;
  cpuMs: number;
  /** Seconds spent in the drift node, all inputs together. */
  driftSeconds: number;
}

async function run(name: string, round: number): Promise<Result> {
  const variant = variants[name];
  if (variant === undefined) throw new Error(`unknown variant ${name}; choose from ${Object.keys(variants).join(', ')}`);
  const dir = path.join(work, `${name}-${round}`);
  const file = path.join(work, `${name}-${round}.yaml`);
  await writeFile(
    file,
    `version: 1
name: bench-${name}
limits: { maxInFlight: 512 }
nodes:
  images: { kind: files-source, path: ${images} }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 32, maxDelayMs: 15 }
  infer: { kind: infer, from: [batch], model: { path: ${model} }, backend: { kind: onnx, intraOpNumThreads: 2 } }
${variant.extra(dir)}  out: { kind: files-sink, from: [${variant.sinkFrom}], dir: ${path.join(dir, 'out')}, includeEmbedding: ${variant.includeEmbedding === true} }
  dlq: { kind: dead-letter, dir: ${path.join(dir, 'out')} }
`,
  );
  const cpu = process.cpuUsage();
  const runtime = new Runtime(await loadTopologyFile(file), { logger: createLogger('warn') });
  const summary = await runtime.run();
  const used = process.cpuUsage(cpu);
  if (summary.predictions !== count) throw new Error(`${name}: ${summary.predictions} predictions for ${count} images`);
  const processing = await runtime.metrics.registry.getSingleMetric('centaur_node_processing_seconds')?.get();
  const driftSeconds = processing?.values.find((v) => (v as { metricName?: string }).metricName === 'centaur_node_processing_seconds_sum' && v.labels.node === 'drift')?.value ?? 0;
  if (name === 'records') await cp(path.join(dir, 'out'), path.join(work, 'records'), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  return { imagesPerSecond: summary.imagesPerSecond, cpuMs: (used.user + used.system) / 1000, driftSeconds };
}

/** The files sink's prediction records as envelopes with what drift reads (features, prediction, model, embedding). */
async function recordEnvelopes(dir: string): Promise<Envelope[]> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('out-') && n.endsWith('.jsonl'));
  const lines = (await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')))).join('').split('\n').filter((l) => l.length > 0);
  return lines.map((line, i) => {
    const r = JSON.parse(line) as PredictionRecord;
    const p = r.prediction as NonNullable<PredictionRecord['prediction']>;
    const classes = Object.keys(p.probabilities);
    return {
      id: r.id,
      eventTime: Date.parse(r.eventTime),
      position: { source: 'bench', partition: '0', offset: i },
      payload: { kind: 'reference', uri: r.id },
      sizeBytes: 0,
      metadata: {},
      receivedAt: 0,
      timings: {},
      delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
      ...(r.image === undefined ? {} : { image: r.image }),
      prediction: { label: p.label, classIndex: p.classIndex, confidence: p.confidence, probabilities: classes.map((c) => p.probabilities[c] as number) },
      model: { ...(r.model as { name: string; version: string }), classes },
      ...(r.embedding === undefined ? {} : { embedding: Float32Array.from(r.embedding) }),
    };
  });
}

/** Per window of `windowSize` inputs in each mode: ms to add them and report, and the state's JSON size. */
async function windowCosts(envelopes: readonly Envelope[]): Promise<string> {
  const profileData = await loadProfileFor({ profile }, work, 'bench');
  let out = '| mode | ms per window (add + report) | window state as JSON |\n|---|---|---|\n';
  for (const mode of ['streaming', 'evidently'] as const) {
    const { setup, columns } = resolveSetup(profileData, { mode, sampleCap: 1000, embedding: true }, 'bench');
    const times: number[] = [];
    const sizes: number[] = [];
    for (let repeat = 0; repeat < 5; repeat += 1) {
      for (let start = 0; start + windowSize <= envelopes.length; start += windowSize) {
        const began = performance.now();
        const state = new WindowState(setup, start);
        for (const envelope of envelopes.slice(start, start + windowSize)) state.add(envelope);
        windowReport(state, { topology: 'bench', node: 'drift', window: { kind: 'count', start, end: start + windowSize }, late: 0, instances: 1, driftShare: 0.5, columns, now: 0 });
        times.push(performance.now() - began);
        sizes.push(Buffer.byteLength(JSON.stringify(state.toJSON())));
      }
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    out += `| ${mode} | ${median.toFixed(2)} | ${(Math.max(...sizes) / 1024).toFixed(1)} KiB |\n`;
  }
  return out;
}

const names = ['plain', ...chosen];
if (chosen.includes('drift')) await run('records', -1);
const best = new Map<string, Result>();
await run('plain', -1); // warm-up: model load, page cache
for (let round = 0; round < rounds; round += 1) {
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const r = await run(name, round);
    const known = best.get(name);
    if (known === undefined || r.imagesPerSecond > known.imagesPerSecond) best.set(name, r);
    process.stderr.write(`${name} round ${round}: ${r.imagesPerSecond.toFixed(1)} img/s, CPU ${(r.cpuMs / 1000).toFixed(1)} s\n`);
  }
}

const plain = best.get('plain') as Result;
const target: Record<string, number> = { tfrecord: 0.9, parquet: 0.9, drift: 0.95 };
let table = `${count} images, best of ${rounds} rounds each\n\n| variant | images/s | ratio to plain | target |\n|---|---|---|---|\n| plain | ${plain.imagesPerSecond.toFixed(1)} | 1.000 | |\n`;
for (const name of chosen) {
  const r = best.get(name) as Result;
  table += `| ${name} | ${r.imagesPerSecond.toFixed(1)} | ${(r.imagesPerSecond / plain.imagesPerSecond).toFixed(3)} | ≥ ${target[name] ?? ''} |\n`;
}
const drift = best.get('drift');
if (drift !== undefined) {
  const windows = Math.floor(count / windowSize);
  const profileBytes = Buffer.byteLength(await readFile(profile, 'utf8'));
  table += `\ndrift (streaming mode, ${windows} windows of ${windowSize} inputs, profile ${(profileBytes / 1024).toFixed(1)} KiB): the drift node's own time ${((drift.driftSeconds * 1000) / windows).toFixed(1)} ms per window in the topology\n\n`;
  table += await windowCosts(await recordEnvelopes(path.join(work, 'records')));
}
process.stdout.write(table);
await rm(work, { recursive: true, force: true });
