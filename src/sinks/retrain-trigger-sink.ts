/**
 * `retrain-trigger-sink`: the retrain trigger as a sink of its own. Its inputs are drift reports —
 * the JSON envelopes `drift-merge-source` emits, or records of a drift report topic read by
 * `kafka-source` with `value.format: bytes` (JSON, or Confluent-framed Avro DriftReport decoded
 * through `schemaRegistry`). Each report drives the trigger of its topology, drift node and model
 * version (the same RetrainTrigger as the `drift` operator's `retrain` option); a request goes to
 * files, Kafka and/or a webhook before the reports that made it are acknowledged.
 *
 * Delivery is at least once: the trigger state (and any request not yet delivered everywhere) is
 * saved to `stateFile` before a request is published and again after, so a restart neither loses
 * a request nor counts a redelivered report twice (reports not newer than the last one of their
 * node are ignored). A request id names its node and last window, so a consumer can drop repeats.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { CreateContext, Sink, SinkRejection } from '../core/component.js';
import type { Envelope } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { NO_METRICS } from '../core/metric-family.js';
import { DriftMetrics, RETRAIN_FAMILIES } from '../drift-monitor/drift-metrics.js';
import { filesPublisher, FilesOutputOptions, kafkaOutputProblems, kafkaPublisher, KafkaOutputOptions, webhookPublisher, WebhookOptions } from '../drift-monitor/outputs.js';
import type { RecordPublisher } from '../drift-monitor/outputs.js';
import { parseReportRecord } from '../drift-monitor/report.js';
import type { DriftReport } from '../drift-monitor/report.js';
import { baselineOf, RetrainConditionOptions, retrainTriggerOptions, RetrainTriggers, watchesAccuracy } from '../drift-monitor/retrain-trigger.js';
import type { RetrainRequest, RetrainTriggerOptions, RetrainTriggersStateJson } from '../drift-monitor/retrain-trigger.js';
import { AvroRegistryCodec, SchemaRegistryOptions } from '../kafka/schema-registry.js';

const options = Type.Object(
  {
    ...RetrainConditionOptions,
    files: Type.Optional(FilesOutputOptions),
    kafka: Type.Optional(KafkaOutputOptions),
    webhook: Type.Optional(WebhookOptions),
    schemaRegistry: Type.Optional(Type.Object(SchemaRegistryOptions.properties, { additionalProperties: false, description: 'The schema registry that decodes Avro reports (Confluent-framed values; JSON needs none).' })),
    stateFile: Type.Optional(
      Type.String({ minLength: 1, description: 'JSON file (relative to the topology file) keeping episodes, cooldowns and undelivered requests across restarts (default: kept in memory only).' }),
    ),
  },
  { additionalProperties: false },
);

/** A request with the outputs it has not reached yet. */
interface PendingRequest {
  readonly request: RetrainRequest;
  targets: string[];
}

/** The state file's content. */
interface SinkStateJson extends RetrainTriggersStateJson {
  readonly pending: readonly { readonly request: RetrainRequest; readonly targets: readonly string[] }[];
}

