/**
 * The envelope: one input's journey through a topology. Sources create the first fields, every
 * stage adds its own (image features, tensor, embedding, prediction, timings); the runtime owns
 * the delivery handle that turns sink acknowledgements into committed source positions.
 */
import type { PIXEL_SCALES } from './image-spec.js';

/** Where an input came from; per (source, partition), offsets increase in emission order. */
export interface SourcePosition {
  /** Node id of the source that emitted the envelope. */
  readonly source: string;
  readonly partition: string;
  readonly offset: number;
  /** The object's address when the input is a file or object (file://, s3://, …). */
  readonly uri?: string;
  /** The Kafka topic, for Kafka inputs. */
  readonly topic?: string;
}

/** The input exactly as it arrived, when the payload was taken out of it (e.g. a Kafka message). */
export interface OriginalInput {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Kafka headers as received. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The input itself: raw bytes, or a reference still to be fetched. */
export type Payload =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'reference'; readonly uri: string };

/** How pixel values are scaled when they become model input. */
export type PixelScale = (typeof PIXEL_SCALES)[number];

/** A decoded, resized image: interleaved (HWC) 8-bit pixels plus how to scale them. */
export interface ImageTensor {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly scale: PixelScale;
}

/** Image statistics used for drift monitoring, computed on decode. */
export interface ImageFeatures {
  /** Width and height of the original image, after EXIF orientation. */
  readonly width: number;
  readonly height: number;
  /** Detected format, e.g. `jpeg`, `png`. */
  readonly format: string;
  /** Mean luma in [0, 1]. */
  readonly brightness: number;
  /** Standard deviation of luma in [0, 1]. */
  readonly contrast: number;
  /** Variance of the Laplacian of luma (on the resized image, luma in [0, 1]). */
  readonly sharpness: number;
  /** Mean HSV saturation in [0, 1] (on the resized image); absent in cache entries written before it existed. */
  readonly saturation?: number;
}

/** A classifier's answer for one input. */
export interface Prediction {
  readonly label: string;
  readonly classIndex: number;
  readonly confidence: number;
  readonly probabilities: readonly number[];
  /** Set when a `cache` node answered the input from an earlier prediction (decode and inference skipped). */
  readonly cached?: true;
}

