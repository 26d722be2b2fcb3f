/**
 * `centaur bench <scenario>`: the benchmark harness users tune with. Each scenario reports, in the
 * same run, the outside reference it is judged against; figures are medians of several runs with
 * their spread, printed as a table and written as JSON and Markdown on request. Scenarios so far:
 * `decode` (per-core decode against Pillow's draft mode) and `files` (a folder through the demo
 * pipeline against the ceiling of the best decode and inference alone).
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareResults, compareText } from '../bench/compare.js';
import { decodeChart, decodeMarkdown, decodeText } from '../bench/decode-report.js';
import { driftChart, driftMarkdown, driftText } from '../bench/drift-report.js';
import { runDriftBench } from '../bench/drift-scenario.js';
import type { DriftBenchResult } from '../bench/drift-scenario.js';
import { runDecodeBench } from '../bench/decode-scenario.js';
import { filesChart, filesMarkdown, filesText } from '../bench/files-report.js';
import { htmlReport } from '../bench/html-report.js';
import type { ChartRow } from '../bench/html-report.js';
import { runFilesBench, runFilesSweep } from '../bench/files-scenario.js';
import { clientsChart, clientsMarkdown, clientsText } from '../bench/clients-report.js';
import { runClientsBench } from '../bench/clients-scenario.js';
import { kafkaChart, kafkaMarkdown, kafkaText } from '../bench/kafka-report.js';
import { runKafkaBench, runKafkaSweep } from '../bench/kafka-scenario.js';
import type { KafkaBenchOptions } from '../bench/kafka-scenario.js';
import { KAFKA_CLIENTS } from '../kafka/client.js';
import type { KafkaClientName } from '../kafka/client.js';
import { parseSweep, sweepChart, sweepMarkdown, sweepText } from '../bench/sweep.js';
import { PACKAGE_ROOT } from '../core/package-info.js';
import { createLogger } from '../core/logger.js';

/** The options as commander hands them over. */
export interface BenchFlags {
  readonly images: string;
  readonly runs: string;
  readonly size: string;
  readonly python?: string;
  readonly json?: string;
  readonly markdown?: string;
  readonly html?: string;
  readonly cache: string;
  readonly decoder: string;
  readonly batch: string;
  readonly inferThreads: string;
  readonly decodeConcurrency: string;
  readonly maxDelay: string;
  readonly model?: string;
  readonly brokers?: string;
  readonly registry?: string;
  readonly format: string;
  readonly client: string;
  readonly clients: string;
  readonly partitions: string;
  readonly rate?: string;
  readonly knee?: boolean;
  readonly bound: string;
  readonly probeSeconds: string;
  readonly kneeSteps: string;
  readonly sweep?: string[];
  readonly reference: string;
  readonly pool: string;
  readonly shiftPool: string;
  readonly windowSizes: string;
  readonly windows: string;
  readonly seeds: string;
  readonly triggerWindows: string;
  readonly repeats: string;
  readonly calibrationWindows: string;
  readonly falseAlarmRate: string;
}

interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

/** The Python of bench/setup-python.sh, when it was run. */
const SETUP_PYTHON = '.cache/bench/venv/bin/python';

