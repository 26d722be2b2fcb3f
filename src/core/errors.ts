/**
 * The one catalogue of coded errors. Every failure that reaches a user, a dead-letter record or a
 * log carries one of these codes; `docs/errors.md` is checked against this list by a test.
 */

/** Whether an error is about the input (dead letter), the infrastructure (retry) or the config. */
export type ErrorCategory = 'data' | 'infrastructure' | 'config' | 'internal';

interface ErrorDefinition {
  readonly category: ErrorCategory;
  readonly retriable: boolean;
  readonly description: string;
}

/** Every error code Centaur raises, with its category, retry policy and meaning. */
export const ERROR_CODES = {
  CONFIG_INVALID: {
    category: 'config',
    retriable: false,
    description: 'The topology file (or a CLI argument) is invalid; the message lists every problem.',
  },
  CONFIG_ENV_MISSING: {
    category: 'config',
    retriable: false,
    description: 'A `${NAME}` reference in the topology names an environment variable that is not set.',
  },
  INPUT_READ_FAILED: {
    category: 'data',
    retriable: false,
    description: 'A source could not read an input (file vanished, permission denied).',
  },
  IMAGE_TOO_LARGE: {
    category: 'data',
    retriable: false,
    description: 'The encoded image is larger than the `maxInputBytes` limit of `decode-image`.',
  },
  IMAGE_TOO_MANY_PIXELS: {
    category: 'data',
    retriable: false,
    description: 'The image has more pixels than the `maxPixels` limit of `decode-image` (decompression-bomb guard).',
  },
  IMAGE_FORMAT_REFUSED: {
    category: 'data',
    retriable: false,
    description: 'The image format, read from the bytes before decoding, is not in the `formats` allow-list of `decode-image` (e.g. SVG, PDF, or bytes that are no known image format).',
  },
  IMAGE_DECODE_FAILED: {
    category: 'data',
    retriable: false,
    description: 'The bytes are not an image sharp can decode (corrupt, truncated or unsupported format).',
  },
  TENSOR_SHAPE_MISMATCH: {
    category: 'data',
    retriable: false,
    description: 'An envelope reached `micro-batch` or `infer` with a tensor whose shape, layout, pixel scaling or element type differs from what the model input or backend takes (e.g. a float16 batch for the onnx backend).',
  },
  MODEL_LOAD_FAILED: {
    category: 'config',
    retriable: false,
    description: 'The model manifest or model file could not be read, or does not match its declared input/output spec.',
  },
  MODEL_NOT_FOUND: {
    category: 'config',
    retriable: false,
    description: 'The model registry has no such model, version or alias.',
  },
  OBJECT_FETCH_FAILED: {
    category: 'data',
    retriable: false,
    description: 'The object an input refers to does not exist, cannot be read, or has a URI scheme `fetch-object` does not support; or an object `object-source` listed vanished before it was read.',
  },
  OBJECT_URI_REFUSED: {
    category: 'data',
    retriable: false,
    description: 'An input names an object URI that `fetch-object` may not read: outside its `allow` prefixes, a `file://` URI without `fileBase` or resolving outside it, or a key with `.`/`..` segments.',
  },
  OBJECT_TOO_LARGE: {
    category: 'data',
    retriable: false,
    description: 'The object an input refers to is larger than the `maxBytes` limit of `fetch-object` or `object-source`.',
  },
  KAFKA_VALUE_INVALID: {
    category: 'data',
    retriable: false,
    description: 'A Kafka message cannot be read in the configured format (not Confluent-framed Avro, invalid JSON, no image or URI field, empty value).',
  },
  SCHEMA_NOT_FOUND: {
    category: 'data',
    retriable: false,
    description: 'A message names a schema id (or a subject) that the schema registry does not have.',
  },
  AVRO_DECODE_FAILED: {
    category: 'data',
    retriable: false,
    description: 'The Avro body of a message does not decode with the schema its header names (truncated or corrupt).',
  },
  PREDICTION_MISSING: {
    category: 'data',
    retriable: false,
    description: 'An envelope reached `select-for-labelling` without a prediction to rank: put `infer` before it; the input goes to the dead letter.',
  },
  OUTPUT_ENCODE_FAILED: {
    category: 'data',
    retriable: false,
    description: 'An output record does not fit the schema of its sink (a field missing or of the wrong type).',
  },
  OUTPUT_TOO_LARGE: {
    category: 'data',
    retriable: false,
    description: 'An output message is larger than the sink allows (`kafka-sink` `maxMessageBytes`, under the broker’s `message.max.bytes`): the broker would refuse it.',
  },
  DRIFT_REPORT_INVALID: {
    category: 'data',
    retriable: false,
    description: 'A `retrain-trigger-sink` input is not a drift report: neither JSON nor Confluent-framed Avro, or a field the trigger reads is missing or of the wrong type.',
  },
  SCHEMA_INCOMPATIBLE: {
    category: 'config',
    retriable: false,
    description: 'The schema registry refused to register a schema: it is not compatible with the subject\'s earlier versions.',
  },
  SCHEMA_REGISTRY_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description: 'The schema registry could not be reached or failed; the request is retried with backoff.',
  },
  KAFKA_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description: 'The Kafka cluster could not be reached or refused a request; it is retried with backoff.',
  },
  KINESIS_RECORD_INVALID: {
    category: 'data',
    retriable: false,
    description: 'A Kinesis record cannot be read in the configured format (invalid JSON, no image or URI field, empty data, not Confluent-framed Avro).',
  },
  KINESIS_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'Kinesis Data Streams could not be reached, throttled the reads or failed; reads are retried with backoff. Refusals that retrying cannot cure (no such stream, access denied) are raised as not retriable and stop the run.',
  },
  KAFKA_TRANSACTION_FAILED: {
    category: 'infrastructure',
    retriable: false,
    description: 'An exactly-once transaction could not commit; it is aborted and the run stops so that the uncommitted inputs are read again on restart.',
  },
  INFERENCE_FAILED: {
    category: 'infrastructure',
    retriable: true,
    description: 'The inference backend failed to run a batch.',
  },
  SINK_WRITE_FAILED: {
    category: 'infrastructure',
    retriable: true,
    description: 'A sink could not write (disk full, permission denied); the write is retried with backoff.',
  },
  CHECKPOINT_FAILED: {
    category: 'infrastructure',
    retriable: true,
    description: 'A source could not record its committed position.',
  },
  DRAIN_TIMEOUT: {
    category: 'internal',
    retriable: false,
    description: 'In-flight envelopes did not finish within `limits.drainTimeoutMs` after a stop signal.',
  },
  INTERNAL: {
    category: 'internal',
    retriable: false,
    description: 'A bug: an invariant of the runtime was broken. Please report it with the log.',
  },
  INFERENCE_SERVER_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'The KServe v2 inference server could not be reached, timed out, was overloaded or failed (connection refused, HTTP 5xx, gRPC UNAVAILABLE), or its circuit breaker is open after repeated failures; the request is retried with backoff.',
  },
  INFERENCE_REQUEST_INVALID: {
    category: 'data',
    retriable: false,
    description:
      'The KServe v2 inference server refused a batch as invalid (HTTP 400, gRPC INVALID_ARGUMENT: a wrong shape, datatype or size); its inputs go to the dead letter.',
  },
  MODEL_METADATA_MISMATCH: {
    category: 'config',
    retriable: false,
    description:
      'The model the KServe v2 inference server serves does not match the model manifest (input or output names, datatypes or shapes); the message lists every difference, with both sides.',
  },
  OBJECT_STORE_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'The object store (S3, Azure Blob, the local disk) could not be reached, timed out, throttled the request or failed (connection refused, HTTP 5xx or 429, disk full); the request is retried with backoff.',
  },
  OBJECT_ACCESS_DENIED: {
    category: 'data',
    retriable: false,
    description:
      'The object store refused access to an object (HTTP 401/403, file permissions): the credentials may not read or write it. The input goes to the dead letter with the URI.',
  },
  OBJECT_WRITE_FAILED: {
    category: 'infrastructure',
    retriable: false,
    description:
      'The object store refused a write for good (the bucket or container does not exist, an invalid key or request); the inputs of that write go to the dead letter.',
  },
  PAYLOAD_MISSING: {
    category: 'data',
    retriable: false,
    description:
      'An envelope reached a sink without the part it writes: `tfrecord-sink` with `payload: tensor` needs the decoded tensor (`infer` drops it, so take the sink `from` `decode-image`), and with `payload: encoded` the image bytes (not a reference); the input goes to the dead letter.',
  },
  FEATURE_STORE_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'The Redis of `feature-store-sink`\'s online store could not be reached, timed out or refused a write; the write is retried with backoff, then its inputs go to the dead letter. Unreachable at start, it stops the start.',
  },
  FEATURE_ROW_INVALID: {
    category: 'data',
    retriable: false,
    description:
      'An input reached `feature-store-sink` without what its feature row needs: a prediction, a model, an embedding, or (with `keyFrom: key`) a key. It goes to the dead letter.',
  },
  LABEL_INVALID: {
    category: 'data',
    retriable: false,
    description:
      'A label event is malformed: no input id, no label, a label or annotator that is empty, too long or holds control characters, an unknown origin or selection, a time that is not one, or a Label Studio annotation without a choice. It goes to the dead letter with the reason; the stream goes on.',
  },
  LABEL_INPUT_UNKNOWN: {
    category: 'data',
    retriable: false,
    description:
      'A label names an input the feature store has no row for (never predicted with `includeEmbedding`, expired, or a mistyped id), so `training-set-sink` cannot join it to an embedding. It goes to the dead letter; send it again once the input is predicted.',
  },
  TRAINING_SET_FULL: {
    category: 'data',
    retriable: false,
    description:
      'A label names a new input while the training set holds `maxRows` rows; it goes to the dead letter. Raise `maxRows` (memory: about 5 KiB a row for a 1,280-d embedding) or start a new training set under another prefix.',
  },
  LABEL_STUDIO_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'Label Studio could not be reached, timed out or answered 5xx/429 while `label-studio-source` read annotations; the source logs it, waits and polls again.',
  },
  RETRAIN_REQUEST_INVALID: {
    category: 'data',
    retriable: false,
    description:
      'A record `trainer-sink` read is not a retrain request: neither Confluent-framed Avro (with `schemaRegistry`) nor JSON, or without an `id`, a `requestedAt` time, or with an `id`/`episode` over 512 characters. It goes to the dead letter; nothing is trained for it.',
  },
  MLFLOW_UNAVAILABLE: {
    category: 'infrastructure',
    retriable: true,
    description:
      'The MLflow tracking server could not be reached, timed out or answered 5xx/429. A training still completes and registers in its own registry; the report says the run was not logged in MLflow. An `infer` node following an MLflow alias keeps its running version and polls again.',
  },
  MLFLOW_REFUSED: {
    category: 'config',
    retriable: false,
    description:
      'The MLflow tracking server refused a request (HTTP 4xx other than 429): a missing registered model or version, a name it does not accept, or credentials (`MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`) it does not take. The message has its answer.',
  },
} as const satisfies Record<string, ErrorDefinition>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error Centaur raises on purpose. */
export class CentaurError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly category: ErrorCategory;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CentaurError';
    this.code = code;
    this.category = ERROR_CODES[code].category;
    this.retriable = options?.retriable ?? ERROR_CODES[code].retriable;
  }
}

/** One problem found in a topology file, located and with a suggested fix. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly node?: string;
  readonly message: string;
  readonly suggestion?: string;
}

/** Formats one config issue as `file:line:col: node `x`: message (suggestion)`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const node = issue.node === undefined ? '' : `node \`${issue.node}\`: `;
  const hint = issue.suggestion === undefined ? '' : `; ${issue.suggestion}`;
  return `${where}: ${node}${issue.message}${hint}`;
}

/** Every problem in a topology, reported together. */
export class ConfigError extends CentaurError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], code: ErrorCode = 'CONFIG_INVALID') {
    super(code, issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Wraps anything thrown into a CentaurError, keeping CentaurErrors as they are. */
export function toCentaurError(error: unknown, fallback: ErrorCode = 'INTERNAL'): CentaurError {
  if (error instanceof CentaurError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CentaurError(fallback, message, { cause: error });
}

/** Whether `code` names an error of the catalogue; why: codes that cross a process boundary arrive as text. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
