/**
 * The runtime: builds a validated topology into an RxJS graph (fan-in by merge, fan-out shared),
 * runs it, acknowledges inputs end to end, commits contiguous source positions, bounds what is in
 * flight, routes failures to the dead-letter sink and drains on stop.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { asyncScheduler, concatMap, from, lastValueFrom, map, merge, mergeMap, share, Subject, tap } from 'rxjs';
import type { Observable, SchedulerLike } from 'rxjs';
import type { DeadLetter, BatchWish, Operator, OperatorContext, Sink, Source, SourceContext } from '../core/component.js';
import { envelopesOf, forkEnvelope, isBatch } from '../core/envelope.js';
import type { Envelope, EnvelopeInit, Item } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { pathsToSinks } from '../topology/graph.js';
import type { Topology, TopologyNode } from '../topology/topology.js';
import { createDeadLetterSink } from '../sinks/dead-letter.js';
import { DeliveryState } from './delivery-state.js';
import { InFlightGate } from './in-flight-gate.js';
import { LatencyHistogram } from './latency-histogram.js';
import { OffsetTracker } from './offset-tracker.js';
import { RecentLatency } from './recent-latency.js';
import { microBatchBuffer } from '../operators/rx/micro-batch-buffer.js';
import type { RunSummary } from './run-summary.js';
import { CentaurMetrics } from '../observability/metrics.js';
import type { RunState } from '../observability/api-types.js';
import type { HistogramChild } from '../observability/fast-histogram.js';
import { PACKAGE_VERSION } from '../core/package-info.js';

export interface RuntimeOptions {
  readonly logger: Logger;
  /** Scheduler for timed operators (virtual time in tests). */
  readonly scheduler?: SchedulerLike;
  /** Attempts for a retriable sink write before the inputs become dead letters. */
  readonly sinkWriteAttempts?: number;
}

/** Per-node counters, the same for every node. */
export interface NodeCounters {
  received: number;
  sent: number;
  failed: number;
}

export type { RunState };

/** A node's health: `failing` after its last write or commit failed, until one succeeds. */
export interface NodeHealth {
  state: 'running' | 'failing' | 'stopped';
  reason?: string;
}

/** Totals of a run so far, for the status API. */
export interface RunTotals {
  readonly inputs: number;
  readonly completed: number;
  readonly predictions: number;
  readonly deadLetters: number;
  readonly correct: number;
  readonly labelled: number;
}

type Instance =
  | { readonly node: TopologyNode; readonly role: 'source'; readonly source: Source; readonly subject: Subject<Item> }
  | { readonly node: TopologyNode; readonly role: 'operator'; readonly operator: Operator }
  | { readonly node: TopologyNode; readonly role: 'sink'; readonly sink: Sink };

/** One running instance of a topology. */
export class Runtime {
  private readonly instances = new Map<string, Instance>();
  private readonly counters = new Map<string, NodeCounters>();
  private readonly trackers = new Map<string, OffsetTracker>();
  private readonly pendingCommits = new Map<string, { source: string; partition: string; offset: number; epoch: number | undefined }>();
  private readonly deadLetters = new Subject<DeadLetter>();
  private readonly latency = new LatencyHistogram();
  private readonly gate: InFlightGate;
  private readonly paths: Map<string, number>;
  private deadLetterSink: Sink | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<void> = Promise.resolve();
  private stopRequested = false;
  private fatal: CentaurError | undefined;
  private rejectRun: ((error: CentaurError) => void) | undefined;
  private startedAt = 0;
  private peakRss = 0;
  private rssTimer: NodeJS.Timeout | undefined;
  private readonly totals = { inputs: 0, completed: 0, predictions: 0, deadLetters: 0, correct: 0, labelled: 0 };
  private drainTimedOut = false;
  private stopSignal: (() => void) | undefined;
  private runState: RunState = 'starting';
  private readonly health = new Map<string, NodeHealth>();
  /** The run's Prometheus families; the HTTP server renders them. */
  readonly metrics: CentaurMetrics;
  private readonly recentLatency = new RecentLatency();
  /** Aborted when the run has ended: sink retries still waiting give up (their inputs stay uncommitted). */
  private readonly ended = new AbortController();