/** Runs a scenario (or compares two results); exit 0 measured, 1 a run failed, 2 bad options. */
export async function benchCommand(scenario: string, results: readonly string[], flags: BenchFlags, io: BenchIo): Promise<number> {
  if (scenario === 'compare') return compare(results, io);
  if (scenario !== 'decode' && scenario !== 'files' && scenario !== 'kafka' && scenario !== 'clients' && scenario !== 'drift') {
    io.err(`centaur bench: unknown scenario \`${scenario}\`; scenarios: decode, files, kafka, clients, drift, compare`);
    return 2;
  }
  if (scenario === 'drift') return driftBench(results, flags, io);
  if (results.length > 0) {
    io.err(`centaur bench ${scenario}: unexpected argument ${results[0] ?? ''}`);
    return 2;
  }
  if (flags.decoder !== 'sharp' && flags.decoder !== 'jpeg-turbo') {
    io.err('centaur bench: --decoder must be sharp or jpeg-turbo');
    return 2;
  }
  if (flags.format !== 'avro' && flags.format !== 'bytes') {
    io.err('centaur bench: --format must be avro or bytes');
    return 2;
  }
  if (!(KAFKA_CLIENTS as readonly string[]).includes(flags.client)) {
    io.err(`centaur bench: --client must be one of ${KAFKA_CLIENTS.join(', ')}`);
    return 2;
  }
  const clients = flags.clients.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const unknown = clients.find((c) => !(KAFKA_CLIENTS as readonly string[]).includes(c));
  if (clients.length === 0 || unknown !== undefined) {
    io.err(`centaur bench: --clients lists client libraries, of ${KAFKA_CLIENTS.join(', ')}${unknown === undefined ? '' : ` (not ${unknown})`}`);
    return 2;
  }
  const images = Number(flags.images);
  const runs = Number(flags.runs);
  const size = Number(flags.size);
  const batch = Number(flags.batch);
  const maxDelayMs = Number(flags.maxDelay);
  const inferThreads = Number(flags.inferThreads);
  const decodeConcurrency = Number(flags.decodeConcurrency);
  const partitions = Number(flags.partitions);
  const boundMs = Number(flags.bound);
  const probeSeconds = Number(flags.probeSeconds);
  const kneeSteps = Number(flags.kneeSteps);
  const counts = [
    ['--images', images, 2],
    ['--runs', runs, 1],
    ['--size', size, 8],
    ['--batch', batch, 1],
    ['--max-delay', maxDelayMs, 0],
    ['--infer-threads', inferThreads, 1],
    ['--decode-concurrency', decodeConcurrency, 1],
    ['--partitions', partitions, 1],
    ['--bound', boundMs, 1],
    ['--probe-seconds', probeSeconds, 2],
    ['--knee-steps', kneeSteps, 1],
  ] as const;
  for (const [name, value, min] of counts) {
    if (!Number.isInteger(value) || value < min) {
      io.err(`centaur bench: ${name} must be an integer ≥ ${min}`);
      return 2;
    }
  }
  const rate = flags.rate === undefined ? undefined : Number(flags.rate);
  if (rate !== undefined && !(rate > 0)) {
    io.err('centaur bench: --rate must be a number of frames/s > 0');
    return 2;
  }
  let axes: ReturnType<typeof parseSweep> | undefined;
  try {
    axes = flags.sweep === undefined || flags.sweep.length === 0 ? undefined : parseSweep(flags.sweep);
  } catch (error) {
    io.err(`centaur bench: ${(error as Error).message}`);
    return 2;
  }
  if (axes !== undefined && (scenario === 'decode' || scenario === 'clients')) {
    io.err('centaur bench: --sweep varies a pipeline: use it with files or kafka');
    return 2;
  }
  const python = flags.python ?? (await access(SETUP_PYTHON).then(() => SETUP_PYTHON, () => undefined));
  let last = -1;
  const common = {
    images,
    runs,
    cacheDir: flags.cache,
    logger: createLogger('warn'),
    ...(python === undefined ? {} : { python }),
    onProgress: (done: number, total: number) => {
      const percent = Math.floor((done / total) * 100);
      if (percent !== last) io.err(`bench ${scenario}: ${progressBar(percent)} ${percent}%`);
      last = percent;
    },
  };
  const modelDir = path.resolve(flags.model ?? path.join(PACKAGE_ROOT, 'models', 'demo'));
  const decoder: 'sharp' | 'jpeg-turbo' = flags.decoder;
  const pipeline = { decoder, batch, inferThreads, decodeConcurrency, maxDelayMs, modelDir };
  const format: 'avro' | 'bytes' = flags.format;
  const client = flags.client as KafkaClientName;
  const kafkaOptions = (): KafkaBenchOptions => ({
    ...common,
    ...pipeline,
    brokers: flags.brokers ?? process.env.CENTAUR_KAFKA_BROKERS ?? '127.0.0.1:9092',
    registry: flags.registry ?? process.env.CENTAUR_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    format,
    client,
    partitions,
    ...(rate === undefined ? {} : { rate }),
    knee: flags.knee === true,
    boundMs,
    probeSeconds,
    kneeSteps,
  });
  let report: { json: unknown; text: string; markdown: string; chart: ChartRow[] };
  try {
    if (axes !== undefined) {
      const result = scenario === 'files' ? await runFilesSweep({ ...common, ...pipeline }, axes) : await runKafkaSweep(kafkaOptions(), axes);
      report = { json: result, text: sweepText(result), markdown: sweepMarkdown(result), chart: sweepChart(result) };
    } else if (scenario === 'decode') {
      const result = await runDecodeBench({ ...common, size });
      report = { json: result, text: decodeText(result), markdown: decodeMarkdown(result), chart: decodeChart(result) };
    } else if (scenario === 'clients') {
      const { client: _one, ...options } = kafkaOptions();
      const result = await runClientsBench({ ...options, clients: [...new Set(clients)] as KafkaClientName[] });
      report = { json: result, text: clientsText(result), markdown: clientsMarkdown(result), chart: clientsChart(result) };
    } else if (scenario === 'files') {
      const result = await runFilesBench({ ...common, ...pipeline });
      report = { json: result, text: filesText(result), markdown: filesMarkdown(result), chart: filesChart(result) };
    } else {
      const result = await runKafkaBench(kafkaOptions());
      report = { json: result, text: kafkaText(result), markdown: kafkaMarkdown(result), chart: kafkaChart(result) };
    }
  } catch (error) {
    io.err(`centaur bench ${scenario}: ${(error as Error).message}`);
    return 1;
  }
  io.out(report.text.trimEnd());
  for (const [file, text] of [
    [flags.json, `${JSON.stringify(report.json, null, 2)}\n`],
    [flags.markdown, report.markdown],
    [flags.html, htmlReport(`centaur bench ${scenario}`, scenario === 'decode' ? 'images/s per core' : 'images/s', report.chart, report.text)],
  ] as const) {
    if (file === undefined) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
  }
  return 0;
}

