/**
 * The runtime: one running instance of a topology. It creates the nodes (nodes.ts), wires them
 * into one RxJS graph (wiring.ts), admits each source input with its delivery record, settles it
 * when every sink acknowledged it or its dead letter is durable (dead-letters.ts), commits
 * contiguous source positions (commits.ts), bounds what is in flight (in-flight-gate.ts), keeps
 * the run's figures (run-stats.ts) and drains on stop.
 */
import { performance } from 'node:perf_hooks';
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import type { SourceContext } from '../core/component.js';
import type { Envelope, EnvelopeInit } from '../core/envelope.js';
import type { CentaurError } from '../core/errors.js';
import { toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PACKAGE_VERSION } from '../core/package-info.js';
import type { RunState } from '../observability/api-types.js';
import { CentaurMetrics } from '../observability/metrics.js';
import { RunTracer } from '../observability/run-tracer.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { pathsToSinks } from '../topology/graph.js';
import { allMetricFamilies } from '../topology/registry.js';
import type { Topology } from '../topology/topology.js';
import { Commits } from './commits.js';
import type { PendingCommit } from './commits.js';
import { DeadLetterRoute } from './dead-letters.js';
import { DeliveryState } from './delivery-state.js';
import { InFlightGate } from './in-flight-gate.js';
import type { NodeCounters, NodeHealth } from './node-counters.js';
import { Nodes } from './nodes.js';
import { RunStats } from './run-stats.js';
import type { RunTotals } from './run-stats.js';
import type { RunSummary } from './run-summary.js';
import { wireGraph } from './wiring.js';

export interface RuntimeOptions {
  readonly logger: Logger;
  /** Scheduler for timed operators (virtual time in tests). */
  readonly scheduler?: SchedulerLike;
  /** Attempts for a retriable sink write before the inputs become dead letters. */
  readonly sinkWriteAttempts?: number;
  /** Also export the run's spans here when the topology turns tracing on (tests, embedding). */
  readonly spanExporter?: SpanExporter;
}

export type { NodeCounters, NodeHealth, RunState, RunTotals };

/** One running instance of a topology. */
export class Runtime {
  private nodes: Nodes | undefined;
  private readonly counters = new Map<string, NodeCounters>();
  private readonly health = new Map<string, NodeHealth>();
  private readonly stats = new RunStats();
  private readonly commits: Commits;
  private readonly gate: InFlightGate;
  private readonly paths: Map<string, number>;
  private stopRequested = false;
  private fatal: CentaurError | undefined;
  private rejectRun: ((error: CentaurError) => void) | undefined;
  private drainTimedOut = false;
  private stopSignal: (() => void) | undefined;
  private runState: RunState = 'starting';
  /** The run's Prometheus families; the HTTP server renders them. */
  readonly metrics: CentaurMetrics;
  /** Aborted when the run has ended: sink retries still waiting give up (their inputs stay uncommitted). */
  private readonly ended = new AbortController();
  /** Spans of the run's inputs, when the topology turns tracing on. */
  private tracer: RunTracer | undefined;

  constructor(
    readonly topology: Topology,
    private readonly options: RuntimeOptions,
  ) {
    const l = topology.limits;
    this.gate = new InFlightGate(
      { maxCount: l.maxInFlight, maxBytes: l.maxInFlightBytes, lowWaterRatio: l.lowWaterRatio },
      () => {
        this.metrics.backpressurePaused();
        for (const s of this.nodes?.sources() ?? []) s.pause();
      },
      () => {
        for (const s of this.nodes?.sources() ?? []) s.resume();
      },
    );
    this.commits = new Commits(
      l.commitIntervalMs,
      (c) => this.commitOne(c),
      (error: unknown) => this.options.logger.warn({ error: (error as Error).message }, 'Commit failed; it will be retried.'),
    );
    const upstreams = new Map([...topology.nodes.values()].map((n) => [n.id, n.from.filter((f) => topology.nodes.get(f)?.spec.role !== 'sink')]));
    this.paths = pathsToSinks(upstreams, (id) => topology.nodes.get(id)?.spec.role === 'sink' && id !== topology.deadLetter);
    for (const id of topology.nodes.keys()) {
      this.counters.set(id, { received: 0, sent: 0, failed: 0 });
      this.health.set(id, { state: 'running' });
    }
    const nodes = [...topology.nodes.values()].map((n) => ({ id: n.id, kind: n.spec.kind, role: n.spec.role, counts: () => this.counters.get(n.id) as NodeCounters }));
    this.metrics = new CentaurMetrics(topology.name, PACKAGE_VERSION, nodes, {
      inFlight: () => this.gate.stats,
      ready: () => this.readiness().length === 0,
      running: () => this.runState === 'running',
      totals: () => this.stats.current,
    }, allMetricFamilies());
  }

  /** Where the run is: starting (creating nodes), running, stopping (draining) or stopped. */
  get state(): RunState {
    return this.runState;
  }

