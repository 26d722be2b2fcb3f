/**
 * The topology file's own schema (everything but per-kind options) and the composed JSON Schema
 * that editors use: every component's options schema, tagged by `kind`.
 */
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import type { ComponentSpec } from '../core/component.js';

/** Runtime limits of a topology: in-flight bounds, drain and commit timing. */
export const LimitsSchema = Type.Object(
  {
    maxInFlight: Type.Integer({ minimum: 1, default: 1024, description: 'Envelopes in flight (emitted, not yet acknowledged) above which sources pause.' }),
    maxInFlightBytes: Type.Integer({ minimum: 1024, default: 268435456, description: 'Bytes held by in-flight envelopes above which sources pause.' }),
    lowWaterRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'Sources resume once in-flight count and bytes fall below this fraction of the limits.' }),
    drainTimeoutMs: Type.Integer({ minimum: 0, default: 30000, description: 'How long a stop waits for in-flight envelopes before giving up.' }),
    commitIntervalMs: Type.Integer({ minimum: 0, default: 1000, description: 'How often completed source positions are committed (0 = at once).' }),
  },
  { additionalProperties: false, default: {}, description: 'Runtime limits.' },
);

export type Limits = Static<typeof LimitsSchema>;

/** Where the instance serves /metrics, health, the status API and the dashboard. */
export const HttpSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve HTTP (metrics, health, status API, dashboard) while the topology runs.' }),
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Listen address; `0.0.0.0` for every interface (e.g. in a container).' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: 'Listen port; 0 picks a free one (logged at start).' }),
    token: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          'Bearer token the API (`/api/status`, `/api/events`, `/api/history`) needs: `Authorization: Bearer <token>`, or open the dashboard as `/?token=<token>` (it passes it on). `/healthz`, `/readyz`, `/metrics` and the dashboard\'s static files stay open. Give it as `${CENTAUR_HTTP_TOKEN}`, never in the file.',
      }),
    ),
  },
  { additionalProperties: false, default: {}, description: 'The HTTP server: /metrics, /healthz, /readyz, /api/status, /api/events and the dashboard at /. The `--http` and `--no-http` flags override it.' },
);

export type HttpSettings = Static<typeof HttpSchema>;

/** OpenTelemetry tracing of the inputs: spans per input and stage, W3C trace context on outputs, OTLP export. */
export const TracingSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Record spans: one per input (continuing the trace of its `traceparent` header), one per stage it passes, one per micro-batch inference linked to its inputs, one per sink write; outputs carry the sink span as `traceparent`. Off: no spans, and an input’s `traceparent`/`tracestate` pass through to its outputs unchanged.',
    }),
    serviceName: Type.Optional(Type.String({ minLength: 1, description: 'The `service.name` of the spans (default `centaur-<topology name>`).' })),
    sampleRatio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description: 'Share of new traces recorded; an input that carries a trace follows its producer’s sampling decision.',
    }),
    otlp: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({ minLength: 1, description: 'OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces` (an OpenTelemetry Collector, Jaeger, Tempo).' }),
          headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Request headers, e.g. an API key as `${OTLP_TOKEN}`.' })),
          timeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'Time for one export request.' }),
        },
        { additionalProperties: false, description: 'Where spans are exported (JSON over HTTP, in batches). Without it spans are recorded but not exported.' },
      ),
    ),
  },
  { additionalProperties: false, default: {}, description: 'OpenTelemetry tracing; off by default.' },
);

export type TracingSettings = Static<typeof TracingSchema>;

const NodeId = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'A node id.' });

const FromSchema = Type.Union([NodeId, Type.Array(NodeId, { minItems: 1 })], {
  description: 'Upstream node ids (one id or a list).',
});

/** A node before its per-kind options are checked. */
export const NodeShapeSchema = Type.Object(
  {
    kind: Type.String({ description: 'The component kind.' }),
    from: Type.Optional(FromSchema),
  },
  { additionalProperties: true },
);

/** The topology file without per-kind option checks (those come from the component specs). */
export const TopologyShapeSchema = Type.Object(
  {
    version: Type.Literal(1, { description: 'Topology file format version.' }),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$', description: 'Topology name: lower case, digits, `.`, `_`, `-`.' }),
    description: Type.Optional(Type.String({ description: 'What this topology does, for people.' })),
    deadLetter: Type.Optional(Type.String({ description: 'Id of the sink node (without `from`) that receives failed inputs. Default: the only `dead-letter` node, else `out/<name>/dead-letters.jsonl`.' })),
    limits: Type.Optional(LimitsSchema),
    http: Type.Optional(HttpSchema),
    tracing: Type.Optional(TracingSchema),
    nodes: Type.Record(NodeId, NodeShapeSchema, { description: 'The nodes of the graph, by id.' }),
  },
  { additionalProperties: false },
);

/** The JSON Schema of a whole topology file, with every component's options, for editors. */
export function topologyJsonSchema(specs: readonly ComponentSpec[]): Record<string, unknown> {
  const variants: TSchema[] = specs.map((spec) => {
    const props: Record<string, TSchema> = {
      kind: Type.Literal(spec.kind, { description: spec.description }),
      ...(spec.role === 'source' ? {} : { from: Type.Optional(FromSchema) }),
      ...spec.options.properties,
    };
    return Type.Object(props, {
      additionalProperties: false,
      title: spec.kind,
      description: `${spec.role} (${spec.stability}): ${spec.description}`,
    });
  });
  const shape = TopologyShapeSchema;
  return withOptionalDefaults(JSON.parse(
    JSON.stringify({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'https://centaur.dev/schemas/topology.schema.json',
      title: 'Centaur topology',
      type: 'object',
      additionalProperties: false,
      required: ['version', 'name', 'nodes'],
      properties: {
        ...shape.properties,
        nodes: {
          type: 'object',
          description: 'The nodes of the graph, by id.',
          propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
          additionalProperties: {
            type: 'object',
            required: ['kind'],
            properties: { kind: { enum: specs.map((s) => s.kind) } },
            allOf: specs.map((spec, i) => ({
              if: { properties: { kind: { const: spec.kind } } },
              then: variants[i],
            })),
          },
        },
      },
    }),
  ) as Record<string, unknown>);
}

/** Fields with a default need not be written: drop them from `required`, at every depth. */
function withOptionalDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as { properties?: Record<string, { default?: unknown }>; required?: string[] };
    if (node.properties !== undefined && Array.isArray(node.required)) {
      const props = node.properties;
      node.required = node.required.filter((name) => props[name]?.default === undefined);
      if (node.required.length === 0) delete node.required;
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit(schema);
  return schema;
}
