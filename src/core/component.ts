/**
 * The component contract: every source, operator and sink is one module exporting a spec —
 * kind, role, one-line description, stability, options schema (TypeBox, unknown fields rejected,
 * defaults inline) and a factory. The runtime owns wiring, lifecycle, acknowledgement and errors.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { Observable, SchedulerLike } from 'rxjs';
import type { Envelope, EnvelopeInit, Item } from './envelope.js';
import type { CentaurError } from './errors.js';
import type { Logger } from './logger.js';
import type { MetricFamily, NodeMetrics } from './metric-family.js';

export type Role = 'source' | 'operator' | 'sink';
export type Stability = 'experimental' | 'beta' | 'stable';

/** Names a resource nodes of one run share, and its type (e.g. the Kafka transaction of an exactly-once topology). */
export interface ResourceKey<T> {
  readonly name: string;
  /** Never set: carries the resource's type. */
  readonly type?: T;
}

/**
 * What nodes of one run share, made fresh by the runtime for every run (so two runs in one process
 * never meet). Nodes are created in topological order: a node provides a resource before the
 * nodes downstream that take it are created.
 */
export interface SharedResources {
  /** Makes `value` the run's `key` resource. */
  provide<T>(key: ResourceKey<T>, value: T): void;
  /** The run's `key` resource, if a node provided it. */
  take<T>(key: ResourceKey<T>): T | undefined;
}

/** One resource a node needs another node of the topology to provide, and what to say when none does. */
export interface ResourceNeed {
  readonly resource: string;
  readonly problem: OptionProblem;
}

/** What every factory receives besides its options. */
export interface CreateContext {
  /** The node id in the topology. */
  readonly nodeId: string;
  readonly topologyName: string;
  /** Folder of the topology file: relative paths in options resolve against it. */
  readonly baseDir: string;
  readonly logger: Logger;
  /** Where the node records the metric families its spec declares (absent outside a runtime). */
  readonly metrics?: NodeMetrics;
  /** Resources shared by the nodes of this run (absent outside a runtime). */
  readonly shared?: SharedResources;
}

/**
 * A source yields envelopes. Lifecycle: `start` (resolves when a finite input is exhausted or
 * after `stop`), `pause`/`resume` at any time (backpressure: stop reading promptly), `commit`
 * (the runtime reports the highest contiguous completed offset of a partition), `stop`.
 */
export interface Source {
  start(ctx: SourceContext): Promise<void>;
  pause(): void;
  resume(): void;
  /** Record that every offset ≤ `offset` of `partition` is complete (the runtime merges re-reads of a partition). */
  commit(partition: string, offset: number): Promise<void>;
  /** Stop emitting; `start` resolves soon after. Commits may still follow until `close`. */
  stop(): Promise<void>;
  /** Release connections after the last commit (default: nothing more to do). */
  close?(): Promise<void>;
  /** Why the source is not ready (e.g. not connected yet), or null when it is; for /readyz. */
  health?(): string | null;
}

/** The runtime side a source talks to. */
export interface SourceContext {
  /** Hand one input to the graph. */
  emit(init: EnvelopeInit): void;
  /** Fails an input the source itself could not read; it goes to the dead-letter sink. */
  fail(init: EnvelopeInit, error: unknown): void;
}

/** Element types a packed batch tensor can have (see `micro-batch`). */
export type PackedDtype = 'float32' | 'float16' | 'uint8';

/** What an operator wants of the packed batches it is given (e.g. `infer`: its model's input, its server's limit). */
export interface BatchWish {
  /** What wants it, for messages, e.g. "model horse-or-human 1 on kserve grpc …"; the runtime puts the node's id before it. */
  readonly who: string;
  /** The element type it wants; `micro-batch` with `dtype: auto` packs it. */
  readonly dtype: PackedDtype;
  /** Every element type it takes. */
  readonly accepts: readonly PackedDtype[];
  /** The memory order it takes. */
  readonly layout: 'NHWC' | 'NCHW';
  /** The most rows it runs at once, where it splits larger batches (e.g. the server's max_batch_size). */
  readonly maxRows?: number;
}