  /** What keeps the run from being ready, by part; empty when ready. */
  readiness(): { part: string; reason: string }[] {
    if (this.runState !== 'running') return [{ part: 'topology', reason: this.runState }];
    const failing: { part: string; reason: string }[] = [];
    for (const [id, instance] of this.nodes?.instances ?? []) {
      const own = instance.role === 'source' ? instance.source.health?.() : instance.role === 'sink' ? instance.sink.health?.() : instance.operator.health?.();
      if (own !== undefined && own !== null) failing.push({ part: id, reason: own });
      const h = this.health.get(id);
      if (h?.state === 'failing') failing.push({ part: id, reason: h.reason ?? 'failing' });
    }
    return failing;
  }

  /** Each node's health (running, failing with a reason, stopped). */
  nodeHealth(): ReadonlyMap<string, Readonly<NodeHealth>> {
    return this.health;
  }

  /** Totals so far. */
  totalsSoFar(): RunTotals {
    return { ...this.stats.current };
  }

  /** Seconds since the sources started (0 before). */
  uptimeSeconds(): number {
    return this.stats.uptimeSeconds();
  }

  /** End-to-end latency quantiles (seconds) of inputs finished in the last `windowMs`, or null when none. */
  recentLatencySeconds(windowMs: number): { p50: number; p95: number; p99: number } | null {
    return this.stats.recentLatencySeconds(windowMs);
  }

  /** Per-node counters (received, sent, failed), for metrics. */
  nodeCounters(): ReadonlyMap<string, Readonly<NodeCounters>> {
    return this.counters;
  }

  /** In-flight figures, for metrics and tests. */
  inFlight(): { count: number; bytes: number; peakCount: number; peakBytes: number; paused: boolean } {
    return this.gate.stats;
  }

  /** Creates every component, wires the graph, starts the sources and resolves with the summary when the run ends. */
  async run(): Promise<RunSummary> {
    this.tracer = await RunTracer.create(this.topology.tracing, this.topology.name, this.options.logger, this.options.spanExporter);
    const nodes = await Nodes.create(this.topology, this.options.logger, this.metrics).catch(async (error: unknown) => {
      await this.tracer?.shutdown().catch(() => undefined);
      throw error;
    });
    this.nodes = nodes;
    // A stop asked for while the nodes were being created: the sources start stopped and end at once.
    if (this.stopRequested) for (const s of nodes.sources()) await s.stop().catch((error: unknown) => this.fail(error));
    this.stats.start();
    const finished = new Promise<RunSummary>((resolve, reject) => {
      this.rejectRun = reject;
      this.wireAndStart(nodes).then(resolve, (error: unknown) => reject(toCentaurError(error)));
    });
    try {
      return await finished;
    } finally {
      this.stats.stopSampling();
      this.commits.cancelTimer();
      await this.tracer?.shutdown().catch((error: unknown) => this.options.logger.warn({ error: (error as Error).message }, 'Exporting the last spans failed.'));
    }
  }

