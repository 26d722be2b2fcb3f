/**
 * What a component may report about itself beyond the runtime's own counters: batch shapes,
 * inference times, the model it runs, consumer lag, readiness. The runtime hands each node a
 * bound instance (labels already set); outside a runtime (unit tests) nothing is recorded.
 */

/** Metrics a component reports; every method is cheap enough for the hot path. */
export interface NodeMetrics {
  /** A batch closed with `size` envelopes out of `maxSize`, its first envelope having waited `waitSeconds`. */
  batch(size: number, maxSize: number, waitSeconds: number): void;
  /** One backend call ran `images` images of `model`/`version` in `seconds`. */
  inference(model: string, version: string, images: number, seconds: number): void;
  /** The node now runs this model version (replaces the previous one). */
  modelVersion(model: string, version: string): void;
  /** Messages behind the end of a partition: high watermark − next offset to read. */
  consumerLag(topic: string, partition: number, lag: number): void;
  /** The partition is no longer assigned to this node: forget its lag. */
  forgetPartition(topic: string, partition: number): void;
  /** A shadow (candidate) version answered a sampled batch: top-class agreement with the serving version. */
  shadowCompared(model: string, version: string, agreed: number, disagreed: number, seconds: number): void;
  /** A sampled batch was not shadowed (candidate busy or failing). */
  shadowSkipped(reason: 'busy' | 'failed'): void;
}

/** Records nothing: for components created outside a runtime. */
export const NO_METRICS: NodeMetrics = {
  batch: () => undefined,
  inference: () => undefined,
  modelVersion: () => undefined,
  consumerLag: () => undefined,
  forgetPartition: () => undefined,
  shadowCompared: () => undefined,
  shadowSkipped: () => undefined,
};
