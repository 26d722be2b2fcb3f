/**
 * OpenTelemetry tracing of one run (topology `tracing:`). Each input gets a span that continues the
 * trace of its `traceparent` header (OpenTelemetry's messaging conventions: a `process` span whose
 * parent is the producer's), each stage it passes a child span built from the stage's own timing,
 * each batched inference one span linked to the spans of its inputs, and each sink write a span
 * whose context the sink writes on the output as `traceparent`. Spans go to an OTLP/HTTP endpoint in
 * batches when one is configured. The SDK is loaded only when tracing is on.
 */
import { performance } from 'node:perf_hooks';
import { defaultTextMapGetter, defaultTextMapSetter, diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Link, Span, Tracer } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Delivery, Envelope, Item } from '../core/envelope.js';
import { envelopesOf, isBatch } from '../core/envelope.js';
import type { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PACKAGE_VERSION } from '../core/package-info.js';
import type { TracingSettings } from '../topology/schema.js';

/** Where an input came from, for its span's name and attributes. */
interface SourceRef {
  readonly id: string;
  readonly kind: string;
}

/** A W3C propagator: extracts a parent from headers, injects a span's context into headers. */
interface Propagator {
  extract(context: Context, carrier: unknown, getter: typeof defaultTextMapGetter): Context;
  inject(context: Context, carrier: unknown, setter: typeof defaultTextMapSetter): void;
}

/** Milliseconds since the epoch, with performance.now()'s precision. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The tracing of one run; absent when tracing is off. */
export class RunTracer {
  private readonly inputs = new WeakMap<Delivery, Span>();

  private constructor(
    private readonly tracer: Tracer,
    private readonly propagator: Propagator,
    private readonly shutdownProvider: () => Promise<void>,
  ) {}

