/**
 * The soak: `centaur run` (the Kafka → Kafka camera topology, src/bench/soak-topology.ts) as a child
 * process for a long time at a fixed share of its saturated throughput, sampled from the outside every
 * few seconds, and then the same stream into a sink made far slower than the input.
 *
 * 1. Saturation: the topology drains a pre-filled topic; images/s by the output's append times.
 * 2. Steady: a paced producer at `fraction` × saturation for `minutes`; every `sampleMs` the child's
 *    RSS and open fds (/proc), its /metrics (event-loop lag p99, active handles, heap, in flight) and
 *    the end-to-end latency of the window (capture time → prediction appended). Trends (least-squares
 *    slope per hour, start, end, max) over the samples after the warm-up.
 * 3. Slow sink: the same stream into an `object-sink` writing to S3 through a link that admits
 *    requests at 1/`slowFactor` of the input's request rate; the in-flight limits must pause the
 *    source (consumer lag grows in Kafka) and keep memory bounded.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { benchImages } from './bench-images.js';
import { appendRate, BenchKafka } from './bench-kafka.js';
import type { LatencyFigures } from './latency.js';
import { trendOf, warmUpEndMs } from './slope.js';
import type { Trend } from './slope.js';
import { PredictionLatency } from './soak-latency.js';
import { PacedProducer } from './soak-paced-producer.js';
import type { PacedStats } from './soak-paced-producer.js';
import { CentaurChild } from './soak-process.js';
import { sampleProcess } from './soak-sampler.js';
import type { ProcessSample } from './soak-sampler.js';
import { SlowLake } from './soak-slow-lake.js';
import type { LinkStats } from './soak-slow-lake.js';
import { soakTopologyYaml } from './soak-topology.js';
import type { SoakLimits, SoakOutput } from './soak-topology.js';

/** What to run, and where. */
export interface SoakOptions {
  readonly brokers: string;
  readonly client: string;
  /** The S3 server the slow sink writes to (through the throttled link). */
  readonly s3Endpoint: string;
  readonly modelDir: string;
  /** Where the generated 640×480 frames are cached (src/bench/bench-images.ts). */
  readonly cacheDir: string;
  /** Distinct frames, produced round robin. */
  readonly images: number;
  /** Frames on the pre-filled topic the saturated rate is measured on. */
  readonly saturationFrames: number;
  readonly partitions: number;
  readonly minutes: number;
  /** Share of the saturated rate the steady phase is paced at. */
  readonly fraction: number;
  /** Pace at this rate (frames/s) instead of measuring the saturated one. */
  readonly rate?: number;
  /** Minutes of the slow-sink phase (0: none). */
  readonly slowMinutes: number;
  /** How much slower than the input the slow sink is. */
  readonly slowFactor: number;
  readonly sampleMs: number;
  /** Samples judged: after `fraction` of the phase or `minMs`, whichever is later. */
  readonly warmUp: { readonly fraction: number; readonly minMs: number };
  readonly limits: SoakLimits;
  /** How long the slow-sink child may take to stop after SIGTERM before it is killed. */
  readonly slowStopTimeoutMs: number;
  /** A line of progress (stderr in the bench). */
  readonly onProgress?: (line: string) => void;
}

/** A sample and the latency of the predictions appended since the previous one. */
export interface SoakSample extends ProcessSample {
  readonly latencyMs: LatencyFigures;
  /** Frames acknowledged by the broker so far, and predictions read. */
  readonly produced: number;
  readonly predicted: number;
}

/** The trends the steady phase is judged by. */
export interface SteadyTrends {
  readonly rssBytes: Trend;
  readonly fds: Trend;
  readonly handles: Trend;
  readonly resources: Trend;
  readonly eventLoopLagP99Seconds: Trend;
  readonly heapUsedBytes: Trend;
  readonly externalBytes: Trend;
}

export interface SteadyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly warmUpMs: number;
  readonly producer: PacedStats;
  readonly predicted: number;
  readonly deadLetters: number;
  /** Latency of the predictions read after the warm-up. */
  readonly latencyMs: LatencyFigures;
  readonly trends: SteadyTrends;
  /** RSS max over the whole phase, warm-up included. */
  readonly maxRssBytes: number;
  readonly exit: number | string;
  readonly stopSeconds: number;
  readonly samples: readonly SoakSample[];
}