/** Runs the retrain trigger over drift reports and sends one request per episode. */
export const retrainTriggerSink = defineSink({
  kind: 'retrain-trigger-sink',
  role: 'sink',
  stability: 'experimental',
  description: 'Runs the retrain trigger over drift reports (JSON or Avro) and sends one retrain request per episode to files, Kafka or a webhook.',
  options,
  examples: [
    { title: 'One request per drift episode, to a file', options: { files: { dir: 'retrain' } } },
    { title: 'Three drifted windows in a row start an episode; requests to a webhook', options: { on: 'dataset', consecutive: 3, webhook: { url: '${RETRAIN_WEBHOOK}' } } },
  ],
  metrics: RETRAIN_FAMILIES,
  claims: (o, baseDir) => [
    ...(o.stateFile === undefined ? [] : [`retrain state ${path.resolve(baseDir, o.stateFile)}`]),
    ...(o.files === undefined ? [] : [`output ${path.join(path.resolve(baseDir, o.files.dir), '<node>-retrain-requests.jsonl')}`]),
  ],
  validate: (o) => [
    ...(o.files === undefined && o.kafka === undefined && o.webhook === undefined
      ? [{ path: [], message: 'give at least one output for the requests: `files`, `kafka` or `webhook`', suggestion: 'add e.g. `files: { dir: retrain-requests }`' }]
      : []),
    ...kafkaOutputProblems(['kafka'], o.kafka),
  ],
  async create(o, ctx): Promise<Sink> {
    const trigger = retrainTriggerOptions(o);
    const stateFile = o.stateFile === undefined ? undefined : path.resolve(ctx.baseDir, o.stateFile);
    const state = stateFile === undefined ? undefined : await readState(stateFile, ctx.nodeId);
    const named = { topologyName: ctx.topologyName, nodeId: ctx.nodeId, baseDir: ctx.baseDir, logger: ctx.logger };
    const targets = new Map<string, RecordPublisher>();
    if (o.files !== undefined) targets.set('files', filesPublisher(path.resolve(ctx.baseDir, o.files.dir), `${ctx.nodeId}-retrain-requests.jsonl`));
    if (o.kafka !== undefined) targets.set('kafka', await kafkaPublisher(o.kafka, 'retrain-request', named));
    if (o.webhook !== undefined) targets.set('webhook', webhookPublisher(o.webhook));
    const codec = o.schemaRegistry === undefined ? undefined : await AvroRegistryCodec.create(o.schemaRegistry);
    const triggers = new RetrainTriggers(trigger, state);
    const pending = (state?.pending ?? []).map((p) => ({ request: p.request, targets: p.targets.filter((t) => targets.has(t)) })).filter((p) => p.targets.length > 0);
    return new RetrainTriggerSink(trigger, triggers, pending, targets, codec, stateFile, ctx);
  },
});

/** Reads the state file; a missing one is a fresh start, an unreadable one stops the start (it would lose episodes silently). */
async function readState(file: string, nodeId: string): Promise<SinkStateJson | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: cannot read the retrain state ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: Partial<SinkStateJson>;
  try {
    json = JSON.parse(text) as Partial<SinkStateJson>;
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: the retrain state ${file} is not JSON (${(error as Error).message}); delete it to start afresh`, { cause: error });
  }
  if (json.type !== 'centaur-retrain-state' || json.version !== 1 || !Array.isArray(json.triggers)) {
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: ${file} is not a retrain state of version 1; delete it to start afresh`);
  }
  return { type: json.type, version: json.version, triggers: json.triggers, pending: Array.isArray(json.pending) ? json.pending : [] };
}

/** The first byte of a Confluent-framed Avro value. */
const AVRO_MAGIC = 0;

class RetrainTriggerSink implements Sink {
  private readonly metrics: DriftMetrics;
  private saving: Promise<void> = Promise.resolve();
  private warnedNoBaseline = false;

  constructor(
    private readonly trigger: RetrainTriggerOptions,
    private readonly triggers: RetrainTriggers,
    private readonly pending: PendingRequest[],
    private readonly targets: ReadonlyMap<string, RecordPublisher>,
    private readonly codec: AvroRegistryCodec | undefined,
    private readonly stateFile: string | undefined,
    private readonly ctx: CreateContext,
  ) {
    this.metrics = new DriftMetrics(ctx.metrics ?? NO_METRICS, ctx.nodeId);
  }

  /** Feeds the reports in order; resolves once every request they made reached every output (a retry finds them already counted). */
  async write(envelopes: readonly Envelope[]): Promise<readonly SinkRejection[]> {
    const rejections: SinkRejection[] = [];
    let changed = false;
    for (const envelope of envelopes) {
      let report: DriftReport;
      try {
        report = await this.read(envelope);
      } catch (error) {
        const err = toCentaurError(error, 'DRIFT_REPORT_INVALID');
        if (err.retriable) throw err;
        rejections.push({ envelope, error: err });
        continue;
      }
      changed = this.observe(report) || changed;
    }
    if (changed) await this.save();
    if (this.pending.length > 0) await this.deliver();
    return rejections;
  }

