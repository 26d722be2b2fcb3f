/**
 * `drift-merge-source`: consumes the window partials that several instances of a `drift` node publish
 * (`partials.kafka`), merges each window's partials once every expected instance sent one (or once
 * the grace timeout after its first partial ran out) and handles the merged report as the `drift`
 * operator handles its own: metrics, live summary, files/Kafka reports, retrain trigger. Each
 * merged report is also emitted as one envelope (the report as JSON bytes) at position `merged`/n,
 * n counting reports; once the runtime says the envelopes up to n were written, and the report
 * publications before them settled, the partials of those windows are done, and the partials
 * topic is committed up to each partition's lowest offset not done. A restart reads unreported
 * windows' partials again (at least once).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { CreateContext, Source, SourceContext } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import { NO_METRICS } from '../core/metric-family.js';
import { DRIFT_WINDOW_FAMILIES, DriftMetrics } from '../drift-monitor/drift-metrics.js';
import type { KafkaConsumerClient, KafkaInputMessage } from '../kafka/client.js';
import { ConnectionOptions, connectionSettings } from '../kafka/connection.js';
import { createClientFactory } from '../kafka/client-factory.js';
import { MergeOffsets } from '../drift-monitor/merge-offsets.js';
import { ReportHandler, reportRecord } from '../drift-monitor/monitor.js';
import { PartialMerger } from '../drift-monitor/partial-merger.js';
import type { MergedWindow, PartialPosition } from '../drift-monitor/partial-merger.js';
import { readPartial } from '../drift-monitor/partial-record.js';
import { windowReport } from '../drift-monitor/report.js';
import type { ColumnChoice, DriftReport } from '../drift-monitor/report.js';
import { loadProfileFor, noteThresholds, resolveSetup } from '../drift-monitor/setup.js';
import { analysisPublishers, DriftAnalysisOptions, driftAnalysisProblems } from '../drift-monitor/analysis-options.js';
import { retrainTriggerOptions } from '../drift-monitor/retrain-trigger.js';

const options = Type.Object(
  {
    ...ConnectionOptions,
    topic: Type.String({ minLength: 1, description: 'The partials topic (the `drift` node\'s `partials.kafka.topic`).' }),
    groupId: Type.String({ minLength: 1, description: 'Consumer group of the merging instance(s); partials of one window share a key, so one partition, so one merger.' }),
    startFrom: Type.Union([Type.Literal('earliest'), Type.Literal('latest')], { default: 'earliest', description: 'Where to start in partitions without a committed offset in the group.' }),
    sessionTimeoutMs: Type.Integer({ minimum: 1000, default: 10000, description: 'Group session timeout.' }),
    instances: Type.Integer({ minimum: 1, description: 'Instances publishing partials: a window is reported once this many distinct instances sent its partial.' }),
    graceMs: Type.Integer({ minimum: 0, default: 60000, description: 'Wall-clock time after a window\'s first partial at which it is reported with the instances that did contribute (`instances` in the report).' }),
    ...DriftAnalysisOptions,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** How often expired windows are looked for, at most. */
const EXPIRY_TICK_MS = 250;