export interface SlowSinkResult {
  readonly rate: number;
  readonly seconds: number;
  readonly slowFactor: number;
  readonly link: LinkStats;
  readonly producer: PacedStats;
  /** Images the sink archived per second (through the link), and the input rate over it. */
  readonly sinkRate: number;
  readonly inputOverSink: number;
  /** Images in the lake at the end of the phase, and inputs the sink acknowledged (ok). */
  readonly archived: number;
  readonly acknowledged: number;
  readonly deadLetters: number;
  readonly maxRssBytes: number;
  /** RSS from the first sample with the source paused on. */
  readonly rssWhilePaused: Trend;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  /** Share of the samples with the source paused, and pauses counted by the runtime. */
  readonly pausedShare: number;
  readonly pauses: number;
  readonly consumerLag: Trend;
  /** Warnings the child logged during the phase (retries: one line each), per second. */
  readonly warningsPerSecond: number;
  readonly exit: number | string;
  readonly stopSeconds: number;
  /** When it took more than drainTimeoutMs + 15 s to exit after SIGTERM (or was killed at `slowStopTimeoutMs`): its errors, the stop's line and its last lines. */
  readonly stopLog: readonly string[];
  readonly samples: readonly SoakSample[];
}

/** The soak's result, as `--out` writes it. */
export interface SoakResult {
  readonly scenario: 'soak';
  readonly startedAt: string;
  readonly cores: number;
  readonly settings: {
    readonly client: string;
    readonly images: number;
    readonly frameBytes: { readonly mean: number; readonly max: number };
    readonly partitions: number;
    readonly minutes: number;
    readonly fraction: number;
    readonly slowMinutes: number;
    readonly slowFactor: number;
    readonly sampleMs: number;
    readonly warmUp: { readonly fraction: number; readonly minMs: number };
    readonly limits: SoakLimits;
  };
  /** The saturated rate (null when `rate` was given). */
  readonly saturation: { readonly frames: number; readonly rate: number; readonly rssBytes: number } | null;
  readonly rate: number;
  readonly steady: SteadyResult;
  readonly slowSink: SlowSinkResult | null;
}

/** Runs the soak. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const startedAt = new Date().toISOString();
  const say = o.onProgress ?? (() => undefined);
  const dir = await benchImages(o.images, o.cacheDir);
  const frames = await Promise.all((await glob('**/*.jpg', { cwd: dir, absolute: true })).sort().map((f) => readFile(f)));
  const kafka = await BenchKafka.connect(o.brokers, 'bytes', undefined);
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-soak-'));
  try {
    let saturation: SoakResult['saturation'] = null;
    if (o.rate === undefined) {
      say(`saturation: draining ${o.saturationFrames} frames…`);
      saturation = await saturatedRate(kafka, frames, work, o);
      say(`saturation: ${saturation.rate.toFixed(1)} frames/s`);
    }
    const rate = o.rate ?? (saturation as { rate: number }).rate * o.fraction;
    say(`steady: ${rate.toFixed(1)} frames/s for ${o.minutes} min…`);
    const steady = await steadyPhase(kafka, frames, rate, work, o);
    const slowSink = o.slowMinutes > 0 ? await slowSinkPhase(kafka, frames, rate, work, o) : null;
    return {
      scenario: 'soak',
      startedAt,
      cores: availableParallelism(),
      settings: {
        client: o.client,
        images: frames.length,
        frameBytes: { mean: frames.reduce((s, f) => s + f.length, 0) / frames.length, max: Math.max(...frames.map((f) => f.length)) },
        partitions: o.partitions,
        minutes: o.minutes,
        fraction: o.fraction,
        slowMinutes: o.slowMinutes,
        slowFactor: o.slowFactor,
        sampleMs: o.sampleMs,
        warmUp: o.warmUp,
        limits: o.limits,
      },
      saturation,
      rate,
      steady,
      slowSink,
    };
  } finally {
    await kafka.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/** Writes the topology into `work` and starts it; resolves once `/readyz` says ready. */
async function startChild(kafka: BenchKafka, input: string, output: SoakOutput, tag: string, work: string, o: SoakOptions): Promise<{ child: CentaurChild; url: string }> {
  const file = path.join(work, `${tag}.yaml`);
  const deadLetterDir = path.join(work, `${tag}-dead-letters`);
  await writeFile(file, soakTopologyYaml({ name: `soak-${tag}`, brokers: o.brokers, client: o.client, input, group: kafka.name(`group-${tag}`), modelDir: o.modelDir, deadLetterDir, output, limits: o.limits }));
  const child = CentaurChild.start(file);
  try {
    const url = await child.httpUrl();
    await child.ready(url);
    return { child, url };
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
}

/** The topology drains a pre-filled topic: images/s by the output's append times. */
async function saturatedRate(kafka: BenchKafka, frames: readonly Buffer[], work: string, o: SoakOptions): Promise<{ frames: number; rate: number; rssBytes: number }> {
  const input = await kafka.createTopic('saturation-in', o.partitions, false);
  const output = await kafka.createTopic('saturation-out', o.partitions, true);
  const all = Array.from({ length: o.saturationFrames }, (_, i) => frames[i % frames.length] as Buffer);
  await kafka.produceAll(input, all, [], '');
  const { child, url } = await startChild(kafka, input, { kind: 'kafka', topic: output }, 'saturation', work, o);
  try {
    await kafka.waitForCount(output, all.length, Math.max(120_000, all.length * 500), () => child.failed());
    const { rssBytes } = await sampleProcess(child.pid, `${url}/metrics`, 0);
    return { frames: all.length, rate: appendRate(await kafka.appended(output, all.length, 60_000)), rssBytes };
  } finally {
    await child.stop();
  }
}

/** Samples the child every `sampleMs` for `seconds`, calling `each` after every sample; fails as soon as the child exits. */
async function sampleFor(child: CentaurChild, url: string, latency: PredictionLatency | null, producer: PacedProducer, seconds: number, o: SoakOptions, each: (s: SoakSample) => void): Promise<SoakSample[]> {
  const samples: SoakSample[] = [];
  const started = performance.now();
  for (let k = 1; k * o.sampleMs <= seconds * 1000; k += 1) {
    const wait = started + k * o.sampleMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const failure = child.failed();
    if (failure !== undefined) throw new Error(failure);
    const sample = await sampleProcess(child.pid, `${url}/metrics`, performance.now() - started);
    const row: SoakSample = {
      ...sample,
      latencyMs: latency?.takeWindow() ?? { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN },
      produced: producer.stats.acked,
      predicted: latency?.count ?? Number.NaN,
    };
    samples.push(row);
    each(row);
  }
  return samples;
}

const MiB = 2 ** 20;

/** The log lines of a stop that took too long: errors (the drain timing out) and the stop's own line, then the last three (each cut to 400 characters). */
function stopLines(child: CentaurChild): string[] {
  return [...child.notable().slice(-5), ...child.lastLines(3)].map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l));
}