/** What an operator's factory receives at wiring time. */
export interface OperatorContext {
  readonly nodeId: string;
  /**
   * What the node getting this node's packed batches wants of them (e.g. `infer` whose server
   * takes FP16), when it says; absent outside a runtime. `micro-batch` packs by it and checks its
   * own settings against it.
   */
  readonly batchWish?: BatchWish;
  /** Route a failed envelope to the dead-letter sink; the operator must not emit it. */
  fail(envelope: Envelope, error: unknown): void;
  /**
   * The operator deliberately does not pass `envelope` on (e.g. `filter`): it is done on every path
   * through this node, as if acknowledged there; not a failure, not a dead letter. The operator
   * must not emit it. Absent outside a runtime, where there is nothing to settle.
   */
  drop?(envelope: Envelope): void;
  /** Scheduler for anything timed (virtual time in tests). */
  readonly scheduler: SchedulerLike;
}

/**
 * An operator transforms the stream. `accepts` says whether it wants single envelopes, batches or
 * either; the runtime unbatches for `envelope` operators. Failed envelopes go through `ctx.fail`.
 */
export interface Operator {
  readonly accepts: 'envelope' | 'batch' | 'any';
  apply(input: Observable<Item>, ctx: OperatorContext): Observable<Item>;
  /** Release resources (models, pools) after the stream completed. */
  close?(): Promise<void>;
  /** Why the operator is not ready (e.g. no model loaded), or null when it is; for /readyz. */
  health?(): string | null;
  /** What it wants of the packed batches it is given; read once when the graph is wired (after every node is created). */
  batchWish?(): BatchWish;
}

/**
 * A sink writes envelopes. `write` resolves when the envelopes are durable (the runtime then
 * acknowledges them) and rejects with a CentaurError otherwise; `flush(endOfInput)` forces
 * buffered data out; `close` releases resources after the last flush.
 */
export interface Sink {
  /**
   * Writes the sink accepts at once (default 1). Above 1 the runtime starts a write before the
   * previous one resolved; acknowledgement order does not matter, the runtime commits contiguous
   * positions only.
   */
  readonly concurrency?: number;
  /**
   * Gather envelopes into writes of up to `maxSize`, waiting at most `maxDelayMs` after the first
   * (default: one write per item as it arrives). For sinks whose cost is per request.
   */
  readonly batching?: { readonly maxSize: number; readonly maxDelayMs: number };
  /** Resolves when written; may name envelopes it refused for their content (they become dead letters). */
  write(envelopes: readonly Envelope[]): Promise<void | readonly SinkRejection[]>;
  /** Only sinks that can serve as the dead-letter sink: write failed inputs with their reasons. */
  writeDeadLetters?(letters: readonly DeadLetter[]): Promise<void>;
  flush(endOfInput: boolean): Promise<void>;
  close(): Promise<void>;
  /** Why the sink is not ready (e.g. not connected), or null when it is; for /readyz. */
  health?(): string | null;
}

/** An envelope a sink could not write because of its content (a data error), not the sink's state. */
export interface SinkRejection {
  readonly envelope: Envelope;
  readonly error: CentaurError;
}

/** A failed input on its way to the dead-letter sink. */
export interface DeadLetter {
  readonly envelope: Envelope;
  /** The node where it failed. */
  readonly node: string;
  readonly error: CentaurError;
  /** Wall-clock time of the failure, ms since the epoch. */
  readonly time: number;
}