/** Why an input was picked for labelling: the most uncertain, k-center among the uncertain, or at random. */
export const SELECTION_STRATEGIES = ['uncertainty', 'diversity', 'exploration'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/** Why a `select-for-labelling` node picked an input for a person to label. */
export interface LabellingMark {
  /** `uncertainty` (most uncertain), `diversity` (k-center among the uncertain) or `exploration` (random). */
  readonly strategy: SelectionStrategy;
  /** The uncertainty measure and the input's score by it, in [0, 1]. */
  readonly method: string;
  readonly uncertainty: number;
  /** The selection node and its window (ordinal from 0), so a request names where it came from. */
  readonly node: string;
  readonly window: number;
  /** Where the input's original bytes were archived for a person to see (content-addressed in the lake), when they were. */
  readonly imageUri?: string;
}

/** Where a label came from: a person in Label Studio, a label topic, or ground truth known at the source. */
export const LABEL_ORIGINS = ['label-studio', 'kafka', 'ground-truth'] as const;
export type LabelOrigin = (typeof LABEL_ORIGINS)[number];

/** Whether a value read from an input is one of `names`; why: label events and training rows are untrusted. */
export function isOneOf<T extends string>(names: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (names as readonly string[]).includes(value);
}

/** A label a person (or a labelling tool) gave an input, carried by a label event (`label-studio-source`, `kafka-source` with `value.content: label`). */
export interface Annotation {
  /** The class the annotator chose; may be a class the model does not know (a new class). */
  readonly label: string;
  /** Who labelled it, e.g. `label-studio:3` (a Label Studio user id) or what the label record says. */
  readonly annotator: string;
  readonly origin: LabelOrigin;
  /** When the label was given or last changed, ms since the epoch. */
  readonly labelTime: number;
  /** Why the input was picked for labelling, when the label answers a label request. */
  readonly selection?: LabellingMark['strategy'];
}

/** The model that produced a prediction. */
export interface ModelRef {
  readonly name: string;
  readonly version: string;
  /** Class names by index, so outputs can name each probability. */
  readonly classes?: readonly string[];
  /** The fingerprint of the preprocessing and backbone that made the embedding (see the manifest's `fingerprint`). */
  readonly fingerprint?: string;
}

/** The runtime's handle for acknowledging an envelope; components never call it directly. */
export interface Delivery {
  /** A sink made this copy durable. */
  acknowledge(): void;
  /** The envelope failed at `nodeId` and its dead letter is durable. */
  deadLettered(nodeId: string): void;
}

/** What a source supplies for each input; the runtime turns it into an Envelope. */
export interface EnvelopeInit {
  readonly id: string;
  readonly key?: string;
  /** Event time in milliseconds since the epoch. */
  readonly eventTime: number;
  readonly position: SourcePosition;
  readonly payload: Payload;
  /** Bytes of the input as read; the runtime counts this against `limits.maxInFlightBytes` at entry. */
  readonly sizeBytes: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Ground-truth label when the source knows it (e.g. from a folder name). */
  readonly label?: string;
  /** The original bytes, kept for the dead-letter sink when the payload differs from them. */
  readonly original?: OriginalInput;
  /** Set by sources of label events: the label given to the input named by `id`. */
  readonly annotation?: Annotation;
}

/** One input travelling through the graph. */
export interface Envelope {
  readonly id: string;
  readonly key?: string;
  readonly eventTime: number;
  readonly position: SourcePosition;
  payload: Payload;
  /** Bytes this envelope holds now (stages add tensors, drop them); informative, not the in-flight bound. */
  sizeBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly label?: string;
  readonly original?: OriginalInput;
  /** A label event's label for the input named by `id` (no image travels with it). */
  readonly annotation?: Annotation;
  /** Monotonic time (ms, performance.now()) at which the source emitted it. */
  readonly receivedAt: number;
  /** The object a `fetch-object` node read the payload from: dead letters name it instead of copying its bytes. */
  fetchedFrom?: string;
  image?: ImageFeatures;
  tensor?: ImageTensor;
  embedding?: Float32Array;
  prediction?: Prediction;
  model?: ModelRef;
  /** Set when a `select-for-labelling` node picked the input for labelling. */
  labelling?: LabellingMark;
  /** Milliseconds spent per stage, keyed by node id. */
  readonly timings: Record<string, number>;
  /** W3C trace context (`traceparent`, `tracestate`) of the sink write under way, for the output's headers; set by the runtime when tracing is on. */
  traceContext?: Readonly<Record<string, string>>;
  readonly delivery: Delivery;
}

/** A batch tensor held in a pooled buffer; `release()` returns the buffer to its pool. */
export interface BatchTensor {
  /**
   * The whole pooled buffer, sized for the largest batch: read only the first n·h·w·c values. The
   * array type is the element type: Float32Array float32, Uint16Array float16 (IEEE half-precision
   * bits, packed by `micro-batch` with `dtype: float16`), Uint8Array raw bytes.
   */
  readonly data: Float32Array | Uint16Array | Uint8Array;
  /** [n, h, w, c] for NHWC or [n, c, h, w] for NCHW. */
  readonly shape: readonly [number, number, number, number];
  readonly layout: 'NHWC' | 'NCHW';
  release(): void;
}

/** Several envelopes moving together (after `micro-batch`), optionally with their packed tensor. */
export interface Batch {
  readonly kind: 'batch';
  readonly envelopes: Envelope[];
  readonly tensor: BatchTensor | null;
}

/** What flows along an edge of the graph. */
export type Item = Envelope | Batch;

/** Tells a batch from a single envelope. */
export function isBatch(item: Item): item is Batch {
  return (item as Partial<Batch>).kind === 'batch';
}

/** The envelopes an item carries, whether it is a batch or a single envelope. */
export function envelopesOf(item: Item): Envelope[] {
  return isBatch(item) ? item.envelopes : [item];
}

/** A shallow copy for a second branch of a fan-out: stage fields are copied, delivery is shared. */
export function forkEnvelope(envelope: Envelope): Envelope {
  return { ...envelope, timings: { ...envelope.timings } };
}