function progressLine(phase: string, s: SoakSample): string {
  const lat = s.latencyMs.count > 0 ? `, e2e p95 ${s.latencyMs.p95} ms` : '';
  return `${phase} ${(s.atMs / 1000).toFixed(0)} s: RSS ${(s.rssBytes / MiB).toFixed(0)} MiB (heap ${(s.heapUsedBytes / MiB).toFixed(0)}, external ${(s.externalBytes / MiB).toFixed(0)}), fds ${s.fds}, handles ${s.handles}, loop p99 ${(s.eventLoopLagP99Seconds * 1000).toFixed(0)} ms, in flight ${s.inFlight}, lag ${s.consumerLag}${lat}`;
}

async function steadyPhase(kafka: BenchKafka, frames: readonly Buffer[], rate: number, work: string, o: SoakOptions): Promise<SteadyResult> {
  const input = await kafka.createTopic('steady-in', o.partitions, false);
  const output = await kafka.createTopic('steady-out', o.partitions, true);
  const { child, url } = await startChild(kafka, input, { kind: 'kafka', topic: output }, 'steady', work, o);
  let latency: PredictionLatency | null = null;
  let producer: PacedProducer | null = null;
  try {
    latency = await PredictionLatency.start(o.brokers, output);
    producer = await PacedProducer.start(o.brokers, input, frames, rate);
    const seconds = o.minutes * 60;
    const warmUpMs = warmUpEndMs(seconds * 1000, o.warmUp);
    let warm = false;
    const reader = latency;
    const samples = await sampleFor(child, url, latency, producer, seconds, o, (s) => {
      if (!warm && s.atMs >= warmUpMs) {
        warm = true;
        reader.restartOverall();
      }
      o.onProgress?.(progressLine('steady', s));
    });
    const stats = await producer.stop();
    producer = null;
    // Drain: every frame the broker took is predicted (or the time is up).
    const deadline = Date.now() + 120_000;
    while (latency.count < stats.acked && Date.now() < deadline && child.failed() === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    const last = await sampleProcess(child.pid, `${url}/metrics`, seconds * 1000);
    const judged = samples.filter((s) => s.atMs >= warmUpMs);
    const trend = (pick: (s: SoakSample) => number): Trend => trendOf(judged.map((s) => ({ atMs: s.atMs, value: pick(s) })));
    const stopped = await child.stop();
    const predicted = latency.count;
    const latencyMs = await latency.stop();
    latency = null;
    return {
      rate,
      seconds,
      warmUpMs,
      producer: stats,
      predicted,
      deadLetters: last.deadLetters,
      latencyMs,
      trends: {
        rssBytes: trend((s) => s.rssBytes),
        fds: trend((s) => s.fds),
        handles: trend((s) => s.handles),
        resources: trend((s) => s.resources),
        eventLoopLagP99Seconds: trend((s) => s.eventLoopLagP99Seconds),
        heapUsedBytes: trend((s) => s.heapUsedBytes),
        externalBytes: trend((s) => s.externalBytes),
      },
      maxRssBytes: Math.max(...samples.map((s) => s.rssBytes)),
      exit: stopped.exit,
      stopSeconds: stopped.seconds,
      samples,
    };
  } finally {
    await producer?.stop().catch(() => undefined);
    await latency?.stop().catch(() => undefined);
    if (child.exit === null) await child.stop('SIGKILL');
  }
}

async function slowSinkPhase(kafka: BenchKafka, frames: readonly Buffer[], rate: number, work: string, o: SoakOptions): Promise<SlowSinkResult> {
  // Each input costs the object-sink two requests (does the image exist? then put it), plus a share of a record file.
  const requestsPerSecond = (2 * rate) / o.slowFactor;
  o.onProgress?.(`slow sink: ${rate.toFixed(1)} frames/s into an object-sink behind a link of ${requestsPerSecond.toFixed(2)} requests/s for ${o.slowMinutes} min…`);
  const lake = await SlowLake.open(o.s3Endpoint, requestsPerSecond);
  let producer: PacedProducer | null = null;
  let child: CentaurChild | null = null;
  try {
    const input = await kafka.createTopic('slow-in', o.partitions, false);
    // A request may wait its turn for as long as the sink's 50 connections take: 50 / rate of the link, with room.
    const timeoutMs = Math.max(30_000, Math.ceil((4 * 50 * 1000) / requestsPerSecond));
    const started = await startChild(kafka, input, { kind: 'object', uri: lake.uri('soak'), endpoint: lake.endpoint, timeoutMs }, 'slow', work, o);
    child = started.child;
    producer = await PacedProducer.start(o.brokers, input, frames, rate);
    const seconds = o.slowMinutes * 60;
    const samples = await sampleFor(child, started.url, null, producer, seconds, o, (s) => o.onProgress?.(progressLine('slow sink', s)));
    const stats = await producer.stop();
    producer = null;
    const warningsPerSecond = child.warnings / seconds;
    const last = samples[samples.length - 1];
    const archived = await lake.count('soak/images/');
    const sinkRate = archived / seconds;
    // A clean stop gives up on the inputs still in flight after drainTimeoutMs; past `slowStopTimeoutMs` it is killed.
    const stopped = await child.stop('SIGTERM', o.slowStopTimeoutMs);
    // Exit 1 is what a stop whose drain timed out returns; taking much longer than drainTimeoutMs is not.
    const slowStop = stopped.exit === 'SIGKILL' || stopped.seconds > o.limits.drainTimeoutMs / 1000 + 15;
    const stopLog = slowStop ? stopLines(child) : [];
    const firstPaused = samples.findIndex((s) => s.paused === 1);
    const series = (list: readonly SoakSample[], pick: (s: SoakSample) => number): Trend => trendOf(list.map((s) => ({ atMs: s.atMs, value: pick(s) })));
    return {
      rate,
      seconds,
      slowFactor: o.slowFactor,
      link: lake.stats,
      producer: stats,
      sinkRate,
      inputOverSink: rate / sinkRate,
      archived,
      acknowledged: last?.completed ?? Number.NaN,
      deadLetters: last?.deadLetters ?? Number.NaN,
      maxRssBytes: Math.max(...samples.map((s) => s.rssBytes)),
      rssWhilePaused: series(firstPaused < 0 ? [] : samples.slice(firstPaused), (s) => s.rssBytes),
      maxInFlight: Math.max(...samples.map((s) => s.inFlight)),
      maxInFlightBytes: Math.max(...samples.map((s) => s.inFlightBytes)),
      pausedShare: samples.filter((s) => s.paused === 1).length / Math.max(1, samples.length),
      pauses: last?.pauses ?? Number.NaN,
      consumerLag: series(samples, (s) => s.consumerLag),
      warningsPerSecond,
      exit: stopped.exit,
      stopSeconds: stopped.seconds,
      stopLog,
      samples,
    };
  } finally {
    await producer?.stop().catch(() => undefined);
    if (child !== null && child.exit === null) await child.stop('SIGKILL');
    await lake.close().catch(() => undefined);
  }
}