/** Merges window partials of several `drift` instances into one report per window. */
export const driftMerge = defineSource({
  kind: 'drift-merge-source',
  role: 'source',
  stability: 'experimental',
  description: 'Merges the window partials several `drift` instances publish into one report per window, emitted as a JSON envelope.',
  options,
  examples: [
    {
      title: 'One report per window from the partials of two drift instances',
      options: { brokers: ['${CENTAUR_KAFKA_BROKERS}'], topic: 'drift-partials', groupId: 'drift-merge', instances: 2, profile: 'reference-profile.json' },
    },
  ],
  metrics: DRIFT_WINDOW_FAMILIES,
  claims: (o) => [`consumer group ${o.groupId} of ${o.topic}`],
  validate: (o) => driftAnalysisProblems(o),
  async create(o, ctx): Promise<Source> {
    const profile = await loadProfileFor({ ...(o.profile === undefined ? {} : { profile: o.profile }), ...(o.model === undefined ? {} : { modelDir: o.model.path }) }, ctx.baseDir, ctx.nodeId);
    const { setup, columns } = resolveSetup(profile, o, ctx.nodeId);
    noteThresholds(o.thresholds, setup, ctx.logger, ctx.nodeId);
    const publishers = await analysisPublishers(o, ctx);
    const factory = await createClientFactory(connectionSettings(o, ctx.topologyName, ctx.nodeId), ctx.logger);
    const consumer = factory.consumer({ groupId: o.groupId, topics: [o.topic], startFrom: { kind: o.startFrom }, sessionTimeoutMs: o.sessionTimeoutMs, maxBytesPerPartition: 2_097_152, readCommitted: true });
    const handler = new ReportHandler({
      ...(o.retrain === undefined ? {} : { retrain: retrainTriggerOptions(o.retrain) }),
      ...(publishers.reports === undefined ? {} : { reports: publishers.reports }),
      ...(publishers.requests === undefined ? {} : { requests: publishers.requests }),
      metrics: new DriftMetrics(ctx.metrics ?? NO_METRICS, ctx.nodeId),
      logger: ctx.logger,
    });
    const merger = new PartialMerger({ setup, instances: o.instances, graceMs: o.graceMs });
    const closePublishers = async (): Promise<void> => void (await Promise.all(publishers.all.map((p) => p.close().catch(() => undefined))));
    return new DriftMergeSource(consumer, merger, handler, closePublishers, columns, o, ctx);
  },
});

/** The partition name of the emitted report envelopes. */
const MERGED_PARTITION = 'merged';

