/**
 * The shapes of `/api/status` and of the `summary` events of `/api/events`, as docs/METRICS.md
 * defines them. Types only: shared by the page and its tests.
 */

/** Whether the process is ready, and which parts are not. */
export interface Readiness {
  readonly ready: boolean;
  readonly failing: readonly { readonly part: string; readonly reason: string }[];
}

/** Per-second rates of one node. */
export interface NodeRates {
  readonly received: number;
  readonly sent: number;
  readonly failed: number;
}

/** One node of the topology in the status snapshot. */
export interface StatusNode {
  readonly id: string;
  readonly kind: string;
  readonly role: string;
  readonly from: readonly string[];
  /** `running`, `failing` (its last write or commit failed) or `stopped`. */
  readonly state: string;
  /** Why the node is failing, when it is. */
  readonly reason?: string;
  readonly received: number;
  readonly sent: number;
  readonly failed: number;
  readonly rates: NodeRates;
}

/** The model version an `infer` node runs. */
export interface ModelInfo {
  readonly node: string;
  readonly model: string;
  readonly version: string;
}

/** Predictions of inputs with a known label. */
export interface Accuracy {
  readonly correct: number;
  readonly labelled: number;
  readonly ratio: number;
}

/** Latency percentiles in seconds; a field, or the whole object, is `null` when nothing finished recently. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** The JSON answer of `/api/status`. */
export interface StatusSnapshot {
  readonly topology: string;
  readonly state: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly instance: { readonly pid: number; readonly hostname: string; readonly version: string };
  readonly ready: Readiness;
  readonly nodes: readonly StatusNode[];
  readonly models: readonly ModelInfo[];
  readonly totals: {
    readonly inputs: number;
    readonly completed: number;
    readonly deadLetters: number;
    readonly predictions: number;
    readonly inFlight: number;
    readonly inFlightBytes: number;
  };
  readonly latencySeconds: Percentiles | null;
  readonly accuracy: Accuracy | null;
}

/** One `summary` event of `/api/events`, sent every second. */
export interface Summary {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly uptimeSeconds: number;
  readonly state: string;
  readonly ready: boolean;
  readonly throughput: { readonly inputs: number; readonly completed: number; readonly deadLetters: number };
  readonly latencySeconds: Percentiles | null;
  readonly batchFill: number | null;
  readonly inFlight: { readonly envelopes: number; readonly bytes: number; readonly paused: boolean };
  readonly lag: number | null;
  readonly nodes: readonly ({ readonly id: string } & NodeRates)[];
  readonly totals: { readonly inputs: number; readonly completed: number; readonly deadLetters: number; readonly predictions: number };
  readonly models: readonly ModelInfo[];
  readonly accuracy: Accuracy | null;
  /** The last closed window of each drift node; `null` until one closes (docs/METRICS.md). */
  readonly drift: DriftSummary | null;
}

/** One drift node's last closed window. */
export interface DriftNodeStatus {
  readonly node: string;
  readonly model: string;
  readonly version: string;
  readonly mode: string;
  readonly window: { readonly kind: 'time' | 'count'; readonly start: number; readonly end: number };
  readonly inputs: number;
  readonly late: number;
  readonly instances: number;
  readonly datasetDrift: boolean | null;
  readonly share: number | null;
  readonly driftShare: number | null;
  readonly columns: readonly { readonly feature: string; readonly method: string; readonly score: number | null; readonly threshold: number; readonly drifted: boolean }[];
  readonly embedding: { readonly method: string; readonly score: number; readonly threshold: number; readonly drifted: boolean; readonly cosineDistance: number } | null;
  readonly closedAt: number;
  readonly windows: number;
  readonly driftedWindows: number;
  readonly retrainRequests: number;
}

/** The summary's `drift` field. */
export interface DriftSummary {
  readonly nodes: readonly DriftNodeStatus[];
}
