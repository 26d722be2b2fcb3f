/**
 * The live view of a running topology behind `/api/status` and `/api/events`: samples the
 * runtime's counters once per second into per-second rates and a summary that listeners receive
 * (the shapes are documented in docs/METRICS.md).
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ELDHistogram } from 'node:perf_hooks';
import { PACKAGE_VERSION } from '../core/package-info.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Accuracy, HistoryPoint, NodeRates, NodeSummary, ProcessFigures, StatusDocument, SummaryEvent } from './api-types.js';
import { GpuSampler } from './gpu-sampler.js';
import { redactSecrets } from './redact.js';

/** How far back `latencySeconds` looks. */
const LATENCY_WINDOW_MS = 10000;
/** Points of history kept: ten minutes at one a second (the dashboard draws five). */
export const HISTORY_POINTS = 600;

export class LiveStatus {
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private lastNodes = new Map<string, { received: number; sent: number; failed: number }>();
  private lastTotals = { inputs: 0, completed: 0, deadLetters: 0 };
  private rates = new Map<string, NodeRates>();
  private latest: SummaryEvent;
  private readonly listeners = new Set<(summary: SummaryEvent) => void>();
  private readonly startedAt = new Date();
  private readonly config: unknown;
  /** The recent points, oldest first (a ring of HISTORY_POINTS). */
  private readonly points: HistoryPoint[] = [];
  private readonly loopDelay: ELDHistogram = monitorEventLoopDelay({ resolution: 10 });
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();
  /** The machine's GPUs (nvidia-smi), sampled apart from the summaries. */
  private readonly gpus = new GpuSampler();

  constructor(
    private readonly runtime: Runtime,
    private readonly intervalMs = 1000,
  ) {
    const t = runtime.topology;
    this.config = redactSecrets({
      name: t.name,
      ...(t.description === undefined ? {} : { description: t.description }),
      file: t.file,
      limits: t.limits,
      deadLetter: t.deadLetter,
      nodes: t.order.map((id) => {
        const n = t.nodes.get(id);
        return { id, kind: n?.kind, from: n?.from, options: n?.options };
      }),
    });
    this.latest = this.sample();
  }