/** `centaur bench drift`: checks its flags, runs the scenario, prints and writes the tables. */
async function driftBench(results: readonly string[], flags: BenchFlags, io: BenchIo): Promise<number> {
  if (results.length > 0) {
    io.err(`centaur bench drift: unexpected argument ${results[0] ?? ''}`);
    return 2;
  }
  const sizes = flags.windowSizes.split(',').map((v) => Number(v.trim()));
  if (sizes.length === 0 || !sizes.every((n) => Number.isInteger(n) && n >= 2)) {
    io.err('centaur bench drift: --window-sizes must list whole numbers ≥ 2');
    return 2;
  }
  const whole = { reference: Number(flags.reference), pool: Number(flags.pool), shiftPool: Number(flags.shiftPool), windows: Number(flags.windows), seeds: Number(flags.seeds), triggerWindows: Number(flags.triggerWindows), repeats: Number(flags.repeats), calibrationWindows: Number(flags.calibrationWindows) };
  for (const [name, value] of Object.entries(whole)) {
    if (!Number.isInteger(value) || value < 1) {
      io.err(`centaur bench drift: --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a whole number ≥ 1`);
      return 2;
    }
  }
  const falseAlarmRate = Number(flags.falseAlarmRate);
  if (!(falseAlarmRate > 0 && falseAlarmRate < 0.5)) {
    io.err('centaur bench drift: --false-alarm-rate must be in (0, 0.5)');
    return 2;
  }
  let last = -1;
  let result: DriftBenchResult;
  try {
    result = await runDriftBench({
      ...whole,
      sizes,
      falseAlarmRate,
      cacheDir: flags.cache,
      modelDir: path.resolve(flags.model ?? path.join(PACKAGE_ROOT, 'models', 'demo')),
      onProgress: (done, total) => {
        const percent = Math.floor((done / total) * 100);
        if (percent !== last) io.err(`bench drift: ${progressBar(percent)} ${percent}%`);
        last = percent;
      },
    });
  } catch (error) {
    io.err(`centaur bench drift: ${(error as Error).message}`);
    return 1;
  }
  const text = driftText(result);
  io.out(text.trimEnd());
  for (const [file, content] of [
    [flags.json, `${JSON.stringify(result, null, 2)}\n`],
    [flags.markdown, driftMarkdown(result)],
    [flags.html, htmlReport('centaur bench drift', 'alarms per 100 stationary windows (any of dataset, embedding)', driftChart(result), text)],
  ] as const) {
    if (file === undefined) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, content);
  }
  return 0;
}

/** A 20-cell bar for the progress line. */
function progressBar(percent: number): string {
  const full = Math.round(percent / 5);
  return `[${'#'.repeat(full)}${'.'.repeat(20 - full)}]`;
}

/** `bench compare A.json B.json`. */
async function compare(results: readonly string[], io: BenchIo): Promise<number> {
  if (results.length !== 2) {
    io.err('centaur bench compare: give two result files, A.json B.json (written by --json)');
    return 2;
  }
  const [a, b] = results as [string, string];
  try {
    const [left, right] = await Promise.all([a, b].map(async (file) => JSON.parse(await readFile(file, 'utf8')) as unknown));
    io.out(compareText(compareResults(left, right), a, b).trimEnd());
    return 0;
  } catch (error) {
    io.err(`centaur bench compare: ${(error as Error).message}`);
    return 2;
  }
}