/** One problem a spec's `validate` finds in a node's options: where, what, and the fix. */
export interface OptionProblem {
  /** Path inside the node's options, e.g. `['allow', 0]`; empty for the node as a whole. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly suggestion?: string;
}

/** What a spec's `validate` may consult besides the options: only what the topology file tells. */
export interface ValidateContext {
  /** The node id in the topology. */
  readonly nodeId: string;
  /** Folder of the topology file: relative paths in options resolve against it. */
  readonly baseDir: string;
}

/**
 * A node's options as a topology file holds them: shown in docs/components.md, checked against the
 * schema and `validate` by `npm test`, and the first one is what the compliance suite runs. Paths
 * are relative to the topology file (the suite provides `images/` with a JPEG, `models/demo` and
 * `reference-profile.json`); services are named by the variables `scripts/services/services.sh
 * env` exports (`${CENTAUR_KAFKA_BROKERS}`, `${CENTAUR_SCHEMA_REGISTRY_URL}`, `${CENTAUR_REDIS_URL}`,
 * `${CENTAUR_KINESIS_ENDPOINT}`); topic, stream and group names are placeholders.
 */
export interface ComponentExample {
  /** What the example shows, one line. */
  readonly title: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Fields every component spec has. */
interface SpecBase<S extends TObject> {
  readonly kind: string;
  readonly description: string;
  readonly stability: Stability;
  readonly options: S;
  /** At least one example of the node's options (the first is the simplest that runs). */
  readonly examples: readonly [ComponentExample, ...ComponentExample[]];
  /** The metric families the component records (declared next to its code), registered and documented before the first input. */
  readonly metrics?: readonly MetricFamily[];
  /**
   * Cross-field rules the schema cannot say, checked in the one validation pass with every other
   * problem (so `centaur validate` and `centaur run` agree). Pure: no I/O, no outside world.
   */
  validate?(options: Static<S>, ctx: ValidateContext): readonly OptionProblem[];
  /** Shared resources (by `ResourceKey` name) this node provides to the run, with these options. */
  provides?(options: Static<S>): readonly string[];
  /** Shared resources this node needs another node to provide; validation reports each that none does. */
  needs?(options: Static<S>): readonly ResourceNeed[];
  /** Resources this node uses exclusively (an output path, a consumer group), to catch clashes. */
  claims?(options: Static<S>, baseDir: string): string[];
  /**
   * For nodes that hand some inputs straight to a node further down, skipping the nodes between
   * (a `cache` lookup hands its hits to its store node): which end of which shortcut this node is.
   * Validation then checks the pair: one `from` and one `to` node per shortcut, one path between
   * them, and no path from the `from` node to a sink that avoids the `to` node.
   */
  shortcut?(options: Static<S>): { readonly name: string; readonly end: 'from' | 'to' };
}

export interface SourceSpec<S extends TObject = TObject> extends SpecBase<S> {
  readonly role: 'source';
  create(options: Static<S>, ctx: CreateContext): Source | Promise<Source>;
}

export interface OperatorSpec<S extends TObject = TObject> extends SpecBase<S> {
  readonly role: 'operator';
  create(options: Static<S>, ctx: CreateContext): Operator | Promise<Operator>;
}

export interface SinkSpec<S extends TObject = TObject> extends SpecBase<S> {
  readonly role: 'sink';
  /** A dead-letter sink: without `from` it receives the topology's failed inputs. */
  readonly takesDeadLetters?: boolean;
  create(options: Static<S>, ctx: CreateContext): Sink | Promise<Sink>;
}

export type ComponentSpec = SourceSpec | OperatorSpec | SinkSpec;

/** Erases a source spec's option type for the registry (options are validated before `create`). */
export function defineSource<S extends TObject>(spec: SourceSpec<S>): SourceSpec {
  return spec;
}

/** Erases an operator spec's option type for the registry. */
export function defineOperator<S extends TObject>(spec: OperatorSpec<S>): OperatorSpec {
  return spec;
}

/** Erases a sink spec's option type for the registry. */
export function defineSink<S extends TObject>(spec: SinkSpec<S>): SinkSpec {
  return spec;
}