  /** Starts sampling once per interval. */
  start(): void {
    if (this.timer !== undefined) return;
    this.lastAt = performance.now();
    this.loopDelay.enable();
    void this.gpus.start();
    this.timer = setInterval(() => {
      this.latest = this.sample();
      this.points.push(pointOf(this.latest));
      if (this.points.length > HISTORY_POINTS) this.points.shift();
      for (const listener of this.listeners) listener(this.latest);
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.loopDelay.disable();
    this.gpus.stop();
  }

  /** The recent points, oldest first; why: a page opened (or reloaded) mid-run draws the last minutes at once. */
  history(): HistoryPoint[] {
    return [...this.points];
  }

  /** CPU since the last call, memory now, and the event loop's delay since the last call. */
  private processFigures(): ProcessFigures {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const wallMicros = (now - this.lastCpuAt) * 1000;
    const usedMicros = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    this.lastCpu = cpu;
    this.lastCpuAt = now;
    const memory = process.memoryUsage();
    const d = this.loopDelay;
    // Percentiles are in nanoseconds; nothing measured yet reads as NaN or 0 counts.
    const delay = d.count > 0 ? { p50: d.percentile(50) / 1e9, p99: d.percentile(99) / 1e9 } : null;
    d.reset();
    return { cpuCores: wallMicros > 0 ? usedMicros / wallMicros : 0, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, eventLoopDelaySeconds: delay };
  }

  /** Calls `listener` with every new summary; returns the unsubscribe function. */
  subscribe(listener: (summary: SummaryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The most recent summary (rates from the last sample), with states, counts and in-flight figures as of now. */
  summary(): SummaryEvent {
    const r = this.runtime;
    const totals = r.totalsSoFar();
    const gate = r.inFlight();
    const failing = r.readiness();
    const counters = r.nodeCounters();
    const health = r.nodeHealth();
    const nodes = this.latest.nodes.map((n): NodeSummary => {
      const c = counters.get(n.id) ?? n.totals;
      const h = health.get(n.id);
      const { reason: _stale, ...rest } = n;
      return { ...rest, state: h?.state ?? n.state, ...(h?.reason === undefined ? {} : { reason: h.reason }), totals: { received: c.received, sent: c.sent, failed: c.failed } };
    });
    return {
      ...this.latest,
      nodes,
      time: Date.now(),
      uptimeSeconds: r.uptimeSeconds(),
      state: r.state,
      ready: failing.length === 0,
      failing,
      inFlight: { envelopes: gate.count, bytes: gate.bytes, paused: gate.paused },
      totals: { inputs: totals.inputs, completed: totals.completed, deadLetters: totals.deadLetters, predictions: totals.predictions },
      drift: r.metrics.driftSummary(),
    };
  }

  /** The `/api/status` document as of now (rates from the last sample). */
  status(): StatusDocument {
    const r = this.runtime;
    const counters = r.nodeCounters();
    const health = r.nodeHealth();
    const totals = r.totalsSoFar();
    const gate = r.inFlight();
    const failing = r.readiness();
    return {
      topology: r.topology.name,
      state: r.state,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: r.uptimeSeconds(),
      instance: { pid: process.pid, hostname: os.hostname(), version: PACKAGE_VERSION },
      ready: { ready: failing.length === 0, failing },
      nodes: r.topology.order.map((id) => {
        const node = r.topology.nodes.get(id);
        const c = counters.get(id) ?? { received: 0, sent: 0, failed: 0 };
        const h = health.get(id);
        return {
          id,
          kind: node?.kind ?? '',
          role: node?.spec.role ?? '',
          from: node?.from ?? [],
          state: h?.state ?? 'running',
          ...(h?.reason === undefined ? {} : { reason: h.reason }),
          received: c.received,
          sent: c.sent,
          failed: c.failed,
          rates: this.rates.get(id) ?? { received: 0, sent: 0, failed: 0 },
        };
      }),
      models: r.metrics.modelVersions(),
      totals: { inputs: totals.inputs, completed: totals.completed, deadLetters: totals.deadLetters, predictions: totals.predictions, inFlight: gate.count, inFlightBytes: gate.bytes },
      latencySeconds: r.recentLatencySeconds(LATENCY_WINDOW_MS),
      accuracy: accuracyOf(totals),
      config: this.config,
    };
  }

  private sample(): SummaryEvent {
    const r = this.runtime;
    const now = performance.now();
    const seconds = this.lastAt === 0 ? 0 : (now - this.lastAt) / 1000;
    this.lastAt = now;
    const perSecond = (delta: number): number => (seconds > 0 ? delta / seconds : 0);
    const nodes: NodeSummary[] = [];
    const current = new Map<string, { received: number; sent: number; failed: number }>();
    const health = r.nodeHealth();
    for (const [id, c] of r.nodeCounters()) {
      const before = this.lastNodes.get(id) ?? { received: 0, sent: 0, failed: 0 };
      const rates = { received: perSecond(c.received - before.received), sent: perSecond(c.sent - before.sent), failed: perSecond(c.failed - before.failed) };
      this.rates.set(id, rates);
      const h = health.get(id);
      nodes.push({ id, ...rates, state: h?.state ?? 'running', ...(h?.reason === undefined ? {} : { reason: h.reason }), totals: { received: c.received, sent: c.sent, failed: c.failed } });
      current.set(id, { ...c });
    }
    this.lastNodes = current;
    const totals = r.totalsSoFar();
    const throughput = {
      inputs: perSecond(totals.inputs - this.lastTotals.inputs),
      completed: perSecond(totals.completed - this.lastTotals.completed),
      deadLetters: perSecond(totals.deadLetters - this.lastTotals.deadLetters),
    };
    this.lastTotals = { inputs: totals.inputs, completed: totals.completed, deadLetters: totals.deadLetters };
    const gate = r.inFlight();
    const failing = r.readiness();
    return {
      time: Date.now(),
      uptimeSeconds: r.uptimeSeconds(),
      state: r.state,
      ready: failing.length === 0,
      failing,
      throughput,
      latencySeconds: r.recentLatencySeconds(LATENCY_WINDOW_MS),
      batchFill: r.metrics.takeBatchFill(),
      inFlight: { envelopes: gate.count, bytes: gate.bytes, paused: gate.paused },
      lag: r.metrics.totalLag(),
      nodes,
      totals: { inputs: totals.inputs, completed: totals.completed, deadLetters: totals.deadLetters, predictions: totals.predictions },
      models: r.metrics.modelVersions(),
      accuracy: accuracyOf(totals),
      drift: r.metrics.driftSummary(),
      labels: r.metrics.labelsSummary(),
      process: this.processFigures(),
      gpus: this.gpus.latest,
    };
  }
}

/** The charted part of a summary. */
function pointOf(s: SummaryEvent): HistoryPoint {
  return { time: s.time, throughput: s.throughput, latencySeconds: s.latencySeconds, batchFill: s.batchFill, lag: s.lag, process: s.process, gpus: s.gpus };
}

function accuracyOf(totals: { correct: number; labelled: number }): Accuracy | null {
  return totals.labelled === 0 ? null : { correct: totals.correct, labelled: totals.labelled, ratio: totals.correct / totals.labelled };
}