  /** Tries once more to deliver requests that are still pending. */
  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.deliver();
  }

  async close(): Promise<void> {
    await this.saving;
    await Promise.all([...this.targets.values()].map((t) => t.close().catch(() => undefined)));
  }

  /** Decodes an envelope's payload into a report: Avro when Confluent-framed, JSON otherwise. */
  private async read(envelope: Envelope): Promise<DriftReport> {
    if (envelope.payload.kind !== 'bytes') throw new CentaurError('DRIFT_REPORT_INVALID', `input ${envelope.id} is a reference (${envelope.payload.uri}), not a drift report`);
    const bytes = envelope.payload.bytes;
    let value: unknown;
    if (bytes.length > 0 && bytes[0] === AVRO_MAGIC) {
      if (this.codec === undefined) throw new CentaurError('DRIFT_REPORT_INVALID', 'the value is Confluent-framed Avro, but the node has no `schemaRegistry` to decode it');
      value = await this.codec.decode(bytes);
    } else {
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new CentaurError('DRIFT_REPORT_INVALID', `the value is neither Confluent-framed Avro nor JSON: ${(error as Error).message}`, { cause: error });
      }
    }
    try {
      return parseReportRecord(value);
    } catch (error) {
      throw new CentaurError('DRIFT_REPORT_INVALID', (error as Error).message, { cause: error });
    }
  }

  /** Feeds one report to its trigger; returns whether the state changed. */
  private observe(report: DriftReport): boolean {
    const logger = this.ctx.logger;
    if (watchesAccuracy(this.trigger.on) && report.accuracy !== null && baselineOf(report, this.trigger) === null && !this.warnedNoBaseline) {
      this.warnedNoBaseline = true;
      logger.warn({ node: this.ctx.nodeId, drift: `${report.topology}/${report.node}` }, 'The retrain trigger watches accuracy, but neither `baselineAccuracy` nor the reports give a baseline: it will not fire.');
    }
    // The cooldown runs in report time, so a replay decides as the live run did.
    const outcome = this.triggers.observe(report, report.createdAt > 0 ? report.createdAt : Date.now());
    switch (outcome.kind) {
      case 'stale':
        logger.info({ node: this.ctx.nodeId, drift: `${report.topology}/${report.node}`, window: report.window, why: outcome.why }, 'A drift report not newer than the last one of its node: ignored.');
        return false;
      case 'none':
        return true;
      case 'suppressed':
        this.metrics.retrainRequest(report.model?.name ?? '', report.model?.version ?? '', 'suppressed');
        logger.info({ node: this.ctx.nodeId, drift: `${report.topology}/${report.node}`, window: report.window }, 'Drift episode inside the retrain cooldown: no request.');
        return true;
      case 'request': {
        const request = outcome.request;
        this.metrics.retrainRequest(report.model?.name ?? '', report.model?.version ?? '', 'sent');
        logger.warn({ node: this.ctx.nodeId, request: request.id, reason: request.reason, features: request.driftedFeatures.map((f) => f.name) }, 'Retrain requested.');
        this.pending.push({ request, targets: [...this.targets.keys()] });
        return true;
      }
    }
  }

  /** Publishes pending requests in order; a target that refuses a request for good is logged and dropped for it, a retriable failure stops here and throws. */
  private async deliver(): Promise<void> {
    let failure: CentaurError | undefined;
    let progressed = false;
    while (this.pending.length > 0 && failure === undefined) {
      const p = this.pending[0]!;
      for (const name of [...p.targets]) {
        try {
          await this.targets.get(name)!.publish(p.request.id, { ...p.request });
        } catch (error) {
          const err = toCentaurError(error, 'SINK_WRITE_FAILED');
          if (err.retriable) {
            failure = new CentaurError('SINK_WRITE_FAILED', `retrain request ${p.request.id} not delivered to ${name}: ${err.message}`, { cause: err, retriable: true });
            break;
          }
          this.ctx.logger.error({ node: this.ctx.nodeId, request: p.request.id, output: name, error: err.message, code: err.code }, 'A retrain request was refused by an output for good; it is not sent there.');
        }
        p.targets = p.targets.filter((t) => t !== name);
        progressed = true;
      }
      if (p.targets.length === 0) this.pending.shift();
    }
    if (progressed) await this.save();
    if (failure !== undefined) throw failure;
  }

  /** Writes the state file atomically (after the previous write). */
  private save(): Promise<void> {
    const file = this.stateFile;
    if (file === undefined) return Promise.resolve();
    const json: SinkStateJson = { ...this.triggers.toJSON(), pending: this.pending.map((p) => ({ request: p.request, targets: [...p.targets] })) };
    const text = `${JSON.stringify(json)}\n`;
    this.saving = this.saving.then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, text);
      await rename(temporary, file);
    });
    return this.saving.catch((error: unknown) => {
      this.saving = Promise.resolve();
      throw new CentaurError('SINK_WRITE_FAILED', `cannot save the retrain state ${file}: ${(error as Error).message}`, { cause: error, retriable: true });
    });
  }
}