class DriftMergeSource implements Source {
  private readonly offsets = new MergeOffsets();
  /** Emitted reports not yet known written, by sequence number: the partial positions they free. */
  private readonly unwritten = new Map<number, readonly PartialPosition[]>();
  private sequence = 0;
  private sourceCtx: SourceContext | undefined;
  private finish: ((error?: Error) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private consuming = false;
  private stopped = false;
  private closed = false;
  private consumerClosed = false;

  constructor(
    private readonly consumer: KafkaConsumerClient,
    private readonly merger: PartialMerger,
    private readonly handler: ReportHandler,
    private readonly closePublishers: () => Promise<void>,
    private readonly columns: Record<string, ColumnChoice>,
    private readonly options: Options,
    private readonly ctx: CreateContext,
  ) {}

  async start(sctx: SourceContext): Promise<void> {
    this.sourceCtx = sctx;
    const done = new Promise<void>((resolve, reject) => {
      this.finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    try {
      await this.consumer.start({
        onMessages: async (messages) => this.receive(messages),
        onAssignment: (assigned) => {
          const mine = new Set((assigned.get(this.options.topic) ?? []).map(String));
          this.consuming = true;
          this.ctx.logger.info({ partitions: [...mine].sort() }, 'Partitions assigned.');
        },
        onFatal: (error) => this.finish?.(new CentaurError('KAFKA_UNAVAILABLE', `the Kafka consumer stopped: ${error.message}`, { cause: error })),
      });
    } catch (error) {
      throw new CentaurError('KAFKA_UNAVAILABLE', `cannot start consuming partials from ${this.options.topic}: ${(error as Error).message}`, { cause: error });
    }
    this.consuming = true;
    this.timer = setInterval(() => this.expire(), Math.max(10, Math.min(EXPIRY_TICK_MS, this.options.graceMs)));
    this.timer.unref();
    if (this.stopped) this.finish?.();
    await done;
  }

  health(): string | null {
    return this.consuming ? null : `not consuming yet from ${this.options.topic} (connecting or joining group ${this.options.groupId})`;
  }

  /** Stops fetching partials (a merged window still emits its one envelope). */
  pause(): void {
    this.consumer.pause();
  }

  resume(): void {
    if (!this.stopped) this.consumer.resume();
  }

  /** Report envelopes up to `offset` were written: their partials are done once the report publications settled. */
  async commit(partition: string, offset: number): Promise<void> {
    if (partition !== MERGED_PARTITION) return;
    const positions: PartialPosition[] = [];
    for (const [n, p] of this.unwritten) {
      if (n > offset) continue;
      positions.push(...p);
      this.unwritten.delete(n);
    }
    if (positions.length === 0) return;
    this.handler.enqueue(async () => {
      for (const p of positions) this.offsets.done(p.partition, p.offset);
      await this.commitDone();
    });
    await this.handler.drained();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.consumer.pause();
    this.finish?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.handler.drained();
    this.consumerClosed = true;
    await this.consumer.close().catch((error: unknown) => this.ctx.logger.warn({ error: (error as Error).message }, 'Closing the Kafka consumer failed.'));
    await this.closePublishers();
  }

  /** Merges a fetched run of partials; ignored ones are done at once, the others when their window is reported. */
  private receive(messages: readonly KafkaInputMessage[]): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const m of messages) {
      const partition = String(m.partition);
      this.offsets.read(partition, m.offset);
      let outcome;
      try {
        outcome = this.merger.add(readPartial(m.value), { partition, offset: m.offset }, now);
      } catch (error) {
        this.ctx.logger.warn({ partition: m.partition, offset: m.offset, error: (error as Error).message }, 'Skipped a record of the partials topic.');
        this.offsets.done(partition, m.offset);
        continue;
      }
      if (outcome.kind === 'complete') this.report(outcome.merged);
      else if (outcome.kind !== 'pending') {
        this.ctx.logger.info({ partition: m.partition, offset: m.offset, why: outcome.kind }, 'Ignored a partial of a window already merged or reported.');
        this.offsets.done(partition, m.offset);
      }
    }
    this.handler.enqueue(() => this.commitDone());
  }

  /** Reports the windows whose grace ran out. */
  private expire(): void {
    const expired = this.merger.expire(Date.now());
    for (const merged of expired) {
      this.ctx.logger.warn({ window: merged.window, instances: merged.instances, expected: this.options.instances }, 'Drift window reported after the grace timeout without every instance\'s partial.');
      this.report(merged);
    }
  }

  /** Computes and handles a merged window's report; its offsets are done once the publications before them settled. */
  private report(merged: MergedWindow): void {
    const o = this.options;
    const now = Date.now();
    try {
      const report = windowReport(merged.state, {
        topology: merged.topology,
        node: merged.node,
        window: merged.window,
        late: merged.late,
        instances: merged.instances.length,
        driftShare: o.driftShare,
        columns: this.columns,
        embeddingThreshold: o.embeddingThreshold,
        now,
      });
      this.handler.handle(report, now);
      this.emit(report, merged.positions);
    } catch (error) {
      this.ctx.logger.error({ err: error, window: merged.window }, 'Could not compute the merged drift report of a window.');
      this.handler.enqueue(async () => {
        for (const p of merged.positions) this.offsets.done(p.partition, p.offset);
        await this.commitDone();
      });
    }
  }

  /** Hands the report to the graph as one envelope; its partials wait for the runtime's commit. */
  private emit(report: DriftReport, positions: readonly PartialPosition[]): void {
    const n = this.sequence;
    this.sequence += 1;
    this.unwritten.set(n, positions);
    const bytes = Buffer.from(JSON.stringify(reportRecord(report)));
    const key = `${report.topology}/${report.node}/${report.window.start}`;
    this.sourceCtx?.emit({
      id: key,
      key,
      eventTime: report.eventTimeMax ?? report.window.end,
      position: { source: this.ctx.nodeId, partition: MERGED_PARTITION, offset: n },
      payload: { kind: 'bytes', bytes },
      sizeBytes: bytes.length,
      metadata: { 'content-type': 'application/json', 'drift-window-start': String(report.window.start), 'drift-window-end': String(report.window.end), 'drift-instances': String(report.instances) },
    });
  }

  /** Commits every partition's position that advanced. */
  private async commitDone(): Promise<void> {
    const commits = this.offsets.takeCommits();
    if (commits.length === 0 || this.consumerClosed) return;
    try {
      await this.consumer.commit(commits.map((c) => ({ topic: this.options.topic, partition: Number(c.partition), offset: c.offset })));
    } catch (error) {
      this.ctx.logger.warn({ error: (error as Error).message }, 'Offset commit of the partials topic failed; partials after the last commit will be read again.');
    }
  }
}
