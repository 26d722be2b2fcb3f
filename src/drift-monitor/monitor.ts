/**
 * The drift monitor behind the `drift` operator: panes and windows over the envelopes (windower),
 * a report per closed window, what the report drives (metrics, the live summary, the retrain
 * trigger) and what gets published (reports, retrain requests, window partials for merging).
 * It never touches the envelopes: the operator passes them on whatever happens here.
 */
import type { Envelope } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { DriftMetrics, DriftWindowFigures } from './drift-metrics.js';
import type { RecordPublisher } from './outputs.js';
import { windowReport } from './report.js';
import type { ColumnChoice, DriftReport, WindowRef } from './report.js';
import { baselineOf, RetrainTriggers, watchesAccuracy } from './retrain-trigger.js';
import type { RetrainRequest, RetrainTriggerOptions } from './retrain-trigger.js';
import { seedOf, WindowState } from './window-state.js';
import type { WindowSetup, WindowStateJson } from './window-state.js';
import { Windower } from './windower.js';
import type { WindowSpec } from './windower.js';

/** A window partial as published for merging (one per instance and window). */
export interface DriftPartial {
  readonly type: 'drift-partial';
  readonly version: 1;
  readonly topology: string;
  readonly node: string;
  readonly instance: string;
  readonly window: WindowRef;
  readonly late: number;
  readonly state: WindowStateJson;
}

/** What the monitor needs. */
export interface MonitorOptions {
  readonly topology: string;
  readonly node: string;
  readonly setup: WindowSetup;
  readonly window: WindowSpec;
  readonly seed: number;
  readonly driftShare: number;
  readonly columns: Readonly<Record<string, ColumnChoice>>;
  readonly embeddingThreshold?: number;
  readonly retrain?: RetrainTriggerOptions;
  readonly reports?: RecordPublisher;
  readonly requests?: RecordPublisher;
  readonly partials?: { readonly publisher: RecordPublisher; readonly instance: string };
  /** The node's drift metrics and live status. */
  readonly metrics: DriftMetrics;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** A report handler shared with other monitors of the node (one per model version), so trigger state and publication order carry across. */
  readonly handler?: ReportHandler;
}

/** Converts a report to the metrics' figures; why: metrics stay independent of the drift library. */
export function reportFigures(report: DriftReport): DriftWindowFigures {
  return {
    model: report.model?.name ?? '',
    version: report.model?.version ?? '',
    mode: report.mode,
    window: report.window,
    inputs: report.inputs,
    late: report.late,
    instances: report.instances,
    columns: report.columns.map((c) => ({ feature: c.name, method: c.method, score: c.score, threshold: c.threshold, drifted: c.drifted })),
    embedding: report.embedding === null ? null : { method: report.embedding.method, score: report.embedding.score, threshold: report.embedding.threshold, drifted: report.embedding.drifted, cosineDistance: report.embedding.cosineDistance },
    dataset: report.dataset === null ? null : { share: report.dataset.shareOfDriftedColumns, driftShare: report.dataset.driftShare, drifted: report.dataset.datasetDrift },
    closedAt: report.createdAt,
  };
}

/** A report as a record for Kafka (Avro drift-report) and JSON files; why: one shape everywhere. */
export function reportRecord(report: DriftReport): Record<string, unknown> {
  return {
    ...report,
    columns: report.columns.map((c) => ({ ...c, statistic: c.statistic ?? null })),
  };
}

/** Applies a report: metrics, live summary, retrain trigger, publications; why: local and merged reports take the same path. */
export class ReportHandler {
  private readonly trigger: RetrainTriggers | undefined;
  private warnedNoBaseline = false;
  private chain: Promise<void> = Promise.resolve();
  readonly reports: DriftReport[] = [];
  readonly requests: RetrainRequest[] = [];
  /** Reports kept in memory for tests and the CLI (the most recent ones). */
  keep = 0;

  constructor(private readonly options: Pick<MonitorOptions, 'retrain' | 'reports' | 'requests' | 'metrics' | 'logger'>) {
    this.trigger = options.retrain === undefined ? undefined : new RetrainTriggers(options.retrain);
  }