  constructor(
    readonly topology: Topology,
    private readonly options: RuntimeOptions,
  ) {
    const l = topology.limits;
    this.gate = new InFlightGate(
      { maxCount: l.maxInFlight, maxBytes: l.maxInFlightBytes, lowWaterRatio: l.lowWaterRatio },
      () => {
        this.metrics.backpressurePaused();
        this.forEachSource((s) => s.pause());
      },
      () => this.forEachSource((s) => s.resume()),
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
      totals: () => this.totals,
    });
  }

  /** Where the run is: starting (creating nodes), running, stopping (draining) or stopped. */
  get state(): RunState {
    return this.runState;
  }

  /** What keeps the run from being ready, by part; empty when ready. */
  readiness(): { part: string; reason: string }[] {
    if (this.runState !== 'running') return [{ part: 'topology', reason: this.runState }];
    const failing: { part: string; reason: string }[] = [];
    for (const [id, instance] of this.instances) {
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
    return { ...this.totals };
  }

  /** Seconds since the sources started (0 before). */
  uptimeSeconds(): number {
    return this.startedAt === 0 ? 0 : (performance.now() - this.startedAt) / 1000;
  }

  /** End-to-end latency quantiles (seconds) of inputs finished in the last `windowMs`, or null when none. */
  recentLatencySeconds(windowMs: number): { p50: number; p95: number; p99: number } | null {
    return this.recentLatency.quantiles(performance.now() - windowMs);
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
    await this.createAll();
    this.startedAt = performance.now();
    this.rssTimer = setInterval(() => this.sampleRss(), 100);
    this.rssTimer.unref();
    const finished = new Promise<RunSummary>((resolve, reject) => {
      this.rejectRun = reject;
      this.wireAndStart().then(resolve, (error: unknown) => reject(toCentaurError(error)));
    });
    try {
      return await finished;
    } finally {
      clearInterval(this.rssTimer);
      clearTimeout(this.commitTimer);
    }
  }

  /** Begins a graceful stop: sources stop, in-flight inputs finish (bounded by drainTimeoutMs), sinks flush. */
  stop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.runState !== 'stopped') this.runState = 'stopping';
    this.options.logger.info({ topology: this.topology.name }, 'Stopping: sources stop and in-flight inputs drain.');
    this.forEachSource((s) => {
      s.stop().catch((error: unknown) => this.fail(error));
    });
    this.stopSignal?.();
  }

  private async createAll(): Promise<void> {
    const t = this.topology;
    try {
      for (const id of t.order) {
        const node = t.nodes.get(id) as TopologyNode;
        const ctx = { nodeId: id, topologyName: t.name, baseDir: t.baseDir, logger: this.options.logger.child({ node: id }), metrics: this.metrics.forNode(id) };
        const spec = node.spec;
        if (spec.role === 'source') {
          this.instances.set(id, { node, role: 'source', source: await spec.create(node.options, ctx), subject: new Subject<Item>() });
        } else if (spec.role === 'operator') {
          this.instances.set(id, { node, role: 'operator', operator: await spec.create(node.options, ctx) });
        } else {
          const sink = await spec.create(node.options, ctx);
          this.instances.set(id, { node, role: 'sink', sink });
          if (id === t.deadLetter) this.deadLetterSink = sink;
        }
      }
      if (this.deadLetterSink === undefined) {
        this.deadLetterSink = createDeadLetterSink(path.resolve(t.baseDir, 'out', t.name), 'dead-letters', 'auto', 67108864, false);
      }
      if (this.deadLetterSink.writeDeadLetters === undefined) {
        throw new CentaurError('CONFIG_INVALID', `node \`${t.deadLetter ?? ''}\` cannot take dead letters; use a \`dead-letter\` node`);
      }
    } catch (error) {
      await this.closeAll();
      throw toCentaurError(error, 'CONFIG_INVALID');
    }
  }

  /**
   * What the node that gets `id`'s packed batches wants of them: the first node in wiring order fed
   * by `id` (the others get copies without the tensor), if it is an operator that says.
   */
  private batchWishFor(id: string): BatchWish | undefined {
    for (const consumer of this.topology.order) {
      const instance = this.instances.get(consumer) as Instance;
      if (!instance.node.from.includes(id)) continue;
      if (instance.role !== 'operator') return undefined;
      const wish = instance.operator.batchWish?.();
      return wish === undefined ? undefined : { ...wish, who: `node \`${consumer}\` (${wish.who})` };
    }
    return undefined;
  }

  private async wireAndStart(): Promise<RunSummary> {
    const t = this.topology;
    const scheduler = this.options.scheduler ?? asyncScheduler;
    const streams = new Map<string, Observable<Item>>();
    const consumers = new Map<string, number>();
    const outputOf = (id: string): Observable<Item> => {
      const index = consumers.get(id) ?? 0;
      consumers.set(id, index + 1);
      const stream = streams.get(id) as Observable<Item>;
      return index === 0 ? stream : stream.pipe(map(forkItem));
    };
    const sinkDone: Promise<unknown>[] = [];

    for (const id of t.order) {
      const instance = this.instances.get(id) as Instance;
      const counters = this.counters.get(id) as NodeCounters;
      if (instance.role === 'source') {
        streams.set(id, instance.subject.pipe(tap((item) => (counters.sent += envelopesOf(item).length)), share()));
      } else if (instance.role === 'operator') {
        if (instance.node.from.length === 0) continue;
        let input = merge(...instance.node.from.map(outputOf)).pipe(tap((item) => (counters.received += envelopesOf(item).length)));
        const accepts = instance.operator.accepts;
        if (accepts === 'envelope') input = input.pipe(concatMap((item) => unbatch(item)));
        if (accepts === 'batch') input = input.pipe(map((item) => (isBatch(item) ? item : { kind: 'batch' as const, envelopes: [item], tensor: null })));
        const wish = this.batchWishFor(id);
        const ctx: OperatorContext = {
          nodeId: id,
          ...(wish === undefined ? {} : { batchWish: wish }),
          scheduler,
          fail: (envelope, error) => {
            counters.failed += 1;
            this.deadLetters.next({ envelope, node: id, error: toCentaurError(error), time: Date.now() });
          },
          // Dropped on purpose: done for every path through this node (received − sent − failed counts them).
          drop: (envelope) => {
            if (envelope.delivery instanceof DeliveryState) envelope.delivery.dropped(id);
          },
        };
        const timer = this.metrics.nodeTimer(id, instance.node.spec.kind);
        const sent = (item: Item): void => {
          const envelopes = envelopesOf(item);
          counters.sent += envelopes.length;
          for (const envelope of envelopes) {
            const ms = envelope.timings[id];
            if (ms !== undefined) timer.observe(ms / 1000);
          }
        };
        let output: Observable<Item>;
        try {
          output = instance.operator.apply(input, ctx);
        } catch (error) {
          // A node that refuses its place in the graph (e.g. micro-batch packing what the model cannot take): nothing has run yet.
          await this.closeAll();
          throw toCentaurError(error, 'INTERNAL');
        }
        streams.set(id, output.pipe(tap(sent), share()));
      } else if (instance.node.from.length > 0) {
        const concurrency = Math.max(1, instance.sink.concurrency ?? 1);
        const batching = instance.sink.batching;
        let items = merge(...instance.node.from.map(outputOf));
        if (batching !== undefined) {
          // Envelopes of many items gathered into one write (batch tensors are not needed by sinks).
          items = items.pipe(
            concatMap((item) => unbatch(item)),
            microBatchBuffer<Envelope>(batching.maxSize, batching.maxDelayMs, scheduler),
            map((envelopes): Item => ({ kind: 'batch', envelopes, tensor: null })),
          );
        }
        const timer = this.metrics.nodeTimer(id, instance.node.spec.kind);
        // Once the sink's input ended and every write has started, nothing more will fill a file
        // the sink holds open: `flush(true)` now, rather than waiting for its idle timer (or for
        // ever, when it rolls files by size only).
        const sink = instance.sink;
        const end = { inputDone: false, received: 0, started: 0, flushed: false };
        const flushAtEnd = (): void => {
          if (!end.inputDone || end.started < end.received || end.flushed) return;
          end.flushed = true;
          sink.flush(true).catch((error: unknown) => this.options.logger.warn({ node: id, error: (error as Error).message }, 'Flushing the sink at the end of its input failed; it flushes again at close.'));
        };
        const write = items.pipe(
          tap({
            next: () => (end.received += 1),
            complete: () => {
              end.inputDone = true;
              flushAtEnd();
            },
          }),
          mergeMap((item) => {
            end.started += 1;
            const written = from(this.writeToSink(id, sink, item, counters, timer));
            flushAtEnd();
            return written;
          }, concurrency),
        );
        sinkDone.push(lastValueFrom(write, { defaultValue: undefined }));
      }
    }
    const dlqDone = lastValueFrom(this.deadLetters.pipe(concatMap((letter) => from(this.writeDeadLetter(letter)))), { defaultValue: undefined });

    const sourcesDone = [...this.instances.values()].map(async (instance) => {
      if (instance.role !== 'source') return;
      const ctx: SourceContext = {
        emit: (init) => instance.subject.next(this.admit(init, instance.node.id)),
        fail: (init, error) => {
          const envelope = this.admit(init, instance.node.id);
          (this.counters.get(instance.node.id) as NodeCounters).failed += 1;
          this.deadLetters.next({ envelope, node: instance.node.id, error: toCentaurError(error, 'INPUT_READ_FAILED'), time: Date.now() });
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
      this.deadLetters.complete();
      await dlqDone;
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
    await this.flushCommits().catch((error: unknown) => {
      this.fatal ??= toCentaurError(error, 'CHECKPOINT_FAILED');
    });
    this.ended.abort();
    await this.closeAll();
    this.runState = 'stopped';
    for (const h of this.health.values()) h.state = 'stopped';
    if (this.fatal !== undefined) throw this.fatal;
    return this.summary();
  }

  /** Turns a source's input into an envelope with its delivery record, and counts it in flight. */
  private admit(init: EnvelopeInit, sourceId: string): Envelope {
    const key = trackerKey(sourceId, init.position.partition, init.position.epoch);
    let tracker = this.trackers.get(key);
    if (tracker === undefined) {
      tracker = new OffsetTracker();
      this.trackers.set(key, tracker);
    }
    tracker.track(init.position.offset);
    const receivedAt = performance.now();
    const delivery = new DeliveryState(
      sourceId,
      init.position.partition,
      init.position.offset,
      init.position.epoch,
      init.sizeBytes,
      receivedAt,
      init.eventTime,
      this.paths.get(sourceId) ?? 1,
      (node) => this.paths.get(node) ?? 1,
      (state) => this.complete(state),
    );
    this.totals.inputs += 1;
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
    return envelope;
  }

  private complete(state: DeliveryState): void {
    const key = trackerKey(state.source, state.partition, state.epoch);
    const advanced = this.trackers.get(key)?.complete(state.offset);
    this.gate.remove(state.bytes);
    const now = performance.now();
    const processingMs = now - state.receivedAt;
    this.latency.record(processingMs);
    const endToEndSeconds = (Date.now() - state.eventTime) / 1000;
    this.metrics.inputCompleted(endToEndSeconds, processingMs / 1000);
    if (!state.deadLettered_) this.recentLatency.record(now, endToEndSeconds);
    if (state.deadLettered_) this.totals.deadLetters += 1;
    else {
      this.totals.completed += 1;
      if (state.predicted) this.totals.predictions += 1;
      if (state.labelled) {
        this.totals.labelled += 1;
        if (state.correct) this.totals.correct += 1;
      }
    }
    if (advanced !== undefined) {
      this.pendingCommits.set(key, { source: state.source, partition: state.partition, offset: advanced, epoch: state.epoch });
      this.scheduleCommit();
    }
  }

  private async writeToSink(id: string, sink: Sink, item: Item, counters: NodeCounters, timer: HistogramChild): Promise<void> {
    const envelopes = envelopesOf(item);
    if (isBatch(item)) item.tensor?.release();
    counters.received += envelopes.length;
    let rejections: readonly { envelope: Envelope; error: CentaurError }[] = [];
    const started = performance.now();
    const health = this.health.get(id) as NodeHealth;
    try {
      rejections = (await retry(() => sink.write(envelopes), {
        attempts: this.options.sinkWriteAttempts ?? 5,
        baseDelayMs: 100,
        maxDelayMs: 5000,
        signal: this.ended.signal,
        onRetry: (error, attempt) => {
          health.state = 'failing';
          health.reason = error.message;
          this.options.logger.warn({ node: id, error: error.message, attempt }, 'Sink write failed; retrying.');
        },
      })) ?? [];
      health.state = 'running';
      delete health.reason;
    } catch (error) {
      // The run ended while this write was retrying: the inputs stay unfinished and are read again.
      if (this.ended.signal.aborted) return;
      counters.failed += envelopes.length;
      const err = toCentaurError(error, 'SINK_WRITE_FAILED');
      health.state = 'failing';
      health.reason = err.message;
      for (const envelope of envelopes) this.deadLetters.next({ envelope, node: id, error: err, time: Date.now() });
      return;
    }
    const refused = new Set<Envelope>();
    for (const r of rejections) {
      refused.add(r.envelope);
      counters.failed += 1;
      this.deadLetters.next({ envelope: r.envelope, node: id, error: r.error, time: Date.now() });
    }
    counters.sent += envelopes.length - refused.size;
    timer.observeMany((performance.now() - started) / 1000, envelopes.length - refused.size);
    for (const envelope of envelopes) {
      if (refused.has(envelope)) continue;
      const state = envelope.delivery;
      if (state instanceof DeliveryState && envelope.prediction !== undefined && !state.predicted) {
        state.predicted = true;
        if (envelope.label !== undefined) {
          state.labelled = true;
          state.correct = envelope.label === envelope.prediction.label;
        }
      }
      envelope.delivery.acknowledge();
    }
  }

  private async writeDeadLetter(letter: DeadLetter): Promise<void> {
    const sink = this.deadLetterSink as Sink & { writeDeadLetters: NonNullable<Sink['writeDeadLetters']> };
    if (letter.envelope.delivery instanceof DeliveryState && letter.envelope.delivery.done) return;
    const counters = this.topology.deadLetter === null ? undefined : this.counters.get(this.topology.deadLetter);
    if (counters !== undefined) counters.received += 1;
    try {
      await retry(() => sink.writeDeadLetters([letter]), { attempts: 10, baseDelayMs: 100, maxDelayMs: 5000 });
      if (counters !== undefined) counters.sent += 1;
    } catch (error) {
      if (counters !== undefined) counters.failed += 1;
      this.fail(new CentaurError('SINK_WRITE_FAILED', `the dead-letter sink failed; stopping so no input is lost: ${(error as Error).message}`, { cause: error }));
      return;
    }
    this.metrics.deadLetter(letter.node, letter.error.code);
    const e = letter.envelope;
    this.options.logger.debug(
      { node: letter.node, code: letter.error.code, error: letter.error.message, input: e.id, traceId: e.metadata['trace-id'] ?? e.id, source: e.position.source, partition: e.position.partition, offset: e.position.offset },
      'Input dead-lettered.',
    );
    letter.envelope.delivery.deadLettered(letter.node);
  }

  private scheduleCommit(): void {
    if (this.commitTimer !== undefined) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.flushCommits().catch((error: unknown) => this.options.logger.warn({ error: (error as Error).message }, 'Commit failed; it will be retried.'));
    }, this.topology.limits.commitIntervalMs);
  }

  /** Commits every advanced position, one commit chain at a time. */
  private flushCommits(): Promise<void> {
    this.commitChain = this.commitChain.then(async () => {
      const batch = [...this.pendingCommits.values()];
      this.pendingCommits.clear();
      for (const c of batch) {
        const instance = this.instances.get(c.source);
        if (instance?.role !== 'source') continue;
        const started = performance.now();
        const health = this.health.get(c.source) as NodeHealth;
        try {
          await instance.source.commit(c.partition, c.offset, c.epoch);
          this.metrics.commit(c.source, true, (performance.now() - started) / 1000);
          health.state = 'running';
          delete health.reason;
        } catch (error) {
          this.metrics.commit(c.source, false, (performance.now() - started) / 1000);
          health.state = 'failing';
          health.reason = `commit failed: ${(error as Error).message}`;
          const key = trackerKey(c.source, c.partition, c.epoch);
          if (!this.pendingCommits.has(key)) this.pendingCommits.set(key, c);
          throw error;
        }
      }
    });
    return this.commitChain;
  }

  private fail(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = toCentaurError(error);
    this.options.logger.error({ error: this.fatal.message, code: this.fatal.code }, 'The run failed.');
    this.stop();
    this.rejectRun?.(this.fatal);
  }

  private async closeAll(): Promise<void> {
    for (const instance of this.instances.values()) {
      try {
        if (instance.role === 'sink') {
          await instance.sink.flush(true);
          await instance.sink.close();
        } else if (instance.role === 'operator') {
          await instance.operator.close?.();
        } else {
          await instance.source.stop();
          await instance.source.close?.();
        }
      } catch (error) {
        this.options.logger.warn({ node: instance.node.id, error: (error as Error).message }, 'Closing a node failed.');
      }
    }
    if (this.deadLetterSink !== undefined && ![...this.instances.values()].some((i) => i.role === 'sink' && i.sink === this.deadLetterSink)) {
      await this.deadLetterSink.close();
    }
  }

  private forEachSource(fn: (source: Source) => void): void {
    for (const instance of this.instances.values()) if (instance.role === 'source') fn(instance.source);
  }

  private sampleRss(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }

  private summary(): RunSummary {
    this.sampleRss();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const t = this.totals;
    return {
      topology: this.topology.name,
      inputs: t.inputs,
      predictions: t.predictions,
      completed: t.completed,
      deadLetters: t.deadLetters,
      unfinished: t.inputs - t.completed - t.deadLetters,
      durationSeconds: seconds,
      imagesPerSecond: seconds > 0 ? t.inputs / seconds : 0,
      latencyMs: { p50: this.latency.quantile(0.5), p95: this.latency.quantile(0.95), p99: this.latency.quantile(0.99) },
      ...(t.labelled > 0 ? { accuracy: { correct: t.correct, labelled: t.labelled, ratio: t.correct / t.labelled } } : {}),
      peakRssBytes: this.peakRss,
      peakInFlight: this.gate.stats.peakCount,
      drainTimedOut: this.drainTimedOut,
    };
  }
}

function trackerKey(source: string, partition: string, epoch: number | undefined): string {
  return epoch === undefined ? `${source}\u0000${partition}` : `${source}\u0000${partition}\u0000${epoch}`;
}

function forkItem(item: Item): Item {
  if (!isBatch(item)) return forkEnvelope(item);
  return { kind: 'batch', envelopes: item.envelopes.map(forkEnvelope), tensor: null };
}

function unbatch(item: Item): Envelope[] {
  if (!isBatch(item)) return [item];
  item.tensor?.release();
  return item.envelopes;
}

/** Runs a topology to its end (finite sources) or until `stop()`; see Runtime. */
export async function runTopology(topology: Topology, options: RuntimeOptions): Promise<RunSummary> {
  return new Runtime(topology, options).run();
}
