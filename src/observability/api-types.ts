/**
 * The JSON shapes of `/api/status` and of the `summary` events of `/api/events` (docs/METRICS.md).
 * Types only, with no imports, so the server and the dashboard page share one definition.
 */

/** Where a run is in its lifecycle. */
export type RunState = 'starting' | 'running' | 'stopping' | 'stopped';

/** Per-second rates of one node. */
export interface NodeRates {
  readonly received: number;
  readonly sent: number;
  readonly failed: number;
}

/** The model version an `infer` node runs. */
export interface ModelVersion {
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

/** Latency percentiles in seconds. */
export interface LatencyQuantiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** Whether the run is ready, and which parts are not. */
export interface Readiness {
  readonly ready: boolean;
  readonly failing: readonly { readonly part: string; readonly reason: string }[];
}

/** One node of the topology in `/api/status`. */
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

/** The `/api/status` document. */
export interface StatusDocument {
  readonly topology: string;
  readonly state: RunState;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly instance: { readonly pid: number; readonly hostname: string; readonly version: string };
  readonly ready: Readiness;
  readonly nodes: readonly StatusNode[];
  readonly models: readonly ModelVersion[];
  readonly totals: { readonly inputs: number; readonly completed: number; readonly deadLetters: number; readonly predictions: number; readonly inFlight: number; readonly inFlightBytes: number };
  readonly latencySeconds: LatencyQuantiles | null;
  readonly accuracy: Accuracy | null;
  readonly config: unknown;
}

/** A node in a summary: per-second rates, its state and its counts so far. */
export interface NodeSummary extends NodeRates {
  readonly id: string;
  readonly state: string;
  readonly reason?: string;
  readonly totals: { readonly received: number; readonly sent: number; readonly failed: number };
}

/** The process's resource use over the last interval. */
export interface ProcessFigures {
  /** CPU time over wall time: 1.0 is one core busy. */
  readonly cpuCores: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** How late the event loop ran its timers (median and 99th percentile, seconds), or null before a measurement. */
  readonly eventLoopDelaySeconds: { readonly p50: number; readonly p99: number } | null;
}

/** One GPU the machine shows (from `nvidia-smi`): the device's figures, not only this process's. */
export interface GpuFigures {
  readonly index: number;
  readonly name: string;
  /** Busy share over nvidia-smi's last sample period, 0–1. */
  readonly utilization: number;
  readonly memoryUsedBytes: number;
  readonly memoryTotalBytes: number;
}

/** One point of the recent history (`history` event of `/api/events`, `/api/history`): what the charts draw. */
export interface HistoryPoint {
  readonly time: number;
  readonly throughput: SummaryEvent['throughput'];
  readonly latencySeconds: LatencyQuantiles | null;
  readonly batchFill: number | null;
  readonly lag: number | null;
  readonly process: ProcessFigures;
  /** The GPUs, or null where none is visible. */
  readonly gpus: readonly GpuFigures[] | null;
}

/** One `summary` event of `/api/events`. */
export interface SummaryEvent {
  readonly time: number;
  readonly uptimeSeconds: number;
  readonly state: RunState;
  readonly ready: boolean;
  readonly throughput: { readonly inputs: number; readonly completed: number; readonly deadLetters: number };
  readonly latencySeconds: LatencyQuantiles | null;
  readonly batchFill: number | null;
  readonly inFlight: { readonly envelopes: number; readonly bytes: number; readonly paused: boolean };
  readonly lag: number | null;
  readonly failing: Readiness['failing'];
  readonly nodes: readonly NodeSummary[];
  readonly totals: { readonly inputs: number; readonly completed: number; readonly deadLetters: number; readonly predictions: number };
  readonly models: readonly ModelVersion[];
  readonly accuracy: Accuracy | null;
  /** The last closed window of each drift node; null without drift nodes or before the first window closes. */
  readonly drift: DriftSummary | null;
  /** The training set of each `training-set-sink`; null without one. */
  readonly labels: LabelsSummary | null;
  /** CPU, memory and event-loop delay of the process. */
  readonly process: ProcessFigures;
  /** Utilisation and memory of each GPU the machine shows (every 5 s from `nvidia-smi`); null where none is visible. */
  readonly gpus: readonly GpuFigures[] | null;
}

/** The last closed window of one drift node, as the live summary's `drift.nodes[]` carries it (docs/METRICS.md). */
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
  /** Windows closed so far, those with dataset drift, and retrain requests sent. */
  readonly windows: number;
  readonly driftedWindows: number;
  readonly retrainRequests: number;
}

/** The live summary's `drift` field. */
export interface DriftSummary {
  readonly nodes: readonly DriftNodeStatus[];
}

/** One class's labelled rows: by label (`labelled`), by prediction (`predicted`), and both (`correct`); precision and recall when defined. */
export interface ClassFigures {
  readonly labelled: number;
  readonly predicted: number;
  readonly correct: number;
  readonly precision: number | null;
  readonly recall: number | null;
}

/** Accuracy over a set of labelled rows, overall and per class (the model's classes, `new` for labels outside them). */
export interface LabelFigures {
  readonly labelled: number;
  readonly correct: number;
  readonly accuracy: number | null;
  readonly perClass: Readonly<Record<string, ClassFigures>>;
}

/** The training set a `training-set-sink` keeps, as the live summary's `labels.nodes[]` carries it. */
export interface LabelsNodeStatus {
  readonly node: string;
  readonly rows: number;
  readonly newClassRows: number;
  /** Every labelled row. */
  readonly all: LabelFigures;
  /** Only the randomly explored rows: the estimate without selection bias. */
  readonly exploration: LabelFigures;
}

/** The live summary's `labels` field. */
export interface LabelsSummary {
  readonly nodes: readonly LabelsNodeStatus[];
}
