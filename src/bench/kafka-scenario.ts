/**
 * The `kafka` scenario of `centaur bench`: 640×480 camera frames on a Kafka topic → predictions on
 * Kafka, judged in the same run against what a user would otherwise write and against the ceiling.
 * Each run drains the same input topic (filled once) with, in turn: Centaur (kafka-source → decode →
 * micro-batch → infer → kafka-sink), the plain Python consumer (confluent-kafka + Pillow draft +
 * onnxruntime, bench/python/kafka_consumer.py, same model, batch and threads), and the raw Kafka copy
 * loop (the same script copying values); then the stages alone give the ceiling
 * 1 / (1 / (cores × best decode) + 1 / inference). Every contender is timed by the broker: its
 * output topic stamps each record with LogAppendTime, and throughput counts the records appended
 * after the first one over the time to the last (startup, group join and model load excluded alike).
 * With `--knee` (or `--rate`), paced probes measure latency from capture time to the prediction's
 * append time and find the highest rate whose p95 stays under the bound.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { glob } from 'tinyglobby';
import type { Logger } from '../core/logger.js';
import type { KafkaClientName } from '../kafka/client.js';
import { PACKAGE_ROOT } from '../core/package-info.js';
import { Runtime } from '../runtime/runtime.js';
import { parseTopology } from '../topology/load.js';
import { benchImages } from './bench-images.js';
import { appendRate, BenchKafka } from './bench-kafka.js';
import type { Appended, FrameFormat } from './bench-kafka.js';
import { decodeRate, pillowRates } from './decode-scenario.js';
import { summarize } from './figures.js';
import type { Figures } from './figures.js';
import { inferenceRate } from './inference-rate.js';
import { searchKnee } from './knee.js';
import type { KneeResult } from './knee.js';
import { latencyFigures } from './latency.js';
import { combinations, runSweep } from './sweep.js';
import type { SweepAxis, SweepResult } from './sweep.js';
import type { LatencyFigures } from './latency.js';

/** What to measure, and where. */
export interface KafkaBenchOptions {
  readonly images: number;
  readonly runs: number;
  readonly brokers: string;
  readonly registry?: string;
  readonly format: FrameFormat;
  readonly client: KafkaClientName;
  readonly partitions: number;
  readonly decoder: 'sharp' | 'jpeg-turbo';
  readonly batch: number;
  readonly maxDelayMs: number;
  readonly inferThreads: number;
  readonly decodeConcurrency: number;
  readonly modelDir: string;
  /** A Python with the packages of bench/requirements.txt; none: the Python contenders are skipped. */
  readonly python?: string;
  readonly cacheDir: string;
  readonly logger: Logger;
  /** Paced probes: a single one at `rate` frames/s, and/or the knee search. */
  readonly rate?: number;
  readonly knee: boolean;
  readonly probeSeconds: number;
  readonly boundMs: number;
  readonly kneeSteps: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** One paced probe of Centaur: the rate asked for, what it kept up with, and its latency. */
export interface PacedRun {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly latencyMs: LatencyFigures;
}

/** The scenario's result, as `--json` writes it. */
export interface KafkaBenchResult {
  readonly scenario: 'kafka';
  readonly images: number;
  readonly runs: number;
  readonly cores: number;
  readonly settings: {
    readonly format: FrameFormat;
    readonly client: string;
    readonly partitions: number;
    readonly decoder: string;
    readonly batch: number;
    readonly maxDelayMs: number;
    readonly inferThreads: number;
    readonly decodeConcurrency: number;
  };
  readonly decodePerCore: Figures;
  readonly referenceDecodePerCore: Figures | null;
  readonly inference: Figures;
  readonly ceiling: Figures;
  /** Images/s of Centaur, Kafka → Kafka, and its share of the ceiling, per run. */
  readonly centaur: Figures;
  readonly ofCeiling: Figures;
  /** The plain Python consumer and the raw copy loop (null: skipped, `pythonSkipped` says why). */
  readonly python: Figures | null;
  readonly overPython: Figures | null;
  readonly copyLoop: Figures | null;
  readonly pythonSkipped: string | null;
  /** Peak RSS of the process that ran Centaur (MiB). */
  readonly peakRssMiB: number;
  readonly paced: PacedRun | null;
  readonly knee: (KneeResult & { readonly ofSaturated: number | null; readonly latencyMs: LatencyFigures | null }) | null;
}

const CONSUMER_SCRIPT = path.join(PACKAGE_ROOT, 'bench', 'python', 'kafka_consumer.py');
const FRAME_SCHEMA = path.join(PACKAGE_ROOT, 'schemas', 'avro', 'camera-frame.avsc');

/** Runs the kafka scenario. */
export async function runKafkaBench(o: KafkaBenchOptions): Promise<KafkaBenchResult> {
  const dir = await benchImages(o.images, o.cacheDir);
  const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort();
  const blobs = await Promise.all(files.map((f) => readFile(f)));
  const n = blobs.length;
  const kafka = await BenchKafka.connect(o.brokers, o.format, o.registry);
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-kafka-'));
  const cores = availableParallelism();
  const pacedSteps = (o.rate === undefined ? 0 : 1) + (o.knee ? o.kneeSteps : 0);
  const steps = o.runs * 4 + pacedSteps;
  let step = 0;
  const progress = (): void => o.onProgress?.((step += 1), steps);
  try {
    const input = await kafka.createTopic('frames', o.partitions, false);
    await kafka.produceAll(input, blobs, files, dir);
    const reference = o.python === undefined ? null : await pillowRates(o.python, 224, o.runs, files).catch(() => null);
    const figures = { decode: [] as number[], inference: [] as number[], ceiling: [] as number[], centaur: [] as number[], python: [] as number[], copy: [] as number[] };
    let pythonSkipped: string | null = o.python === undefined ? 'no Python with the bench packages: run bench/setup-python.sh or pass --python' : null;
    let peakRss = 0;
    for (let run = 0; run < o.runs; run += 1) {
      const centaur = await centaurDrain(kafka, input, n, `${run}`, work, o);
      figures.centaur.push(centaur.rate);
      peakRss = Math.max(peakRss, centaur.peakRssBytes);
      progress();
      if (pythonSkipped === null) {
        try {
          figures.python.push(await pythonDrain(kafka, input, n, 'infer', `${run}`, o));
          progress();
          figures.copy.push(await pythonDrain(kafka, input, n, 'copy', `${run}`, o));
          progress();
        } catch (error) {
          pythonSkipped = `${o.python ?? ''}: ${((error as Error).message.split('\n').find((l) => /Error|error/.test(l)) ?? (error as Error).message).slice(0, 300)}`;
        }
      }
      if (pythonSkipped !== null) step = run * 4 + 3;
      figures.decode.push(await decodeRate(blobs, { decoder: o.decoder, size: [224, 224] }, o.logger));
      figures.inference.push(await inferenceRate(blobs, o, o.logger));
      const bestDecode = Math.max(figures.decode[run] as number, reference?.[run] ?? 0);
      figures.ceiling.push(1 / (1 / (cores * bestDecode) + 1 / (figures.inference[run] as number)));
      progress();
    }
    const saturated = summarize(figures.centaur).median;
    const paced = o.rate === undefined ? null : await pacedProbe(kafka, blobs, o.rate, `rate`, work, o);
    if (paced !== null) progress();
    let knee: KafkaBenchResult['knee'] = null;
    if (o.knee) {
      const probes = new Map<number, PacedRun>();
      const found = await searchKnee(
        async (rate) => {
          const probe = await pacedProbe(kafka, blobs, rate, `knee-${probes.size}`, work, o);
          probes.set(rate, probe);
          progress();
          return probe.latencyMs.p95;
        },
        { low: saturated * 0.5, high: saturated * 0.95, boundMs: o.boundMs, steps: o.kneeSteps },
      );
      knee = { ...found, ofSaturated: found.rate === null ? null : found.rate / saturated, latencyMs: found.rate === null ? null : (probes.get(found.rate)?.latencyMs ?? null) };
    }
    const hasPython = figures.python.length === o.runs;
    return {
      scenario: 'kafka',
      images: n,
      runs: o.runs,
      cores,
      settings: {
        format: o.format,
        client: o.client,
        partitions: o.partitions,
        decoder: o.decoder,
        batch: o.batch,
        maxDelayMs: o.maxDelayMs,
        inferThreads: o.inferThreads,
        decodeConcurrency: o.decodeConcurrency,
      },
      decodePerCore: summarize(figures.decode),
      referenceDecodePerCore: reference === null ? null : summarize(reference),
      inference: summarize(figures.inference),
      ceiling: summarize(figures.ceiling),
      centaur: summarize(figures.centaur),
      ofCeiling: summarize(figures.centaur.map((c, i) => c / (figures.ceiling[i] as number))),
      python: hasPython ? summarize(figures.python) : null,
      overPython: hasPython ? summarize(figures.centaur.map((c, i) => c / (figures.python[i] as number))) : null,
      copyLoop: hasPython && figures.copy.length === o.runs ? summarize(figures.copy) : null,
      pythonSkipped: hasPython ? null : pythonSkipped,
      peakRssMiB: peakRss / 2 ** 20,
      paced,
      knee,
    };
  } finally {
    await kafka.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/** `--sweep`: Centaur draining the same frames at every combination of the axes, ranked (no Python contenders, no stages). */
export async function runKafkaSweep(o: KafkaBenchOptions, axes: Partial<Record<SweepAxis, readonly number[]>>): Promise<SweepResult> {
  const dir = await benchImages(o.images, o.cacheDir);
  const files = (await glob('**/*.jpg', { cwd: dir, absolute: true })).sort();
  const blobs = await Promise.all(files.map((f) => readFile(f)));
  const kafka = await BenchKafka.connect(o.brokers, o.format, o.registry);
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-bench-kafka-'));
  try {
    const input = await kafka.createTopic('frames', o.partitions, false);
    await kafka.produceAll(input, blobs, files, dir);
    let tag = 0;
    const rows = await runSweep(combinations(o, axes), o.runs, async (settings) => (await centaurDrain(kafka, input, blobs.length, `sweep-${(tag += 1)}`, work, { ...o, ...settings })).rate, o.onProgress);
    return { scenario: 'sweep', of: 'kafka', images: blobs.length, runs: o.runs, axes, rows };
  } finally {
    await kafka.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/** What a drain runs: the camera pipeline (JSON predictions out), or a relay of the frames (`record: input`: the client's own cost). */
export type DrainMode = 'pipeline' | 'relay';

/** The Centaur topology under test, reading `input` in a fresh group and writing JSON predictions (or the frames, relayed) to `output`. */
function topologyYaml(input: string, output: string, group: string, work: string, o: KafkaBenchOptions, mode: DrainMode): string {
  const connection = `brokers: [${JSON.stringify(o.brokers)}], client: ${o.client}`;
  const value = o.format === 'avro' ? `value: { format: avro }, schemaRegistry: { url: ${JSON.stringify(o.registry)} }` : 'value: { format: bytes }';
  if (mode === 'relay') {
    return `version: 1
name: centaur-bench-relay
limits: { maxInFlight: 2048 }
nodes:
  in: { kind: kafka-source, ${connection}, topics: [${input}], groupId: ${group}, ${value} }
  out: { kind: kafka-sink, from: [in], ${connection}, topic: ${output}, record: input }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(work)} }
`;
  }
  return `version: 1
name: centaur-bench-kafka
limits: { maxInFlight: 512 }
nodes:
  in: { kind: kafka-source, ${connection}, topics: [${input}], groupId: ${group}, ${value} }
  decode: { kind: decode-image, from: [in], size: [224, 224], decoder: ${o.decoder}, concurrency: ${o.decodeConcurrency} }
  batch: { kind: micro-batch, from: [decode], maxSize: ${o.batch}, maxDelayMs: ${o.maxDelayMs} }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(o.modelDir)} }, backend: { kind: onnx, intraOpNumThreads: ${o.inferThreads} }, maxBatchSize: ${Math.max(64, o.batch)} }
  out: { kind: kafka-sink, from: [infer], ${connection}, topic: ${output}, value: { format: json } }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(work)} }
`;
}

/** Starts the topology on `input`; `stop` ends it and resolves with its peak RSS. */
function startCentaur(input: string, output: string, tag: string, kafka: BenchKafka, work: string, o: KafkaBenchOptions, mode: DrainMode = 'pipeline'): { failed: () => string | undefined; stop: () => Promise<number> } {
  const runtime = new Runtime(parseTopology(topologyYaml(input, output, kafka.name(`group-${tag}`), work, o, mode), 'bench-kafka.yaml'), { logger: o.logger });
  let failure: string | undefined;
  const done = runtime.run().then(
    (summary) => summary.peakRssBytes,
    (error: unknown) => {
      failure = `the topology failed: ${(error as Error).message}`;
      return 0;
    },
  );
  return {
    failed: () => failure,
    stop: async () => {
      runtime.stop();
      return done;
    },
  };
}

/** Centaur drains the filled input topic; images/s by the output's append times. */
export async function centaurDrain(kafka: BenchKafka, input: string, n: number, tag: string, work: string, o: KafkaBenchOptions, mode: DrainMode = 'pipeline'): Promise<{ rate: number; peakRssBytes: number }> {
  const output = await kafka.createTopic(mode === 'relay' ? 'relayed' : 'predictions', o.partitions, true);
  const centaur = startCentaur(input, output, tag, kafka, work, o, mode);
  const drained = await kafka.waitForCount(output, n, drainTimeoutMs(n), centaur.failed).then(
    () => undefined,
    (error: Error) => error,
  );
  const peakRssBytes = await centaur.stop();
  if (drained !== undefined) throw drained;
  return { rate: appendRate(await kafka.appended(output, n, 60_000)), peakRssBytes };
}

/** The plain Python consumer (or its copy loop) drains the input; images/s by the output's append times. */
export async function pythonDrain(kafka: BenchKafka, input: string, n: number, mode: 'infer' | 'copy', tag: string, o: KafkaBenchOptions): Promise<number> {
  const output = await kafka.createTopic(mode === 'infer' ? 'python-predictions' : 'copies', o.partitions, true);
  const args = [CONSUMER_SCRIPT, '--brokers', o.brokers, '--input', input, '--output', output, '--group', kafka.name(`python-${mode}-${tag}`), '--count', String(n)];
  args.push('--mode', mode, '--format', o.format, '--schema', FRAME_SCHEMA, '--model', o.modelDir, '--batch', String(o.batch), '--threads', String(o.inferThreads));
  await promisify(execFile)(o.python as string, args, { timeout: drainTimeoutMs(n), maxBuffer: 1 << 20 });
  return appendRate(await kafka.appended(output, n, 60_000));
}

/**
 * One paced probe: a fresh topology on fresh topics, warmed with a few frames, then frames at `rate`
 * per second for `probeSeconds`; latency is append time − capture time of the paced frames after
 * the first second (the warm-up's transient excluded).
 */
async function pacedProbe(kafka: BenchKafka, blobs: readonly Buffer[], rate: number, tag: string, work: string, o: KafkaBenchOptions): Promise<PacedRun> {
  const input = await kafka.createTopic('paced-frames', o.partitions, false);
  const output = await kafka.createTopic('paced-predictions', o.partitions, true);
  const centaur = startCentaur(input, output, tag, kafka, work, o);
  try {
    const warm = Math.min(blobs.length, o.batch * 2);
    await kafka.produceAll(input, blobs.slice(0, warm), [], '');
    await kafka.waitForCount(output, warm, 120_000, centaur.failed);
    const pacedFrom = Date.now();
    const sent = await kafka.producePaced(input, blobs, rate, o.probeSeconds);
    const total = warm + sent;
    await kafka.waitForCount(output, total, drainTimeoutMs(total), centaur.failed);
    const appends: Appended[] = await kafka.appended(output, total, 60_000);
    const measured = appends.filter((a) => a.eventTime >= pacedFrom + 1000).map((a) => a.appendTime - a.eventTime);
    return { rate, seconds: o.probeSeconds, sent, latencyMs: latencyFigures(measured) };
  } finally {
    await centaur.stop();
  }
}

/** Generous: 2 images/s at worst, and never under a minute. */
function drainTimeoutMs(n: number): number {
  return Math.max(60_000, (n / 2) * 1000);
}