  /** The run's tracer when `settings.enabled`, exporting to `settings.otlp` and to `exporter` (tests, embedding) when given. */
  static async create(settings: TracingSettings | undefined, topologyName: string, logger: Logger, exporter?: SpanExporter): Promise<RunTracer | undefined> {
    if (settings?.enabled !== true) return undefined;
    // The SDK reports failed exports through its diagnostic logger: to the run's log, at warn.
    const warn = (message: string, ...args: unknown[]): void => logger.warn({ otel: args.map(String).join(' ') }, `OpenTelemetry: ${message}`);
    diag.setLogger({ error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
    const [sdk, { W3CTraceContextPropagator }, { resourceFromAttributes }] = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
    ]);
    const processors: SpanProcessor[] = [];
    if (settings.otlp !== undefined) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      const otlp = new OTLPTraceExporter({ url: settings.otlp.endpoint, headers: { ...settings.otlp.headers }, timeoutMillis: settings.otlp.timeoutMs });
      processors.push(new sdk.BatchSpanProcessor({ exporter: otlp, scheduledDelayMillis: 1000 }));
    }
    if (exporter !== undefined) processors.push(new sdk.SimpleSpanProcessor({ exporter }));
    const provider = new sdk.TracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName ?? `centaur-${topologyName}`, 'service.version': PACKAGE_VERSION }),
      sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(settings.sampleRatio) }),
      spanProcessors: processors,
    });
    return new RunTracer(provider.getTracer('centaur', PACKAGE_VERSION), new W3CTraceContextPropagator(), () => provider.shutdown());
  }

  /** Starts the span of an admitted input, continuing the trace its headers carry. */
  admitted(envelope: Envelope, source: SourceRef): void {
    const carrier = envelope.original?.headers ?? envelope.metadata;
    const parent = this.propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const p = envelope.position;
    const kafka = p.topic !== undefined;
    const span = this.tracer.startSpan(
      `process ${p.topic ?? source.id}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: performance.timeOrigin + envelope.receivedAt,
        attributes: {
          'messaging.operation.type': 'process',
          ...(kafka
            ? {
                'messaging.system': 'kafka',
                'messaging.destination.name': p.topic,
                'messaging.destination.partition.id': p.partition,
                'messaging.kafka.offset': p.offset,
                ...(envelope.key === undefined ? {} : { 'messaging.kafka.message.key': envelope.key }),
              }
            : { 'centaur.source.partition': p.partition, 'centaur.source.offset': p.offset }),
          ...(p.uri === undefined ? {} : { 'url.full': p.uri }),
          'centaur.input.id': envelope.id,
          'centaur.node.id': source.id,
          'centaur.node.kind': source.kind,
        },
      },
      parent,
    );
    this.inputs.set(envelope.delivery, span);
  }

  /**
   * Spans for what node `id` did to `item`, built from the timings it recorded: one span linked to
   * its inputs' spans for a batch the node handled whole (inference), else one child span per input
   * (a `micro-batch` node's is each input's wait for its batch).
   */
  stage(id: string, kind: string, item: Item): void {
    const end = nowMs();
    const envelopes = envelopesOf(item);
    if (kind !== 'micro-batch' && isBatch(item) && envelopes.length > 0) {
      const ms = envelopes[0]?.timings[id];
      if (ms === undefined) return;
      const links: Link[] = [];
      for (const e of envelopes) {
        const input = this.inputs.get(e.delivery);
        if (input !== undefined) links.push({ context: input.spanContext() });
      }
      const span = this.tracer.startSpan(`${kind} ${id}`, { startTime: end - ms, links, attributes: { 'centaur.node.id': id, 'centaur.node.kind': kind, 'centaur.batch.size': envelopes.length } }, ROOT_CONTEXT);
      span.end(end);
      return;
    }
    for (const e of envelopes) {
      const ms = e.timings[id];
      const input = this.inputs.get(e.delivery);
      if (ms === undefined || input === undefined) continue;
      const span = this.tracer.startSpan(`${kind} ${id}`, { startTime: end - ms, attributes: { 'centaur.node.id': id, 'centaur.node.kind': kind } }, trace.setSpan(ROOT_CONTEXT, input));
      span.end(end);
    }
  }

  /** Starts the spans of a sink write and puts each one's context on its envelope for the output; returns what ends them. */
  sinkWrite(id: string, kind: string, envelopes: readonly Envelope[]): (refused: ReadonlySet<Envelope>, failure?: string) => void {
    const spans = new Map<Envelope, Span>();
    for (const e of envelopes) {
      const input = this.inputs.get(e.delivery);
      if (input === undefined) continue;
      const span = this.tracer.startSpan(`${kind} ${id}`, { kind: kind === 'kafka-sink' ? SpanKind.PRODUCER : SpanKind.INTERNAL, attributes: { 'centaur.node.id': id, 'centaur.node.kind': kind } }, trace.setSpan(ROOT_CONTEXT, input));
      const headers: Record<string, string> = {};
      this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
      e.traceContext = headers;
      spans.set(e, span);
    }
    return (refused, failure) => {
      for (const [e, span] of spans) {
        if (failure !== undefined || refused.has(e)) span.setStatus({ code: SpanStatusCode.ERROR, message: failure ?? 'refused by the sink' });
        span.end();
      }
    };
  }

  /** Records on an input's span why it became a dead letter. */
  deadLettered(envelope: Envelope, node: string, error: CentaurError): void {
    const span = this.inputs.get(envelope.delivery);
    span?.addEvent('dead-lettered', { 'centaur.node.id': node, 'error.type': error.code });
    span?.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code} at ${node}` });
  }

  /** Ends an input's span once it is settled on every path. */
  completed(delivery: Delivery): void {
    const span = this.inputs.get(delivery);
    if (span === undefined) return;
    this.inputs.delete(delivery);
    span.end();
  }

  /** Exports what is pending and stops. */
  async shutdown(): Promise<void> {
    await this.shutdownProvider();
  }
}