  /** Handles one report now and queues its publications. */
  handle(report: DriftReport, now: number): void {
    const o = this.options;
    o.metrics.window(reportFigures(report));
    if (this.keep > 0) {
      this.reports.push(report);
      if (this.reports.length > this.keep) this.reports.shift();
    }
    const key = `${report.topology}/${report.node}/${report.window.start}`;
    if (o.reports !== undefined) this.enqueue(() => o.reports!.publish(key, reportRecord(report)));
    if (this.trigger === undefined) return;
    const retrain = o.retrain!;
    if (watchesAccuracy(retrain.on) && report.accuracy !== null && baselineOf(report, retrain) === null && !this.warnedNoBaseline) {
      this.warnedNoBaseline = true;
      o.logger.warn({ node: report.node }, 'The retrain trigger watches accuracy, but neither `baselineAccuracy` nor the reference profile gives a baseline: it will not fire.');
    }
    const outcome = this.trigger.observe(report, now);
    if (outcome.kind === 'stale') {
      o.logger.info({ node: report.node, window: report.window, why: outcome.why }, 'A drift report not newer than the last one: the retrain trigger ignored it.');
      return;
    }
    if (outcome.kind === 'none') return;
    o.metrics.retrainRequest(report.model?.name ?? '', report.model?.version ?? '', outcome.kind === 'request' ? 'sent' : 'suppressed');
    if (outcome.kind === 'suppressed') {
      o.logger.info({ node: report.node, window: report.window }, 'Drift episode inside the retrain cooldown: no request.');
      return;
    }
    const request = outcome.request;
    this.requests.push(request);
    o.logger.warn({ node: report.node, request: request.id, features: request.driftedFeatures.map((f) => f.name) }, 'Retrain requested.');
    if (o.requests !== undefined) this.enqueue(() => o.requests!.publish(request.id, { ...request }));
  }

  /** Queues a publication after the previous ones (reports keep their order). */
  enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((error: unknown) => this.options.logger.error({ err: error }, 'Drift publication failed.'));
  }

  /** Resolves once every queued publication settled. */
  drained(): Promise<void> {
    return this.chain;
  }
}

/** Windows, reports and publications of one drift node; why: the `drift` operator's logic without RxJS. */
export class DriftMonitor {
  private readonly windower: Windower<WindowState, Envelope>;
  readonly handler: ReportHandler;
  private readonly clock: () => number;
  /** Largest number of panes held at once; why: the memory bound is observable. */
  maxOpenPanes = 0;

  constructor(private readonly options: MonitorOptions) {
    this.clock = options.clock ?? Date.now;
    this.handler = options.handler ?? new ReportHandler(options);
    this.windower = new Windower<WindowState, Envelope>(options.window, {
      createPane: (index) => new WindowState(options.setup, seedOf(options.seed, index)),
      add: (pane, envelope) => pane.add(envelope),
      close: (window, panes) => this.closeWindow(window, panes),
    });
  }

  /** Counts one envelope into its window (late ones are counted as late only). */
  add(envelope: Envelope): void {
    if (!this.windower.add(envelope, envelope.eventTime)) this.options.metrics.lateInputs(1);
    if (this.windower.openPanes > this.maxOpenPanes) this.maxOpenPanes = this.windower.openPanes;
  }

  /** End of input: closes the remaining windows and waits for the publications. */
  async finish(): Promise<void> {
    this.windower.flush();
    await this.handler.drained();
  }

  private closeWindow(window: WindowRef & { readonly index: number }, panes: readonly WindowState[]): void {
    const o = this.options;
    let state: WindowState;
    if (panes.length === 1) {
      state = panes[0]!;
    } else {
      state = new WindowState(o.setup, seedOf(o.seed ^ 0x5bd1e995, window.index));
      for (const pane of panes) state.merge(pane);
    }
    const ref: WindowRef = { kind: window.kind, start: window.start, end: window.end };
    const late = this.windower.takeLate();
    const now = this.clock();
    if (o.partials !== undefined) {
      const partial: DriftPartial = { type: 'drift-partial', version: 1, topology: o.topology, node: o.node, instance: o.partials.instance, window: ref, late, state: state.toJSON() };
      const publisher = o.partials.publisher;
      this.handler.enqueue(() => publisher.publish(`${o.topology}/${o.node}/${ref.start}`, { ...partial }));
    }
    let report: DriftReport;
    try {
      report = windowReport(state, { topology: o.topology, node: o.node, window: ref, late, instances: 1, driftShare: o.driftShare, columns: o.columns, ...(o.embeddingThreshold === undefined ? {} : { embeddingThreshold: o.embeddingThreshold }), now });
    } catch (error) {
      o.logger.error({ err: error, window: ref }, 'Could not compute the drift report of a window.');
      return;
    }
    this.handler.handle(report, now);
  }
}
