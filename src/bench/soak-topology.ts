/**
 * The soak's topology: the camera pipeline Kafka → Kafka (kafka-source of raw JPEG values with a
 * `capture-time` header → decode-image 224 → micro-batch → infer with the demo model, no
 * embeddings → kafka-sink of JSON predictions), or the same pipeline into an `object-sink` on S3
 * (images archived, JSON-lines records) for the slow-sink phase. The runtime's in-flight limits are
 * written out, so the report can hold memory against them.
 */

/** The runtime limits the soak runs under (the topology defaults unless asked otherwise). */
export interface SoakLimits {
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly drainTimeoutMs: number;
}

/** The defaults of `limits` in a topology (src/topology/schema.ts), with a short drain for a sink that cannot drain. */
export const SOAK_LIMITS: SoakLimits = { maxInFlight: 1024, maxInFlightBytes: 268_435_456, drainTimeoutMs: 5000 };

/** Where the predictions go: a Kafka topic, or an S3 lake behind `endpoint`. */
export type SoakOutput =
  | { readonly kind: 'kafka'; readonly topic: string }
  | {
      readonly kind: 'object';
      /** `s3://bucket/prefix`. */
      readonly uri: string;
      /** The S3 endpoint (the throttled link in front of the server). */
      readonly endpoint: string;
      /** Deadline of one request: a slow link needs more than the default 30 s. */
      readonly timeoutMs: number;
    };

export interface SoakTopologyOptions {
  readonly name: string;
  readonly brokers: string;
  readonly client: string;
  readonly input: string;
  readonly group: string;
  readonly modelDir: string;
  /** Folder of the dead-letter node's files. */
  readonly deadLetterDir: string;
  readonly output: SoakOutput;
  readonly limits: SoakLimits;
}

/** The topology file's text. */
export function soakTopologyYaml(o: SoakTopologyOptions): string {
  const connection = `brokers: [${JSON.stringify(o.brokers)}], client: ${o.client}`;
  const out =
    o.output.kind === 'kafka'
      ? `{ kind: kafka-sink, from: [infer], ${connection}, topic: ${o.output.topic}, value: { format: json } }`
      : `{ kind: object-sink, from: [infer], uri: ${JSON.stringify(o.output.uri)}, records: jsonl, s3: { endpoint: ${JSON.stringify(o.output.endpoint)}, forcePathStyle: true }, timeoutMs: ${o.output.timeoutMs} }`;
  return `version: 1
name: ${o.name}
limits: { maxInFlight: ${o.limits.maxInFlight}, maxInFlightBytes: ${o.limits.maxInFlightBytes}, drainTimeoutMs: ${o.limits.drainTimeoutMs} }
deadLetter: dlq
nodes:
  frames: { kind: kafka-source, ${connection}, topics: [${o.input}], groupId: ${o.group}, value: { format: bytes } }
  decode: { kind: decode-image, from: [frames], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 50 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(o.modelDir)} }, includeEmbedding: false }
  out: ${out}
  dlq: { kind: dead-letter, dir: ${JSON.stringify(o.deadLetterDir)} }
`;
}
