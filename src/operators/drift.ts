/**
 * `drift`: measures data drift of the stream against the model version's reference profile, per
 * window, and passes every envelope on unchanged. Windows are tumbling or sliding, by input count
 * or by event time (with allowed lateness); each closed window gives a report — Prometheus gauges,
 * the live summary's `drift` field, and optionally records on Kafka or in files — and may fire the
 * retrain trigger. Window partials can be published for a `drift-merge-source` to combine across
 * instances. Details: docs/DRIFT.md.
 */
import os from 'node:os';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { concat, defer, ignoreElements, tap } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { CreateContext, OptionProblem } from '../core/component.js';
import { envelopesOf } from '../core/envelope.js';
import type { Item } from '../core/envelope.js';
import { NO_METRICS } from '../core/metric-family.js';
import { DRIFT_WINDOW_FAMILIES, DriftMetrics } from '../drift-monitor/drift-metrics.js';
import { analysisPublishers, DriftAnalysisOptions, driftAnalysisProblems } from '../drift-monitor/analysis-options.js';
import { DriftMonitor } from '../drift-monitor/monitor.js';
import { kafkaPublisher, KafkaOutputOptions } from '../drift-monitor/outputs.js';
import type { RecordPublisher } from '../drift-monitor/outputs.js';
import { retrainTriggerOptions } from '../drift-monitor/retrain-trigger.js';
import { loadProfileFor, noteThresholds, resolveSetup } from '../drift-monitor/setup.js';
import type { WindowSpec } from '../drift-monitor/windower.js';

/** Options of `drift`. */
export const DriftOptions = Type.Object(
  {
    ...DriftAnalysisOptions,
    window: Type.Object(
      {
        by: Type.Union([Type.Literal('count'), Type.Literal('time')], { default: 'count', description: '`count`: inputs in arrival order; `time`: event time.' }),
        size: Type.Integer({ minimum: 1, default: 500, description: 'Window length: inputs (`count`) or milliseconds (`time`).' }),
        slide: Type.Optional(Type.Integer({ minimum: 1, description: 'Distance between window starts (default `size`: tumbling); `size` must be a multiple of it.' })),
        allowedLatenessMs: Type.Integer({ minimum: 0, default: 0, description: '`time`: the watermark trails the largest event time by this much; later inputs are counted as late and left out.' }),
      },
      { additionalProperties: false, default: {}, description: 'Windows.' },
    ),
    partials: Type.Optional(
      Type.Object(
        {
          kafka: KafkaOutputOptions,
          instance: Type.Optional(Type.String({ minLength: 1, description: 'This instance\'s name in partials (default `<hostname>-<pid>`).' })),
        },
        { additionalProperties: false, description: 'Publish each window\'s state (JSON) for a `drift-merge-source`; use event-time windows so instances agree on windows.' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DriftOptions = Static<typeof DriftOptions>;

/** The rules of `drift`'s own options, besides the analysis options'. */
function driftProblems(o: DriftOptions): OptionProblem[] {
  const problems = driftAnalysisProblems(o);
  const w = o.window;
  const slide = w.slide ?? w.size;
  if (w.size % slide !== 0) {
    problems.push({
      path: ['window', 'slide'],
      message: `window.size ${w.size} must be a multiple of window.slide ${slide}`,
      suggestion: `set \`window.size: ${Math.ceil(w.size / slide) * slide}\`, or a \`window.slide\` that divides ${w.size}`,
    });
  }
  if (o.partials !== undefined && o.partials.kafka.format !== 'json') {
    problems.push({ path: ['partials', 'kafka', 'format'], message: 'partials are JSON', suggestion: 'set `partials.kafka.format: json` (or leave it out)' });
  }
  return problems;
}

/** The window spec of the options (`validate` checked that `size` is a multiple of `slide`). */
function windowSpec(w: DriftOptions['window']): WindowSpec {
  const slide = w.slide ?? w.size;
  return w.by === 'count' ? { by: 'count', size: w.size, slide } : { by: 'time', sizeMs: w.size, slideMs: slide, allowedLatenessMs: w.allowedLatenessMs };
}

/** Builds a drift monitor from filled options; why: the operator and tests share it. */
export async function createDriftMonitor(o: DriftOptions, ctx: CreateContext): Promise<{ monitor: DriftMonitor; close: () => Promise<void> }> {
  const window = windowSpec(o.window);
  const profile = await loadProfileFor({ ...(o.profile === undefined ? {} : { profile: o.profile }), ...(o.model === undefined ? {} : { modelDir: o.model.path }) }, ctx.baseDir, ctx.nodeId);
  const { setup, columns } = resolveSetup(profile, o, ctx.nodeId);
  noteThresholds(o.thresholds, setup, ctx.logger, ctx.nodeId);
  const publishers = await analysisPublishers(o, ctx);
  let partials: { publisher: RecordPublisher; instance: string } | undefined;
  if (o.partials !== undefined) {
    const publisher = await kafkaPublisher(o.partials.kafka, 'drift-partial', { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger });
    publishers.all.push(publisher);
    partials = { publisher, instance: o.partials.instance ?? `${os.hostname()}-${process.pid}` };
  }
  const monitor = new DriftMonitor({
    topology: ctx.topologyName,
    node: ctx.nodeId,
    setup,
    window,
    seed: o.seed,
    driftShare: o.driftShare,
    columns,
    embeddingThreshold: o.embeddingThreshold,
    ...(o.retrain === undefined ? {} : { retrain: retrainTriggerOptions(o.retrain) }),
    ...(publishers.reports === undefined ? {} : { reports: publishers.reports }),
    ...(publishers.requests === undefined ? {} : { requests: publishers.requests }),
    ...(partials === undefined ? {} : { partials }),
    metrics: new DriftMetrics(ctx.metrics ?? NO_METRICS, ctx.nodeId),
    logger: ctx.logger,
  });
  return { monitor, close: async () => void (await Promise.all(publishers.all.map((p) => p.close().catch(() => undefined)))) };
}

/** The `drift` operator spec. */
export const drift = defineOperator({
  kind: 'drift',
  role: 'operator',
  stability: 'experimental',
  description: 'Measures data and embedding drift per window against the reference profile; passes every input on unchanged.',
  options: DriftOptions,
  examples: [
    { title: 'Windows of 500 inputs against a reference profile', options: { profile: 'reference-profile.json', window: { by: 'count', size: 500 } } },
    {
      title: 'Hourly windows by event time, reports to a file, a retrain trigger',
      options: { profile: 'reference-profile.json', window: { by: 'time', size: 3600000 }, reports: { files: { dir: 'drift' } }, retrain: { on: 'dataset', files: { dir: 'drift' } } },
    },
  ],
  metrics: DRIFT_WINDOW_FAMILIES,
  validate: (o) => driftProblems(o),
  async create(options, ctx) {
    const { monitor, close } = await createDriftMonitor(options, ctx);
    return {
      accepts: 'any',
      apply: (input, opCtx) =>
        concat(
          input.pipe(
            tap((item: Item) => {
              // Each envelope's time in the node (a window's report is paid by the envelope that closes it).
              for (const envelope of envelopesOf(item)) {
                const started = performance.now();
                monitor.add(envelope);
                envelope.timings[opCtx.nodeId] = performance.now() - started;
              }
            }),
          ),
          defer(() => monitor.finish()).pipe(ignoreElements()),
        ),
      close,
    };
  },
});