  /** Begins a graceful stop: sources stop, in-flight inputs finish (bounded by drainTimeoutMs), sinks flush. */
  stop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.runState !== 'stopped') this.runState = 'stopping';
    this.options.logger.info({ topology: this.topology.name }, 'Stopping: sources stop and in-flight inputs drain.');
    for (const s of this.nodes?.sources() ?? []) s.stop().catch((error: unknown) => this.fail(error));
    this.stopSignal?.();
  }

  private async wireAndStart(nodes: Nodes): Promise<RunSummary> {
    const t = this.topology;
    const deadLetters = new DeadLetterRoute(
      nodes.deadLetterSink,
      t.deadLetter === null ? undefined : this.counters.get(t.deadLetter),
      this.metrics,
      this.options.logger,
      (error) => this.fail(error),
      this.tracer === undefined ? undefined : (letter) => this.tracer?.deadLettered(letter.envelope, letter.node, letter.error),
    );
    let sinkDone: Promise<unknown>[];
    try {
      sinkDone = wireGraph(t, nodes, {
        counters: this.counters,
        health: this.health,
        metrics: this.metrics,
        deadLetters,
        scheduler: this.options.scheduler ?? asyncScheduler,
        logger: this.options.logger,
        sinkWriteAttempts: this.options.sinkWriteAttempts ?? 5,
        ended: this.ended.signal,
        ...(this.tracer === undefined ? {} : { tracer: this.tracer }),
      });
    } catch (error) {
      await nodes.close();
      throw error;
    }
    deadLetters.start();

    const sourcesDone = [...nodes.instances.values()].map(async (instance) => {
      if (instance.role !== 'source') return;
      const id = instance.node.id;
      const ctx: SourceContext = {
        emit: (init) => instance.subject.next(this.admit(init, id)),
        fail: (init, error) => {
          const envelope = this.admit(init, id);
          (this.counters.get(id) as NodeCounters).failed += 1;
          deadLetters.send({ envelope, node: id, error: toCentaurError(error, 'INPUT_READ_FAILED'), time: Date.now() });
        },
      };
      try {
        await instance.source.start(ctx);
      } finally {
        instance.subject.complete();
      }
    });
    if (!this.stopRequested) this.runState = 'running';
    this.options.logger.info({ topology: t.name, nodes: t.order.length }, 'Topology started.');

    const drained = (async () => {
      await Promise.all(sourcesDone);
      await Promise.all(sinkDone);
      await deadLetters.end();
    })();
    const stopped = new Promise<void>((resolve) => {
      this.stopSignal = resolve;
      if (this.stopRequested) resolve();
    });
    // Once a stop is requested, the drain has drainTimeoutMs to finish.
    let drainTimer: NodeJS.Timeout | undefined;
    let outcome: 'drained' | 'timeout' | 'failed';
    try {
      outcome = await Promise.race([
        drained.then(() => 'drained' as const),
        stopped.then(() => new Promise<'timeout'>((resolve) => (drainTimer = setTimeout(() => resolve('timeout'), t.limits.drainTimeoutMs)))),
      ]);
    } catch (error) {
      // A source or a stream failed: stop the others, then still commit what completed and close.
      this.fatal ??= toCentaurError(error);
      this.stop();
      outcome = 'failed';
    }
    clearTimeout(drainTimer);
    if (outcome === 'timeout') {
      this.drainTimedOut = true;
      this.options.logger.error({ topology: t.name, inFlight: this.gate.stats.count }, 'In-flight inputs did not finish within drainTimeoutMs; they will be read again on restart.');
    }
    await this.commits.flush().catch((error: unknown) => {
      this.fatal ??= toCentaurError(error, 'CHECKPOINT_FAILED');
    });
    this.ended.abort();
    await nodes.close({ drainTimedOut: this.drainTimedOut });
    this.runState = 'stopped';
    for (const h of this.health.values()) h.state = 'stopped';
    if (this.fatal !== undefined) throw this.fatal;
    return this.stats.summary(t.name, this.gate.stats.peakCount, this.drainTimedOut);
  }

  /** Turns a source's input into an envelope with its delivery record, and counts it in flight. */
  private admit(init: EnvelopeInit, sourceId: string): Envelope {
    const { partition, offset } = init.position;
    const epoch = this.commits.track(sourceId, partition, offset);
    const receivedAt = performance.now();
    const delivery = new DeliveryState(
      sourceId,
      partition,
      offset,
      epoch,
      init.sizeBytes,
      receivedAt,
      init.eventTime,
      this.paths.get(sourceId) ?? 1,
      (node) => this.paths.get(node) ?? 1,
      (state) => this.complete(state),
    );
    this.stats.admitted();
    this.gate.add(init.sizeBytes);
    const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = {
      id: init.id,
      eventTime: init.eventTime,
      position: init.position,
      payload: init.payload,
      sizeBytes: init.sizeBytes,
      metadata: init.metadata ?? {},
      receivedAt,
      timings: {},
      delivery,
    };
    if (init.key !== undefined) envelope.key = init.key;
    if (init.label !== undefined) envelope.label = init.label;
    if (init.original !== undefined) envelope.original = init.original;
    if (init.annotation !== undefined) envelope.annotation = init.annotation;
    this.tracer?.admitted(envelope, { id: sourceId, kind: this.topology.nodes.get(sourceId)?.spec.kind ?? 'source' });
    return envelope;
  }

  /** An input is settled on every path: release it, count it, advance its partition's position. */
  private complete(state: DeliveryState): void {
    this.tracer?.completed(state);
    this.gate.remove(state.bytes);
    const { endToEndSeconds, processingSeconds } = this.stats.finished(state, performance.now());
    this.metrics.inputCompleted(endToEndSeconds, processingSeconds);
    this.commits.completed(state.source, state.partition, state.epoch, state.offset);
  }

  /** Commits one position to its source, recording the outcome in metrics and the source's health. */
  private async commitOne(c: PendingCommit): Promise<void> {
    const instance = this.nodes?.instances.get(c.source);
    if (instance?.role !== 'source') return;
    const started = performance.now();
    const health = this.health.get(c.source) as NodeHealth;
    try {
      await instance.source.commit(c.partition, c.offset);
      this.metrics.commit(c.source, true, (performance.now() - started) / 1000);
      health.state = 'running';
      delete health.reason;
    } catch (error) {
      this.metrics.commit(c.source, false, (performance.now() - started) / 1000);
      health.state = 'failing';
      health.reason = `commit failed: ${(error as Error).message}`;
      throw error;
    }
  }

  private fail(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = toCentaurError(error);
    this.options.logger.error({ error: this.fatal.message, code: this.fatal.code }, 'The run failed.');
    this.stop();
    this.rejectRun?.(this.fatal);
  }
}

/** Runs a topology to its end (finite sources) or until `stop()`; see Runtime. */
export async function runTopology(topology: Topology, options: RuntimeOptions): Promise<RunSummary> {
  return new Runtime(topology, options).run();
}
