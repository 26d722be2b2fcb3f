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
  /** A drift window closed: per-feature scores and verdicts, embedding and dataset drift (gauges and the live summary). */
  driftWindow(figures: DriftWindowFigures): void;
  /** Inputs that reached a drift node after every window they belong to had closed. */
  driftLate(count: number): void;
  /** The retrain trigger fired for a model version: `sent`, or `suppressed` by its cooldown. */
  retrainRequest(model: string, version: string, outcome: 'sent' | 'suppressed'): void;
  /** A request to an inference server failed with `code` and is tried again. */
  inferenceServerRetry(server: string, code: string): void;
  /** The circuit breaker of the client for an inference server opened (true) or closed again (false). */
  inferenceServerCircuit(server: string, open: boolean): void;
  /** A cache node looked up `count` inputs: answered (`hit`), not stored (`miss`), or Redis unavailable (`bypass`). */
  cacheLookups(outcome: 'hit' | 'miss' | 'bypass', count: number): void;
  /** A cache node wrote `count` predictions to Redis (`ok`), or could not (`error`: Redis failed or unavailable). */
  cacheStores(outcome: 'ok' | 'error', count: number): void;
}

/** One closed drift window as metrics and the live summary see it. */
export interface DriftWindowFigures {
  readonly model: string;
  readonly version: string;
  readonly mode: string;
  readonly window: { readonly kind: 'time' | 'count'; readonly start: number; readonly end: number };
  readonly inputs: number;
  readonly late: number;
  readonly instances: number;
  readonly columns: readonly { readonly feature: string; readonly method: string; readonly score: number; readonly threshold: number; readonly drifted: boolean }[];
  readonly embedding: { readonly method: string; readonly score: number; readonly threshold: number; readonly drifted: boolean; readonly cosineDistance: number } | null;
  /** Share of drifted columns, the share that makes dataset drift, and the verdict (null without columns). */
  readonly dataset: { readonly share: number; readonly driftShare: number; readonly drifted: boolean } | null;
  readonly closedAt: number;
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
  driftWindow: () => undefined,
  driftLate: () => undefined,
  retrainRequest: () => undefined,
  inferenceServerRetry: () => undefined,
  inferenceServerCircuit: () => undefined,
  cacheLookups: () => undefined,
  cacheStores: () => undefined,
};
