/** The validated, typed form of a topology file that the runtime builds a graph from. */
import type { ComponentSpec } from '../core/component.js';
import type { ConfigIssue } from '../core/errors.js';
import type { HttpSettings, Limits, TracingSettings } from './schema.js';

/** One node after validation: its spec, upstreams and options with defaults filled in. */
export interface TopologyNode {
  readonly id: string;
  readonly kind: string;
  readonly spec: ComponentSpec;
  readonly from: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
}

/** A whole validated topology. */
export interface Topology {
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  /** The file it was loaded from (or a label for in-memory text). */
  readonly file: string;
  /** Folder against which relative paths in options resolve. */
  readonly baseDir: string;
  readonly limits: Limits;
  /** Where the instance serves metrics, health and the dashboard. */
  readonly http: HttpSettings;
  /** OpenTelemetry tracing (off by default). */
  readonly tracing: TracingSettings;
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Node ids with every node after its upstreams. */
  readonly order: readonly string[];
  /** The dead-letter sink node id, or null for the built-in default. */
  readonly deadLetter: string | null;
  /** What validation found worth a warning but not a refusal (`centaur validate` prints them). */
  readonly warnings: readonly ConfigIssue[];
}
